// End to end as a user: build an image archive, `oci2lxc create` (and `lxc-create -t`), then
// real `lxc-start` / `lxc-stop`, and compare what the entrypoint saw with the image config.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxLayer, dir, file, tempDir, writeArchive, type ArchiveSpec } from '@oci2lxc/fixtures';
import { interruptCli, isRoot, runCli, slowLayers, templateBin } from './run-cli.js';
import { recorderScript, startAndRecord, type Recorded } from './recorder.js';

const lxcAvailable = spawnSync('lxc-start', ['--version']).status === 0 && existsSync('/bin/busybox');
const tmp = tempDir('oci2lxc-e2e-');
const lxcpath = join(tmp.path, 'lxc');
const started: string[] = [];

afterAll(() => {
  for (const name of started) {
    spawnSync('lxc-stop', ['-n', name, '-P', lxcpath, '-k']);
  }
  if (!process.env.KEEP_E2E) tmp.cleanup();
});

const argv = ['/usr/local/bin/record', 'a b', '', '$HOME', 'back\\slash', 'tab\there', '*', "'single'", '"double"', '  lead', 'trail  '];
const cmd = ['--opt=x  y', '!', ';', '`id`'];
const config = {
  Entrypoint: argv,
  Cmd: cmd,
  Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'SPACED=a  b', `QUOTES='"`, 'EMPTY=', 'DOLLAR=$HOME', 'EQ=a=b'],
  WorkingDir: '/srv/app',
  User: 'app',
  StopSignal: 'SIGUSR1',
};

const spec = (format: ArchiveSpec['format']): ArchiveSpec => ({
  format,
  images: [
    {
      ref: 'recorder:latest',
      config,
      layers: [
        busyboxLayer({
          passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n',
          group: 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n',
        }),
        [dir('usr'), dir('usr/local'), dir('usr/local/bin'), file('usr/local/bin/record', recorderScript, { mode: 0o755 }), dir('out', { mode: 0o777 }), dir('srv'), dir('srv/app'), dir('home'), dir('home/app', { uid: 1000, gid: 1000 })],
      ],
    },
  ],
});

function startRecorder(name: string): Recorded {
  started.push(name);
  return startAndRecord(name, lxcpath, tmp.path);
}

function expectAsImage(seen: Recorded) {
  // The kernel runs the script through its #! interpreter: argv = [/bin/sh, script, args…].
  expect(seen.argv[0]).toBe('/bin/sh');
  expect(seen.argv.slice(1)).toEqual([...argv, ...cmd]);
  // Exactly the image's Env plus Docker's HOME default and LXC's own `container=lxc` marker.
  expect([...seen.env].sort()).toEqual([...config.Env, 'HOME=/home/app', 'container=lxc'].sort());
  expect(seen.groups).toEqual(['1000', '2000']);
  expect(seen.cwd).toBe('/srv/app');
  expect(seen.uid).toBe('1000');
  expect(seen.gid).toBe('1000');
  expect(seen.signal).toBe('USR1');
}

