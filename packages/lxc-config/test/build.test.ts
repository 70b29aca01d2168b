import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@oci2lxc/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLxcConfig, capabilitiesFor, DEFAULT_PATH, LxcConfigError, renderLxcConfig, writeStartWrapper, type RuntimeConfig } from '../src/index.js';
import { parseConfigText } from '../src/confvalue.js';
import { splitInitCmd } from '../src/initcmd.js';
import { busyboxRootfs } from './helpers.js';

const lxc5 = capabilitiesFor('5.0.2');
const lxc6 = capabilitiesFor('6.0.5');
const lxc7 = capabilitiesFor('7.0.0');

let tmp: { path: string; cleanup: () => void };
let root: string;
let noShell: string;
let noEnv: string;
beforeAll(() => {
  tmp = tempDir('lxc-config-build-');
  root = join(tmp.path, 'rootfs');
  busyboxRootfs(root);
  noShell = join(tmp.path, 'distroless');
  busyboxRootfs(noShell);
  rmSync(join(noShell, 'bin/sh'));
  noEnv = join(tmp.path, 'noenv');
  busyboxRootfs(noEnv);
  rmSync(join(noEnv, 'bin/env'));
});
afterAll(() => tmp.cleanup());

function err(fn: () => unknown): LxcConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LxcConfigError);
    return e as LxcConfigError;
  }
  throw new Error('expected an LxcConfigError');
}

const get = (plan: { lines: { key: string; value: string }[] }, key: string): string[] => plan.lines.filter((l) => l.key === key).map((l) => l.value);

