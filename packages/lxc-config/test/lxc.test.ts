import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@oci2lxc/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLxcConfig, detectCapabilities, renderLxcConfig, writeStartWrapper, type BuildOptions, type RuntimeConfig, type LxcCapabilities } from '../src/index.js';
import { busyboxRootfs } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const lxcAvailable = spawnSync('lxc-start', ['--version']).status === 0;

// The entrypoint every container runs: records its exact argv, environment, cwd and ids, then
// waits for the stop signal and records that it arrived.
const RECORDER = (trapSignal: string): string => `#!/bin/sh
cat /proc/$$/cmdline > /out/cmdline
cat /proc/$$/environ > /out/environ
readlink /proc/$$/cwd > /out/cwd
id -u > /out/uid
id -g > /out/gid
id -G > /out/groups
trap 'echo caught > /out/signal; exit 0' ${trapSignal}
touch /out/ready
while :; do sleep 1 & wait $!; done
`;

interface Record {
  cmdline: string[];
  environ: string[];
  cwd: string;
  uid: string;
  gid: string;
  groups: string;
  signal: string;
}

const BASH_STATIC = '/bin/bash-static';
// Variables bash sets, refuses, alters or drops (bash 5.2, also when run as sh).
export const BASH_SPECIAL = [
  'UID', 'EUID', 'PPID', 'SHELLOPTS', 'BASHOPTS', 'BASH_VERSINFO', 'RANDOM', 'LINENO', 'SRANDOM', 'EPOCHSECONDS',
  'EPOCHREALTIME', 'BASHPID', 'HISTCMD', 'BASH_COMMAND', 'GROUPS', 'FUNCNAME', 'DIRSTACK', 'PIPESTATUS', 'BASH',
  'BASH_ARGC', 'BASH_ARGV', 'BASH_ARGV0', 'BASH_LINENO', 'BASH_SOURCE', 'BASH_SUBSHELL', 'BASH_VERSION',
  'BASH_EXECUTION_STRING', 'BASH_ENV', 'ENV', 'HOSTNAME', 'HOSTTYPE', 'MACHTYPE', 'OSTYPE', 'OPTIND', 'OPTERR',
  'SECONDS', 'SHLVL', 'PWD', 'OLDPWD', 'IFS', 'PS4', 'POSIXLY_CORRECT', 'COMP_WORDBREAKS', 'HISTFILE',
];

const nul = (b: Buffer): string[] => b.toString('utf8').replace(/\0$/, '').split('\0');