describe.skipIf(!isRoot || !lxcAvailable)('oci2lxc create + lxc-start (real LXC)', () => {
  it.each(['oci', 'docker-skopeo'] as const)('runs a %s archive exactly as the image says', (format) => {
    const archive = join(tmp.path, `${format}.tar`);
    writeArchive(spec(format), archive);
    const name = `e2e-${format}`;
    const r = runCli(['create', name, archive, '--lxcpath', lxcpath, '--network', 'empty', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { path: string; config: string; wrapper: boolean };
    expect(doc.path).toBe(join(lxcpath, name));
    expect(readFileSync(doc.config, 'utf8')).toMatch(/^lxc\.signal\.halt = SIGUSR1$/m);
    expect(readdirNames(lxcpath).filter((n) => n.startsWith('.'))).toEqual([]);
    expectAsImage(startRecorder(name));
  });

  it('refuses an existing container without --force and replaces it with --force', () => {
    const archive = join(tmp.path, 'oci.tar');
    if (!existsSync(archive)) writeArchive(spec('oci'), archive);
    const name = 'e2e-force';
    expect(runCli(['create', name, archive, '--lxcpath', lxcpath, '--network', 'empty', '-q']).status).toBe(0);
    writeFileSync(join(lxcpath, name, 'rootfs', 'marker'), 'old');
    const again = runCli(['create', name, archive, '--lxcpath', lxcpath, '--network', 'empty']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/CONTAINER_EXISTS/);
    expect(existsSync(join(lxcpath, name, 'rootfs', 'marker'))).toBe(true);
    expect(runCli(['create', name, archive, '--lxcpath', lxcpath, '--network', 'empty', '--force', '-q']).status).toBe(0);
    expect(existsSync(join(lxcpath, name, 'rootfs', 'marker'))).toBe(false);
    expect(existsSync(join(lxcpath, name, 'rootfs', 'usr/local/bin/record'))).toBe(true);
  });

  it('warns when the chosen bridge does not exist on this host', () => {
    const archive = join(tmp.path, 'oci.tar');
    if (!existsSync(archive)) writeArchive(spec('oci'), archive);
    const r = runCli(['create', 'e2e-bridge', archive, '--lxcpath', lxcpath, '--network', 'veth:nosuchbr0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: the network bridge 'nosuchbr0' does not exist/);
    const config = readFileSync(join(lxcpath, 'e2e-bridge', 'config'), 'utf8');
    expect(config).toMatch(/^lxc\.net\.0\.type = veth$/m);
    expect(config).toMatch(/^lxc\.net\.0\.link = nosuchbr0$/m);
  });

  it('a failed create leaves nothing behind', () => {
    const archive = join(tmp.path, 'broken.tar');
    writeArchive(spec('oci'), archive, { truncateAt: 600_000 });
    const r = runCli(['create', 'e2e-broken', archive, '--lxcpath', lxcpath, '--network', 'empty']);
    expect(r.status).toBe(1);
    expect(readdirNames(lxcpath).filter((n) => n.includes('e2e-broken'))).toEqual([]);
  });

  it('--idmap shifts file owners and writes matching lxc.idmap lines', () => {
    const archive = join(tmp.path, 'oci.tar');
    if (!existsSync(archive)) writeArchive(spec('oci'), archive);
    const name = 'e2e-idmap';
    const r = runCli(['create', name, archive, '--lxcpath', lxcpath, '--network', 'empty', '--idmap', '0:100000:65536', '-q']);
    expect(r.status, r.stderr).toBe(0);
    const config = readFileSync(join(lxcpath, name, 'config'), 'utf8');
    expect(config).toMatch(/^lxc\.idmap = u 0 100000 65536$/m);
    expect(config).toMatch(/^lxc\.idmap = g 0 100000 65536$/m);
    const owner = (p: string) => execFileSync('stat', ['-c', '%u:%g', join(lxcpath, name, 'rootfs', p)], { encoding: 'utf8' }).trim();
    expect(owner('bin/busybox')).toBe('100000:100000');
    expect(owner('home/app')).toBe('101000:101000');
  });

  it('Ctrl-C during create leaves no container and no staging directory', async () => {
    const big = join(tmp.path, 'big.tar');
    writeArchive({ images: [{ layers: slowLayers(), config: { Cmd: ['/bin/sh'] } }] }, big);
    const { status, stderr } = await interruptCli(['create', 'e2e-sigint', big, '--lxcpath', lxcpath, '--network', 'empty']);
    expect(status).toBe(1);
    expect(stderr).toMatch(/ABORTED|interrupted/);
    expect(readdirNames(lxcpath).filter((n) => n.includes('e2e-sigint'))).toEqual([]);
  });

  it('works as an LXC template through lxc-create -t', () => {
    const archive = join(tmp.path, 'docker.tar');
    writeArchive(spec('docker'), archive);
    const base = join(tmp.path, 'template-base.conf');
    writeFileSync(base, 'lxc.net.0.type = empty\n');
    const name = 'e2e-template';
    const r = spawnSync('lxc-create', ['-n', name, '-P', lxcpath, '-f', base, '-t', templateBin, '--', '--archive', archive, '--quiet'], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expectAsImage(startRecorder(name));
  });
});

function readdirNames(path: string): string[] {
  return existsSync(path) ? execFileSync('ls', ['-A', path], { encoding: 'utf8' }).split('\n').filter(Boolean) : [];
}