describe('buildLxcConfig: argv', () => {
  it('Entrypoint + Cmd, Cmd alone, Entrypoint alone (Docker rules)', () => {
    expect(buildLxcConfig({ Entrypoint: ['/e'], Cmd: ['c'] }, { capabilities: lxc7 }).argv).toEqual(['/e', 'c']);
    expect(buildLxcConfig({ Cmd: ['/c', 'x'] }, { capabilities: lxc7 }).argv).toEqual(['/c', 'x']);
    expect(buildLxcConfig({ Entrypoint: ['/e'], Cmd: null }, { capabilities: lxc7 }).argv).toEqual(['/e']);
  });

  it('both empty → EMPTY_COMMAND naming the image', () => {
    const e = err(() => buildLxcConfig({ Entrypoint: [], Cmd: null }, { capabilities: lxc7, imageName: 'docker.io/library/x:1' }));
    expect(e.code).toBe('EMPTY_COMMAND');
    expect(e.message).toContain('docker.io/library/x:1');
  });

  it('representable argv goes straight into lxc.init.cmd, read back exactly', () => {
    const image: RuntimeConfig = { Entrypoint: ['/bin/app', 'a"b', '$X', 'tab\there', '*'], Env: ['A=1'] };
    for (const caps of [lxc6, lxc7]) {
      const plan = buildLxcConfig(image, { capabilities: caps, envMode: 'plain' });
      expect(plan.wrapper).toBeUndefined();
      const text = renderLxcConfig(plan, 'lxc');
      const cmd = parseConfigText(text).find((l) => l.key === 'lxc.init.cmd')!.value;
      expect(splitInitCmd(cmd, caps)).toEqual(plan.argv);
    }
  });

  it('stock LXC: an argument with a space needs the wrapper; LXC 6 quotes it', () => {
    const image: RuntimeConfig = { Entrypoint: ['/bin/echo'], Cmd: ['hello world', ''] };
    const p5 = buildLxcConfig(image, { capabilities: lxc5, envMode: 'plain' });
    expect(p5.wrapper?.argvProblem).toEqual({ field: 'Cmd[0]', reason: expect.stringMatching(/space.*LXC >= 6\.0/) });
    expect(get(p5, 'lxc.init.cmd')).toEqual(['/.oci2lxc/init']);
    const p6 = buildLxcConfig(image, { capabilities: lxc6, envMode: 'plain' });
    expect(p6.wrapper).toBeUndefined();
    expect(get(p6, 'lxc.init.cmd')).toEqual(['/bin/echo "hello world" ""']);
  });

  it('no shell and no representable argv → UNREPRESENTABLE_ARGV naming argument and feature', () => {
    const e = err(() => buildLxcConfig({ Cmd: ['/app', 'a b'] }, { capabilities: lxc5, rootfs: noShell, envMode: 'plain' }));
    expect(e.code).toBe('UNREPRESENTABLE_ARGV');
    expect(e.field).toBe('Cmd[1]');
    expect(e.message).toMatch(/LXC >= 6\.0/);
    expect(e.message).toMatch(/\/bin\/sh/);
  });

  it('no shell, env needs the wrapper on stock LXC → NO_SHELL; plain or runtime env works', () => {
    const e = err(() => buildLxcConfig({ Cmd: ['/app'] }, { capabilities: lxc5, rootfs: noShell }));
    expect(e.code).toBe('NO_SHELL');
    expect(e.message).toMatch(/lxc\.environment\.runtime/);
    expect(buildLxcConfig({ Cmd: ['/app'] }, { capabilities: lxc5, rootfs: noShell, envMode: 'plain' }).wrapper).toBeUndefined();
    expect(buildLxcConfig({ Cmd: ['/app'] }, { capabilities: lxc7, rootfs: noShell }).wrapper).toBeUndefined();
  });

  it('rejects NUL in argv, empty program, program starting with - when a wrapper is needed', () => {
    expect(err(() => buildLxcConfig({ Cmd: ['/a', 'x\0y'] }, { capabilities: lxc7 })).field).toBe('Cmd[1]');
    expect(err(() => buildLxcConfig({ Cmd: [''] }, { capabilities: lxc7 })).code).toBe('INVALID_ARGUMENT');
    // With env in the image the wrapper execs through `env -i --`, which runs "-x" fine; without it, no.
    expect(buildLxcConfig({ Cmd: ['-x', 'a b'] }, { capabilities: lxc5 }).wrapper!.content).toContain(`'-x' 'a b'\n`);
    expect(err(() => buildLxcConfig({ Cmd: ['-x', 'a b'] }, { capabilities: lxc5, rootfs: noEnv })).code).toBe('UNREPRESENTABLE_ARGV');
    expect(err(() => buildLxcConfig({ Cmd: ['/a=b', 'a b'] }, { capabilities: lxc5 })).code).toBe('UNREPRESENTABLE_ARGV');
    // A lone surrogate has no UTF-8 form: neither a config line nor the wrapper could carry it.
    expect(err(() => buildLxcConfig({ Cmd: ['/a', 'x\ud800'] }, { capabilities: lxc5 })).field).toBe('Cmd[1]');
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], Env: ['A=\udc00'] }, { capabilities: lxc7 })).field).toBe('Env');
    // moby's StrSlice: a string is one argument.
    expect(buildLxcConfig({ Cmd: 'sh -c x' }, { capabilities: lxc7 }).argv).toEqual(['sh -c x']);
    expect(buildLxcConfig({ Entrypoint: '/bin/app', Cmd: ['x'] }, { capabilities: lxc7 }).argv).toEqual(['/bin/app', 'x']);
    expect(err(() => buildLxcConfig({ Cmd: 5 as unknown as string[] }, { capabilities: lxc7 })).field).toBe('Cmd');
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], User: 0 as unknown as string }, { capabilities: lxc7 })).field).toBe('User');
  });
});

