import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, rmSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@oci2lxc/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLxcConfig, capabilitiesFor, LxcConfigError, shellQuote, writeStartWrapper } from '../src/index.js';
import { busyboxRootfs, randomName, randomString, rng } from './helpers.js';

const lxc5 = capabilitiesFor('5.0.2');
// bash run under the name `sh` is in POSIX mode, as on RHEL-style images (Debian's bash-static).
const BASH = '/bin/bash-static';
const SHELLS: Array<[string, string[]]> = [
  ['/bin/sh', ['/bin/sh']],
  ['busybox sh', ['/bin/busybox', 'sh']],
  ...(existsSync(BASH) ? [['bash as sh', [BASH]] as [string, string[]]] : []),
];
const BASH_SPECIAL = ['UID', 'EUID', 'PPID', 'SHELLOPTS', 'BASHOPTS', 'BASH_VERSINFO', 'RANDOM', 'LINENO', 'SRANDOM', 'EPOCHSECONDS', 'BASHPID', 'HISTCMD', 'BASH_COMMAND', 'GROUPS', 'FUNCNAME', 'DIRSTACK', 'PIPESTATUS', 'SHLVL', 'PWD', 'OLDPWD', 'IFS', 'ENV', 'BASH_ENV'];
const PRINTF = existsSync('/usr/bin/printf') ? '/usr/bin/printf' : '/bin/printf';
const ENV = existsSync('/usr/bin/env') ? '/usr/bin/env' : '/bin/env';

let tmp: { path: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('lxc-config-wrapper-');
});
afterAll(() => tmp.cleanup());

/** Run a wrapper script with an empty environment under a given shell; return stdout. */
function runWrapper(shell: string[], content: string, name: string): Buffer {
  const file = join(tmp.path, name);
  writeFileSync(file, content, { mode: 0o755 });
  const res = spawnSync(shell[0]!, [...shell.slice(1), file], { env: {}, cwd: tmp.path, ...(shell[0] === BASH ? { argv0: 'sh' } : {}) });
  expect(res.status, res.stderr.toString()).toBe(0);
  return res.stdout;
}

const nulSplit = (b: Buffer): string[] => {
  const s = b.toString('utf8');
  return s === '' ? [] : s.slice(0, -1).split('\0');
};

describe('shellQuote', () => {
  it('always one single-quoted word', () => {
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$HOME *')).toBe(`'$HOME *'`);
  });
});

describe.each(SHELLS)('start wrapper under %s (property, real shell)', (_name, shell) => {
  it('random argv reaches the program byte for byte', () => {
    const r = rng(42);
    for (let n = 0; n < 40; n++) {
      const args = Array.from({ length: 1 + Math.floor(r() * 6) }, () => randomString(r, { allowNewline: true, maxLen: 12 }));
      // '%s\0' is printf's format: each argument is printed literally, NUL-terminated.
      const plan = buildLxcConfig({ Entrypoint: [PRINTF, '%s\\0'], Cmd: args }, { capabilities: lxc5 });
      expect(plan.wrapper).toBeDefined();
      const out = runWrapper(shell, plan.wrapper!.content, `argv-${n}`);
      expect(nulSplit(out), `case ${n}: ${JSON.stringify(args)}`).toEqual(args);
    }
  });

  it('random env reaches the program exactly, in order (no shell-added PWD/SHLVL, bash-special names too)', () => {
    const r = rng(7);
    for (let n = 0; n < 40; n++) {
      const name = (): string => (r() < 0.3 ? BASH_SPECIAL[Math.floor(r() * BASH_SPECIAL.length)]! : randomName(r));
      const env = Array.from({ length: Math.floor(r() * 6) }, () => `${name()}=${randomString(r, { allowNewline: true, maxLen: 12 })}`);
      const plan = buildLxcConfig({ Entrypoint: [ENV, '-0'], Env: env }, { capabilities: lxc5 });
      expect(plan.envRoute).toBe('wrapper');
      const out = runWrapper(shell, plan.wrapper!.content, `env-${n}`);
      expect(nulSplit(out), `case ${n}: ${JSON.stringify(env)}`).toEqual(plan.env);
    }
  });
});