describe.skipIf(!isRoot || !lxcAvailable)('real LXC (lxc-start / lxc-stop)', () => {
  let tmp: { path: string; cleanup: () => void };
  let caps: LxcCapabilities;
  const started: Array<[string, string]> = [];

  beforeAll(async () => {
    tmp = tempDir('lxc-config-lxc-');
    caps = await detectCapabilities();
  });

  afterAll(() => {
    for (const [name, lxcpath] of started) spawnSync('lxc-stop', ['-n', name, '-P', lxcpath, '-k'], { timeout: 20_000 });
    tmp?.cleanup();
  });

  function baseConfig(name: string, rootfs: string): string {
    // The smallest config that starts here: no network namespace setup, /proc for the recorder,
    // unconfined so hosts with AppArmor do not need a generated profile.
    return [`lxc.uts.name = ${name}`, `lxc.rootfs.path = dir:${rootfs}`, 'lxc.net.0.type = none', 'lxc.mount.auto = proc:mixed', 'lxc.apparmor.profile = unconfined', ''].join('\n');
  }

  /** Build the rootfs, map the image, start the container, stop it, return what the recorder saw. */
  function run(name: string, image: RuntimeConfig, opts: Omit<BuildOptions, 'capabilities' | 'rootfs'>, trapSignal: string, prepare?: (rootfs: string) => void) {
    const rootfs = join(tmp.path, name, 'rootfs');
    const lxcpath = join(tmp.path, 'lxc');
    busyboxRootfs(rootfs, ['cat', 'readlink']);
    writeFileSync(join(rootfs, 'bin/rec'), RECORDER(trapSignal), { mode: 0o755 });
    mkdirSync(join(rootfs, 'out'));
    chmodSync(join(rootfs, 'out'), 0o1777);
    prepare?.(rootfs);

    const plan = buildLxcConfig(image, { ...opts, capabilities: caps, rootfs, imageName: name });
    writeStartWrapper(rootfs, plan);
    mkdirSync(join(lxcpath, name), { recursive: true });
    const config = baseConfig(name, rootfs) + renderLxcConfig(plan, 'lxc');
    writeFileSync(join(lxcpath, name, 'config'), config);

    const log = join(tmp.path, `${name}.log`);
    started.push([name, lxcpath]);
    const start = spawnSync('lxc-start', ['-n', name, '-P', lxcpath, '-d', '-o', log, '-l', 'INFO'], { timeout: 30_000 });
    expect(start.status, `${start.stderr}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`).toBe(0);
    const deadline = Date.now() + 20_000;
    while (!existsSync(join(rootfs, 'out/ready')) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
    expect(existsSync(join(rootfs, 'out/ready')), `${config}\n${readFileSync(log, 'utf8')}`).toBe(true);
    // lxc-stop sends lxc.signal.halt and waits for init to exit.
    const stop = spawnSync('lxc-stop', ['-n', name, '-P', lxcpath, '-t', '10'], { timeout: 30_000 });
    expect(stop.status, stop.stderr.toString()).toBe(0);

    const out = (f: string): Buffer => (existsSync(join(rootfs, 'out', f)) ? readFileSync(join(rootfs, 'out', f)) : Buffer.alloc(0));
    const rec: Record = {
      cmdline: nul(out('cmdline')),
      environ: nul(out('environ')),
      cwd: out('cwd').toString().replace(/\n$/, ''),
      uid: out('uid').toString().trim(),
      gid: out('gid').toString().trim(),
      groups: out('groups').toString().trim(),
      signal: out('signal').toString().trim(),
    };
    return { plan, rec, config };
  }

  it('hostile argv and env via the start wrapper, named user, WorkingDir, StopSignal', () => {
    const args = ['two words', '', "it's", '"dq"', '$HOME', 'back\\slash', 'tab\there', '*', '  lead', 'trail ', 'new\nline', '-n', '--flag=a b'];
    const env = ['SPACE=a b', `QUOTES="x" 'y'`, 'EMPTY=', 'DOLLAR=$PATH', 'EQ=a=b', 'NL=line1\nline2', 'TRAIL=x ', 'GLOB=*'];
    const { plan, rec, config } = run(
      'oci2lxc-wrap',
      { Entrypoint: ['/bin/rec', ...args.slice(0, 5)], Cmd: args.slice(5), Env: env, User: 'app', WorkingDir: '/work dir', StopSignal: 'USR1' },
      {},
      'USR1',
      (rootfs) => mkdirSync(join(rootfs, 'work dir')),
    );
    expect(plan.wrapper).toBeDefined();
    expect(config).toContain('lxc.signal.halt = SIGUSR1');
    // A shebang script's argv as the kernel builds it: interpreter, script path, then the arguments.
    expect(rec.cmdline).toEqual(['/bin/sh', '/bin/rec', ...args]);
    expect(rec.environ.sort()).toEqual([...env, 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/home/app', 'container=lxc'].sort());
    expect(rec.cwd).toBe('/work dir');
    expect([rec.uid, rec.gid, rec.groups]).toEqual(['1234', '1234', '1234 2000']);
    expect(rec.signal).toBe('caught');
  });

  it('argv written straight into lxc.init.cmd, env via lxc.environment (envMode plain), numeric user, RT stop signal', () => {
    const args = ['a"b', "c'd", '$X', 'back\\slash', 'tab\there', '*', '#hash', '"quoted"', '%s'];
    const env = ['SPACE=a b', 'Q="x"', 'EMPTY=', 'LEAD= x', 'DOLLAR=$HOME', 'HASH=#1'];
    const { plan, rec, config } = run('oci2lxc-direct', { Entrypoint: ['/bin/rec'], Cmd: args, Env: env, User: '4321:4322', StopSignal: 'SIGRTMIN+2' }, { envMode: 'plain' }, '36');
    expect(plan.wrapper).toBeUndefined();
    expect(config).toContain('lxc.signal.halt = 36');
    expect(config).toMatch(/^lxc\.environment = SPACE=a b$/m);
    expect(rec.cmdline).toEqual(['/bin/sh', '/bin/rec', ...args]);
    expect(rec.environ.sort()).toEqual([...env, 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/', 'container=lxc'].sort());
    expect(rec.cwd).toBe('/');
    expect([rec.uid, rec.gid, rec.groups]).toEqual(['4321', '4322', '4322']);
    expect(rec.signal).toBe('caught');
  });

  // RHEL/UBI/Fedora images have bash as /bin/sh. bash refuses `export UID=…`, and alters or drops
  // the variables below in what it exports; the wrapper's `env -i` must carry them all exactly.
  it.skipIf(!existsSync(BASH_STATIC))('bash as /bin/sh: the program sees exactly the image\'s Env, bash-special names included', () => {
    const env = BASH_SPECIAL.map((n, i) => `${n}=${i % 3 === 0 ? `v ${n} 'q' "d" $x` : i % 3 === 1 ? '' : String(1000 + i)}`);
    const name = `oci2lxc-bash-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const { plan, rec } = run(name, { Entrypoint: ['/bin/rec'], Cmd: ['a b', "c'd"], Env: env, User: 'app' }, {}, 'TERM', (rootfs) => {
      // bash (Debian's bash-static) as /bin/sh; the recorder itself runs under busybox, so what it
      // records is what it was given.
      spawnSync('rm', ['-f', join(rootfs, 'bin/sh')]);
      writeFileSync(join(rootfs, 'bin/sh'), readFileSync(BASH_STATIC), { mode: 0o755 });
      writeFileSync(join(rootfs, 'bin/rec'), RECORDER('TERM').replace('#!/bin/sh', '#!/bin/busybox sh'), { mode: 0o755 });
    });
    expect(plan.wrapper?.usesEnv).toBe(true);
    expect(rec.cmdline).toEqual(['/bin/busybox', 'sh', '/bin/rec', 'a b', "c'd"]);
    expect(rec.environ).toEqual([`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, 'container=lxc', ...env, 'HOME=/home/app']);
    expect(rec.signal).toBe('caught');
  });

  it('the capability table matches this LXC: unknown keys refuse to start', () => {
    const rootfs = join(tmp.path, 'keys', 'rootfs');
    busyboxRootfs(rootfs);
    const lxcpath = join(tmp.path, 'lxc-keys');
    const tryKey = (name: string, line: string): boolean => {
      mkdirSync(join(lxcpath, name), { recursive: true });
      writeFileSync(join(lxcpath, name, 'config'), `${baseConfig(name, rootfs)}lxc.init.cmd = /bin/true\n${line}\n`);
      started.push([name, lxcpath]);
      return spawnSync('lxc-start', ['-n', name, '-P', lxcpath, '-F'], { timeout: 30_000 }).status === 0;
    };
    expect(tryKey('k-runtime', 'lxc.environment.runtime = A=1')).toBe(caps.environmentRuntime);
    expect(tryKey('k-groups', 'lxc.init.groups = 5')).toBe(caps.initGroups);
  });
});