describe('buildLxcConfig: env', () => {
  it('adds Docker defaults: PATH when missing, HOME from passwd', () => {
    const plan = buildLxcConfig({ Cmd: ['/a'], Env: ['A=1', 'A=2', 'B='], User: 'app' }, { capabilities: lxc7, rootfs: root });
    // Docker's order: default PATH first, the image's in its order, HOME last; LXC's container=lxc.
    expect(plan.env).toEqual([`PATH=${DEFAULT_PATH}`, 'container=lxc', 'A=2', 'B=', 'HOME=/home/app']);
    const kept = buildLxcConfig({ Cmd: ['/a'], Env: ['HOME=/h', 'container=docker', 'PATH=/x'] }, { capabilities: lxc7 });
    expect(kept.env).toEqual(['HOME=/h', 'container=docker', 'PATH=/x']);
    // The image's container= must survive LXC, which sets container=lxc: the wrapper carries it.
    expect(kept.envRoute).toBe('wrapper');
    // runc: an empty HOME is the user's home, in place.
    expect(buildLxcConfig({ Cmd: ['/a'], Env: ['HOME=', 'Z=1'], User: 'app' }, { capabilities: lxc7, rootfs: root }).env).toEqual([`PATH=${DEFAULT_PATH}`, 'container=lxc', 'HOME=/home/app', 'Z=1']);
  });

  it('LXC 7: lxc.environment.runtime, values exact (spaces, quotes, =, $, empty)', () => {
    const env = ['A=x y', 'B="q"', "C='s'", 'D=a=b', 'E=$HOME', 'F=', 'G= lead', 'H="', 'I=#x'];
    const plan = buildLxcConfig({ Cmd: ['/a'], Env: env }, { capabilities: lxc7 });
    expect(plan.envRoute).toBe('runtime');
    expect(plan.wrapper).toBeUndefined();
    const read = parseConfigText(renderLxcConfig(plan, 'lxc')).filter((l) => l.key === 'lxc.environment.runtime').map((l) => l.value);
    // container=lxc is LXC's own: not written.
    expect(read).toEqual([`PATH=${DEFAULT_PATH}`, ...env, 'HOME=/']);
  });

  it('stock LXC: env goes into the wrapper by default, lxc.environment only when asked', () => {
    const def = buildLxcConfig({ Cmd: ['/a'], Env: ['A=1'] }, { capabilities: lxc5 });
    expect(def.envRoute).toBe('wrapper');
    expect(get(def, 'lxc.environment')).toEqual([]);
    expect(def.wrapper!.content).toContain(`'-i' '--' 'PATH=${DEFAULT_PATH}' 'container=lxc' 'A=1' 'HOME=/' '/a'\n`);
    const plain = buildLxcConfig({ Cmd: ['/a'], Env: ['A=1'] }, { capabilities: lxc5, envMode: 'plain' });
    expect(plain.envRoute).toBe('plain');
    expect(get(plain, 'lxc.environment')).toEqual([`PATH=${DEFAULT_PATH}`, 'A=1', 'HOME=/']);
    expect(buildLxcConfig({ Cmd: ['/a'] }, { capabilities: lxc7, envMode: 'wrapper' }).envRoute).toBe('wrapper');
  });

  it('values no config line can carry (newline, trailing space) go through the wrapper', () => {
    for (const v of ['a\nb', 'trailing ', 'x\r']) {
      const plan = buildLxcConfig({ Cmd: ['/a'], Env: [`V=${v}`] }, { capabilities: lxc7 });
      expect(plan.envRoute).toBe('wrapper');
      expect(plan.lines.some((l) => l.key.startsWith('lxc.environment'))).toBe(false);
    }
  });

  it('bad Env entries are errors naming the entry', () => {
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], Env: ['A=1', 'NOEQUALS'] }, { capabilities: lxc7 })).field).toBe('Env[1]');
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], Env: ['=x'] }, { capabilities: lxc7 })).field).toBe('Env[0]');
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], Env: ['A=\0'] }, { capabilities: lxc7 })).field).toBe('Env[0]');
    // A name sh cannot export, when the wrapper must set it and the image has no env.
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], Env: ['my.var=1'] }, { capabilities: lxc5, rootfs: noEnv })).field).toBe('Env[0]');
    expect(buildLxcConfig({ Cmd: ['/a'], Env: ['my.var=1'] }, { capabilities: lxc5 }).wrapper!.content).toContain(`'my.var=1'`);
    // pve's env option only takes \w+ names: such a name goes through the wrapper for pve.
    expect(buildLxcConfig({ Cmd: ['/a'], Env: ['my.var=1'] }, { capabilities: lxc7, target: 'pve' }).envRoute).toBe('wrapper');
    expect(buildLxcConfig({ Cmd: ['/a'], Env: ['my_var=1'] }, { capabilities: lxc7, target: 'pve' }).envRoute).toBe('runtime');
    expect(buildLxcConfig({ Cmd: ['/a'], Env: ['my.var=1'] }, { capabilities: lxc7 }).envRoute).toBe('runtime');
  });
});