describe('writeStartWrapper', () => {
  const plan = buildLxcConfig({ Cmd: ['/bin/echo', 'a b'] }, { capabilities: lxc5 });

  function rootfs(name: string): string {
    const root = join(tmp.path, name);
    busyboxRootfs(root);
    return root;
  }

  it('writes /.oci2lxc/init 0755 and returns its container path', () => {
    const root = rootfs('ok');
    expect(writeStartWrapper(root, plan)).toBe('/.oci2lxc/init');
    const st = statSync(join(root, '.oci2lxc/init'));
    expect(st.mode & 0o777).toBe(0o755);
    expect(readFileSync(join(root, '.oci2lxc/init'), 'utf8')).toBe(plan.wrapper!.content);
    // Idempotent, and leaves no temporaries.
    writeStartWrapper(root, plan);
    expect(readdirSync(join(root, '.oci2lxc'))).toEqual(['init']);
  });

  it('creates the directory 0755 even under a restrictive umask', () => {
    const root = rootfs('umask');
    const old = process.umask(0o077);
    try {
      writeStartWrapper(root, plan);
    } finally {
      process.umask(old);
    }
    expect(statSync(join(root, '.oci2lxc')).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, '.oci2lxc/init')).mode & 0o777).toBe(0o755);
  });

  it('does nothing without a wrapper', () => {
    const root = rootfs('none');
    const simple = buildLxcConfig({ Cmd: ['/bin/true'] }, { capabilities: capabilitiesFor('7.0.0') });
    expect(writeStartWrapper(root, simple)).toBeUndefined();
    expect(existsSync(join(root, '.oci2lxc'))).toBe(false);
  });

  it('refuses a /.oci2lxc symlink pointing outside; the host directory stays empty', () => {
    const root = rootfs('evil-dir');
    const outside = join(tmp.path, 'outside-dir');
    mkdirSync(outside);
    symlinkSync(outside, join(root, '.oci2lxc'));
    expect(() => writeStartWrapper(root, plan)).toThrow(expect.objectContaining({ code: 'UNSAFE_PATH' }));
    expect(readdirSync(outside)).toEqual([]);
    // Also a relative escape.
    const root2 = rootfs('evil-dir2');
    symlinkSync('../outside-dir', join(root2, '.oci2lxc'));
    expect(() => writeStartWrapper(root2, plan)).toThrow(LxcConfigError);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('replaces an existing init symlink or hard link instead of writing through it', () => {
    const root = rootfs('evil-file');
    const victim = join(tmp.path, 'victim');
    writeFileSync(victim, 'host data\n');
    mkdirSync(join(root, '.oci2lxc'));
    symlinkSync(victim, join(root, '.oci2lxc/init'));
    writeStartWrapper(root, plan);
    expect(readFileSync(victim, 'utf8')).toBe('host data\n');
    expect(lstatSync(join(root, '.oci2lxc/init')).isFile()).toBe(true);
    rmSync(join(root, '.oci2lxc/init'));
    linkSync(victim, join(root, '.oci2lxc/init'));
    writeStartWrapper(root, plan);
    expect(readFileSync(victim, 'utf8')).toBe('host data\n');
    expect(readFileSync(join(root, '.oci2lxc/init'), 'utf8')).toBe(plan.wrapper!.content);
  });

  it('checks /bin/sh chroot-style: a symlink to a host shell does not count', () => {
    const root = rootfs('hostshell');
    const rm = spawnSync('rm', [join(root, 'bin/sh')]);
    expect(rm.status).toBe(0);
    symlinkSync('/usr/bin/dash', join(root, 'bin/sh')); // exists on the host, not in the rootfs
    expect(() => writeStartWrapper(root, plan)).toThrow(expect.objectContaining({ code: 'UNREPRESENTABLE_ARGV', field: 'Cmd[1]' }));
    expect(existsSync(join(root, '.oci2lxc'))).toBe(false);
  });
});
