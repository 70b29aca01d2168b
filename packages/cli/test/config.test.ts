import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxLayer, tempDir, writeArchive } from '@oci2lxc/fixtures';
import { runCli } from './run-cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function image(name: string, config: Record<string, unknown>, layers = [busyboxLayer()]): string {
  const path = join(tmp.path, `${name}.tar`);
  writeArchive({ images: [{ ref: `${name}:latest`, config, layers }] }, path);
  return path;
}

const simple = image('simple', {
  Entrypoint: ['/bin/sh', '-c'],
  Cmd: ['sleep', '1000'],
  Env: ['PATH=/bin', 'A=1'],
  WorkingDir: '/tmp',
  User: '0:0',
  StopSignal: 'SIGINT',
  ExposedPorts: { '8080/tcp': {} },
  Volumes: { '/data': {} },
});

describe('oci2lxc config', () => {
  it('writes a representable argv straight into lxc.init.cmd, env via plain lxc.environment on request', () => {
    const r = runCli(['config', simple, '--lxc-version', '5.0', '--lxc-environment']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^lxc\.init\.cmd = \/bin\/sh -c sleep 1000$/m);
    expect(r.stdout).toMatch(/^lxc\.environment = A=1$/m);
    expect(r.stdout).toMatch(/^lxc\.init\.cwd = \/tmp$/m);
    expect(r.stdout).toMatch(/^lxc\.signal\.halt = SIGINT$/m);
    expect(r.stdout).toMatch(/^#.*8080\/tcp/m);
    expect(r.stdout).toMatch(/^#.*\/data/m);
  });

  it('uses lxc.environment.runtime where the target LXC has it', () => {
    const r = runCli(['config', simple, '--lxc-version', '7.0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^lxc\.environment\.runtime = A=1$/m);
    expect(r.stdout).not.toMatch(/^lxc\.environment = /m);
  });

  it('needs a start wrapper on stock LXC 5.0 and writes it with --rootfs', () => {
    const noRootfs = runCli(['config', simple, '--lxc-version', '5.0']);
    expect(noRootfs.status).toBe(0);
    expect(noRootfs.stdout).toMatch(/^lxc\.init\.cmd = \/\.oci2lxc\/init$/m);
    expect(noRootfs.stderr).toMatch(/--rootfs/);
    const rootfs = join(tmp.path, 'rootfs');
    expect(runCli(['extract', simple, rootfs, '-q']).status).toBe(0);
    const r = runCli(['config', simple, '--lxc-version', '5.0', '--rootfs', rootfs]);
    expect(r.status, r.stderr).toBe(0);
    const wrapper = readFileSync(join(rootfs, '.oci2lxc/init'), 'utf8');
    expect(wrapper).toMatch(/^#!\/bin\/sh/);
    // The environment is built by env -i from nothing; no shell exports it.
    expect(wrapper).toMatch(/^exec "\$e" '-i' '--' .*'HOME=\/root' '\/bin\/sh' '-c' 'sleep' '1000'$/m);
  });

  it('emits a Proxmox pct.conf fragment with --flavor pve', () => {
    const r = runCli(['config', simple, '--flavor', 'pve', '--lxc-version', '6.0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cmode: console$/m);
    expect(r.stdout).toMatch(/^lxc\.signal\.halt: SIGINT$/m);
    expect(r.stdout).toMatch(/^lxc\.init\.cwd: \/tmp$/m);
    expect(r.stdout).not.toMatch(/ = /);
  });

  it('--json describes the plan', () => {
    const r = runCli(['config', simple, '--lxc-version', '7.0', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { argv: string[]; env: string[]; cwd: string; stopSignal: string };
    expect(doc.argv).toEqual(['/bin/sh', '-c', 'sleep', '1000']);
    expect(doc.env).toContain('A=1');
    expect(doc.cwd).toBe('/tmp');
    expect(doc.stopSignal).toBe('SIGINT');
  });

  it('an image with nothing to run is an error naming it', () => {
    const empty = image('empty', {});
    const r = runCli(['config', empty, '--lxc-version', '5.0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/EMPTY_COMMAND/);
    expect(r.stderr).toContain('empty:latest');
  });

  it('creates a missing WorkingDir in the rootfs, as Docker does', () => {
    const w = image('workdir', { Cmd: ['/bin/sh'], WorkingDir: '/var/lib/app' });
    const rootfs = join(tmp.path, 'rootfs-workdir');
    expect(runCli(['extract', w, rootfs, '-q']).status).toBe(0);
    const r = runCli(['config', w, '--lxc-version', '7.0', '--rootfs', rootfs]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^lxc\.init\.cwd = \/var\/lib\/app$/m);
    expect(statSync(join(rootfs, 'var/lib/app')).isDirectory()).toBe(true);
    expect(r.stderr).not.toMatch(/WorkingDir/);
  });

  it('WorkingDir /a/../b is /b as in Docker: /a is never created', () => {
    const w = image('workdir-dotdot', { Cmd: ['/bin/sh'], WorkingDir: '/a/../b' });
    const rootfs = join(tmp.path, 'rootfs-dotdot');
    expect(runCli(['extract', w, rootfs, '-q']).status).toBe(0);
    const r = runCli(['config', w, '--lxc-version', '7.0', '--rootfs', rootfs]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^lxc\.init\.cwd = \/b$/m);
    expect(statSync(join(rootfs, 'b')).isDirectory()).toBe(true);
    expect(existsSync(join(rootfs, 'a'))).toBe(false);
  });

  it('nothing is written into the rootfs until every field is valid', () => {
    const bad = image('workdir-bad-signal', { Cmd: ['/bin/sh', 'a b'], Env: ['A=1'], WorkingDir: '/new/dir', StopSignal: 'SIGNOPE' });
    const rootfs = join(tmp.path, 'rootfs-bad-signal');
    expect(runCli(['extract', bad, rootfs, '-q']).status).toBe(0);
    const before = readdirSync(rootfs).sort();
    const r = runCli(['config', bad, '--lxc-version', '5.0', '--rootfs', rootfs]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/UNKNOWN_SIGNAL/);
    expect(readdirSync(rootfs).sort()).toEqual(before);
  });

  it('Entrypoint/Cmd as a JSON string (moby StrSlice) and User "+1000" / "0:" as Docker reads them', () => {
    const s = image('strslice', { Entrypoint: '/bin/echo', Cmd: 'hello world', User: '0:' });
    const r = runCli(['config', s, '--lxc-version', '6.0', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { argv: string[]; user: { uid: number; gid: number } };
    expect(doc.argv).toEqual(['/bin/echo', 'hello world']);
    expect(doc.user).toMatchObject({ uid: 0, gid: 0 });
    const plus = runCli(['config', image('plus-uid', { Cmd: ['/bin/sh'], User: '+1000' }), '--lxc-version', '6.0']);
    expect(plus.stdout).toMatch(/^lxc\.init\.uid = 1000$/m);
  });

  it('pve: env names pve refuses go through the wrapper; labels past 8 KiB are left out with a note', () => {
    const big = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`l${i}`, 'x'.repeat(3000)]));
    const p = image('pve-limits', { Cmd: ['/bin/sh'], Env: ['my.var=1', 'OK=2'], Labels: big });
    const r = runCli(['config', p, '--flavor', 'pve', '--lxc-version', '6.0.5', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { envRoute: string; text: string };
    expect(doc.envRoute).toBe('wrapper');
    expect(doc.text).not.toMatch(/^lxc\.environment/m);
    const descr = doc.text.split('\n').filter((l) => l.startsWith('#')).map((l) => `${decodeURIComponent(l.slice(1))}\n`).join('');
    expect(Buffer.byteLength(descr)).toBeLessThanOrEqual(8192);
    expect(descr).toMatch(/more comment lines? left out/);
  });

  it('an unknown user name in the rootfs is an error', () => {
    const u = image('user', { Cmd: ['/bin/sh'], User: 'nosuchuser' });
    const rootfs = join(tmp.path, 'rootfs-user');
    expect(runCli(['extract', u, rootfs, '-q']).status).toBe(0);
    const r = runCli(['config', u, '--lxc-version', '5.0', '--rootfs', rootfs]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/UNKNOWN_USER/);
    expect(r.stderr).toContain('nosuchuser');
    expect(existsSync(join(rootfs, '.oci2lxc'))).toBe(false);
  });
});