describe('buildLxcConfig: images without env, bash as /bin/sh', () => {
  it('without env: shell exports under dash/busybox; refused clearly when /bin/sh is bash', () => {
    const plan = buildLxcConfig({ Cmd: ['/a'], Env: ['A=1'] }, { capabilities: lxc5, rootfs: noEnv });
    expect(plan.wrapper!.usesEnv).toBeUndefined();
    expect(plan.wrapper!.content).toContain("export A='1'");
    if (!existsSync('/bin/bash-static')) return;
    const bashRoot = join(tmp.path, 'bash-noenv');
    busyboxRootfs(bashRoot);
    rmSync(join(bashRoot, 'bin/env'));
    rmSync(join(bashRoot, 'bin/sh'));
    copyFileSync('/bin/bash-static', join(bashRoot, 'bin/sh'));
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], Env: ['UID=1'] }, { capabilities: lxc5, rootfs: bashRoot })).code).toBe('UNSUPPORTED_SHELL');
    // No wrapper needed: nothing to refuse.
    expect(buildLxcConfig({ Cmd: ['/a'], Env: ['UID=1'] }, { capabilities: lxc7, rootfs: bashRoot }).envRoute).toBe('runtime');
  });

  it('a plan built without a rootfs assumes env; writing its wrapper into a rootfs without one is refused', () => {
    const plan = buildLxcConfig({ Cmd: ['/a'], Env: ['A=1'] }, { capabilities: lxc5 });
    expect(plan.wrapper!.usesEnv).toBe(true);
    expect(err(() => writeStartWrapper(noEnv, plan)).code).toBe('NO_SHELL');
    expect(existsSync(join(noEnv, '.oci2lxc'))).toBe(false);
  });
});

describe('buildLxcConfig: cwd, user, signal, comments', () => {
  it('defaults: cwd /, root, SIGTERM always written (LXC default would be SIGPWR)', () => {
    const plan = buildLxcConfig({ Cmd: ['/a'] }, { capabilities: lxc7 });
    expect(get(plan, 'lxc.init.cwd')).toEqual(['/']);
    expect(get(plan, 'lxc.init.uid')).toEqual(['0']);
    expect(get(plan, 'lxc.init.gid')).toEqual(['0']);
    expect(get(plan, 'lxc.signal.halt')).toEqual(['SIGTERM']);
  });

  it('WorkingDir, named user with supplementary groups, StopSignal', () => {
    const plan = buildLxcConfig({ Cmd: ['/a'], WorkingDir: '/srv/my app', User: 'app', StopSignal: 'QUIT' }, { capabilities: lxc5, rootfs: root, envMode: 'plain' });
    expect(get(plan, 'lxc.init.cwd')).toEqual(['/srv/my app']);
    expect(get(plan, 'lxc.init.uid')).toEqual(['1234']);
    expect(get(plan, 'lxc.init.gid')).toEqual(['1234']);
    expect(get(plan, 'lxc.init.groups')).toEqual(['1234,2000']);
    expect(get(plan, 'lxc.signal.halt')).toEqual(['SIGQUIT']);
    expect(plan.warnings.join('\n')).toMatch(/WorkingDir.*does not exist/);
    const old = buildLxcConfig({ Cmd: ['/a'], User: 'app' }, { capabilities: capabilitiesFor('4.0.9'), rootfs: root, envMode: 'plain' });
    expect(get(old, 'lxc.init.groups')).toEqual([]);
    expect(old.warnings.join('\n')).toMatch(/lxc\.init\.groups/);
  });

  it('WorkingDir is cleaned as Docker cleans it (filepath.Clean)', () => {
    for (const [given, clean] of [['/a/../b', '/b'], ['/srv//app/', '/srv/app'], ['/./x/.', '/x'], ['/../..', '/']]) {
      expect(buildLxcConfig({ Cmd: ['/a'], WorkingDir: given }, { capabilities: lxc7 }).cwd).toBe(clean);
      expect(get(buildLxcConfig({ Cmd: ['/a'], WorkingDir: given }, { capabilities: lxc7 }), 'lxc.init.cwd')).toEqual([clean]);
    }
  });

  it('rejects values LXC would read differently, naming the field', () => {
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], WorkingDir: '/x ' }, { capabilities: lxc7 })).field).toBe('WorkingDir');
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], WorkingDir: '/x\ny' }, { capabilities: lxc7 })).field).toBe('WorkingDir');
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], WorkingDir: 'rel' }, { capabilities: lxc7 })).field).toBe('WorkingDir');
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], StopSignal: 'SIGNOPE' }, { capabilities: lxc7 })).code).toBe('UNKNOWN_SIGNAL');
    expect(err(() => buildLxcConfig({ Cmd: ['/a'], User: 'ghost' }, { capabilities: lxc7, rootfs: root })).code).toBe('UNKNOWN_USER');
  });

  it('ExposedPorts, Volumes, Labels become comments, one line each', () => {
    const plan = buildLxcConfig(
      { Cmd: ['/a'], ExposedPorts: { '80/tcp': {}, '53/udp': {} }, Volumes: { '/data': {} }, Labels: { 'org.opencontainers.image.title': 'x', evil: 'a\nlxc.init.uid = 0' } },
      { capabilities: lxc7 },
    );
    const text = renderLxcConfig(plan, 'lxc');
    expect(text).toContain('# ExposedPorts: 80/tcp 53/udp\n');
    expect(text).toContain('# Volumes: /data\n');
    expect(text).toContain('# Label org.opencontainers.image.title=x\n');
    // The label's newline must not create a config line.
    expect(parseConfigText(text).filter((l) => l.key === 'lxc.init.uid').map((l) => l.value)).toEqual(['0']);
    expect(text.split('\n').filter((l) => l.startsWith('lxc.init.uid'))).toHaveLength(1);
  });
});

describe('renderLxcConfig: pve flavour', () => {
  it('cmode: console, entrypoint:, raw lxc keys with colon, env as lxc.environment.runtime', () => {
    const pve = capabilitiesFor('6.0.5', { environmentRuntime: true });
    const plan = buildLxcConfig({ Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'], Env: ['A=1'], Labels: { 'a:b': '100%' } }, { capabilities: pve });
    const text = renderLxcConfig(plan, 'pve');
    expect(text).toContain('cmode: console\n');
    expect(text).toContain(`entrypoint: /docker-entrypoint.sh nginx -g "daemon off;"\n`);
    expect(text).toContain('lxc.init.cwd: /\n');
    expect(text).toContain('lxc.signal.halt: SIGTERM\n');
    expect(text).toContain('lxc.environment.runtime: A=1\n');
    expect(text).not.toMatch(/^lxc\.init\.cmd/m);
    // Comments are pve's description, URI-encoded like PVE::Tools::encode_text (':' and '%').
    expect(text).toContain('#Label a%3Ab=100%25\n');
    expect(renderLxcConfig(plan, 'pve', { pveInitCmd: 'raw' })).toContain('lxc.init.cmd: /docker-entrypoint.sh nginx -g "daemon off;"\n');
  });

  it('the image\'s own /sbin/init: no cmode and no entrypoint', () => {
    const plan = buildLxcConfig({ Cmd: ['/sbin/init'] }, { capabilities: lxc7 });
    expect(plan.console).toBe(false);
    const text = renderLxcConfig(plan, 'pve');
    expect(text).not.toContain('cmode');
    expect(text).not.toContain('entrypoint');
  });

  it('every pve line matches pve-container\'s parser and keeps its value', () => {
    const plan = buildLxcConfig({ Cmd: ['/a', '"q"'], Env: ['X="y"', 'Z=\'w\''], WorkingDir: '/w d' }, { capabilities: lxc7 });
    for (const line of renderLxcConfig(plan, 'pve').trimEnd().split('\n')) {
      if (line.startsWith('#')) continue;
      // Regexes from PVE::LXC::Config::parse_pct_config.
      const raw = /^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$/.exec(line);
      const opt = /^([a-z][a-z_]*\d*):\s*(.+?)\s*$/.exec(line);
      expect(raw ?? opt, line).not.toBeNull();
      const value = raw ? raw[3]! : opt![2]!;
      expect(line.endsWith(value)).toBe(true);
      expect(value).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
    }
  });
});
