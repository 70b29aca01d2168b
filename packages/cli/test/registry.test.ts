// Registry references wherever an archive is accepted: a real Distribution registry on loopback.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxLayer, dir, file, writeArchive } from '@oci2lxc/fixtures';
import { push, sha256, startRegistry, type TestRegistry } from '../../oci-registry/test/registry.js';
import { startProxy, type FaultyProxy } from '../../oci-registry/test/proxy.js';
import { snapshot } from '../../oci-registry/test/tree.js';
import { bin, isRoot, runCli, templateBin, type CliResult } from './run-cli.js';
import { recorderScript, startAndRecord } from './recorder.js';

const lxcAvailable = spawnSync('lxc-start', ['--version']).status === 0 && existsSync('/bin/busybox');

function runCliAsync(args: string[]): Promise<CliResult> {
  return spawnAsync(process.execPath, [bin, ...args]);
}

/** A child run without blocking this process (the faulty proxy answers from here). */
function spawnAsync(cmd: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let work: string;
let reg: TestRegistry;
let proxy: FaultyProxy;
let ref: string;
let cacheDir: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'oci2lxc-cli-registry-'));
  cacheDir = join(work, 'cache');
  writeArchive(
    {
      images: [
        {
          ref: 'latest',
          config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hello world'], Env: ['A=b c'], WorkingDir: '/srv' },
          layers: [busyboxLayer(), [file('srv/data', 'x'.repeat(100_000))], [file('srv/more', 'y')]],
        },
      ],
    },
    join(work, 'app.tar'),
  );
  // The reference tree: the same image extracted from its archive.
  expect(runCli(['extract', join(work, 'app.tar'), join(work, 'a'), '-q']).status).toBe(0);
  reg = await startRegistry();
  await push(reg, `oci-archive:${join(work, 'app.tar')}`, 'team/app:1');
  ref = `${reg.host}/team/app:1`;
  proxy = await startProxy(reg.host);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a registry reference instead of an archive', () => {
  it('inspect shows the registry image', () => {
    const r = runCli(['inspect', ref, '--json', '--no-cache']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { archive: string; format: string; image: { config: { Entrypoint: string[] }; layers: unknown[] } };
    expect(doc.archive).toBe(ref);
    expect(doc.format).toBe('registry');
    expect(doc.image.config.Entrypoint).toEqual(['/bin/sh', '-c']);
    expect(doc.image.layers.length).toBe(3);
  });

  it('extract gives the tree of the archive; a second extract downloads nothing; cache list and prune', () => {
    const first = runCli(['extract', ref, join(work, 'r1'), '--cache', cacheDir]);
    expect(first.stderr).toMatch(/extracted 3 layer\(s\)/);
    expect(first.status).toBe(0);
    expect(snapshot(join(work, 'r1'))).toEqual(snapshot(join(work, 'a')));
    const second = runCli(['extract', `docker://${ref}`, join(work, 'r2'), '--cache', cacheDir]);
    expect(second.status).toBe(0);
    expect(second.stderr).toMatch(/\(0 B downloaded/);
    expect(snapshot(join(work, 'r2'))).toEqual(snapshot(join(work, 'a')));
    const list = runCli(['cache', 'list', '--cache', cacheDir, '--json']);
    expect(list.status).toBe(0);
    expect((JSON.parse(list.stdout) as { blobs: unknown[] }).blobs.length).toBe(4);
    const prune = runCli(['cache', 'prune', '--cache', cacheDir, '--older-than', '1d']);
    expect(prune.stdout).toMatch(/removed 0 blob/);
    const all = runCli(['cache', 'prune', '--cache', cacheDir]);
    expect(all.stdout).toMatch(/removed 4 blob/);
    expect(readdirSync(join(cacheDir, 'blobs', 'sha256'))).toEqual([]);
  });

  it('two processes filling one cache at once both succeed; the cache holds each blob once, whole', async () => {
    const shared = join(work, 'cache-shared');
    const [a, b] = await Promise.all([
      runCliAsync(['extract', ref, join(work, 'p1'), '--cache', shared, '-q']),
      runCliAsync(['extract', ref, join(work, 'p2'), '--cache', shared, '-q']),
    ]);
    expect([a.status, b.status, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    expect(snapshot(join(work, 'p1'))).toEqual(snapshot(join(work, 'a')));
    expect(snapshot(join(work, 'p2'))).toEqual(snapshot(join(work, 'a')));
    const blobs = readdirSync(join(shared, 'blobs', 'sha256'));
    expect(blobs.length).toBe(4);
    for (const hex of blobs) expect(sha256(readFileSync(join(shared, 'blobs', 'sha256', hex)))).toBe(`sha256:${hex}`);
    expect(readdirSync(join(shared, 'tmp'))).toEqual([]);
  });

  it('config maps the pulled image', () => {
    const r = runCli(['config', ref, '--no-cache', '--lxc-version', '6.0']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/lxc\.init\.cwd = \/srv/);
  });

  it('neither a file nor a reference: NO_SUCH_IMAGE; a missing .tar stays ARCHIVE_NOT_FOUND', () => {
    const bad = runCli(['inspect', 'Not A Ref']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/error NO_SUCH_IMAGE: Not A Ref: no such file, and not an image reference/);
    const missing = runCli(['inspect', 'missing.tar']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/ARCHIVE_NOT_FOUND/);
  });

  it('a layer corrupted on the way: exit 1 with the registry error, no rootfs, no cache entry', async () => {
    // The proxy corrupts every blob but the config: whichever layer is hit first fails.
    const configDigest = (JSON.parse(runCli(['inspect', ref, '--json', '--no-cache']).stdout) as { image: { configDigest: string } }).image.configDigest;
    proxy.reset();
    proxy.plan = ({ url }) => (url.includes('/blobs/') && !url.endsWith(configDigest) ? 'corrupt' : undefined);
    const cache = join(work, 'cache-bad');
    // Asynchronously: the proxy runs in this process.
    const r = await runCliAsync(['extract', `${proxy.host}/team/app:1`, join(work, 'bad'), '--cache', cache, '-q']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error (DIGEST_MISMATCH|CORRUPT_LAYER)/);
    expect(existsSync(join(work, 'bad'))).toBe(false);
    const entries = readdirSync(join(cache, 'blobs', 'sha256'));
    expect(entries.length).toBe(1); // the config only
    expect(readdirSync(join(cache, 'tmp'))).toEqual([]);
  });

  it('pull -o writes archives that oci2lxc and skopeo read back (oci and docker formats)', () => {
    for (const format of ['oci', 'docker'] as const) {
      const out = join(work, `pulled-${format}.tar`);
      const r = runCli(['pull', ref, '-o', out, '--format', format, '--cache', cacheDir]);
      expect(r.stderr).toMatch(/wrote .*pulled/);
      expect(r.status).toBe(0);
      const inspect = runCli(['inspect', out, '--json']);
      expect(inspect.status).toBe(0);
      expect((JSON.parse(inspect.stdout) as { format: string }).format).toBe(format === 'oci' ? 'oci-layout' : 'docker-archive');
      const x = runCli(['extract', out, join(work, `x-${format}`), '-q']);
      expect(x.status).toBe(0);
      expect(snapshot(join(work, `x-${format}`))).toEqual(snapshot(join(work, 'a')));
      if (format === 'oci') {
        // pve-container's test for an OCI template: `tar -tf` lists oci-layout, index.json and blobs/…
        const members = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n');
        expect(members).toContain('oci-layout');
        expect(members).toContain('index.json');
        expect(members.filter((m) => m.startsWith('blobs/sha256/')).length).toBe(5); // manifest, config, 3 layers
      }
      const transport = format === 'oci' ? 'oci-archive' : 'docker-archive';
      const info = JSON.parse(execFileSync('skopeo', ['inspect', `${transport}:${out}`], { encoding: 'utf8' })) as { Layers: string[] };
      expect(info.Layers.length).toBe(3);
      execFileSync('skopeo', ['copy', '--quiet', `${transport}:${out}`, `oci:${join(work, `skopeo-${format}`)}:x`]);
    }
    expect(readdirSync(work).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it.skipIf(!isRoot)('create makes a container from a reference', () => {
    const lxcpath = join(work, 'lxc');
    const name = `reg-${Math.random().toString(36).slice(2, 8)}`;
    const r = runCli(['create', name, ref, '--lxcpath', lxcpath, '--network', 'none', '--cache', cacheDir, '--lxc-version', '5.0']);
    expect(r.stderr).toMatch(/created container/);
    expect(r.status).toBe(0);
    expect(readFileSync(join(lxcpath, name, 'config'), 'utf8')).toMatch(new RegExp(`from ${ref.replace(/[.]/g, '\\.')}`));
    expect(readFileSync(join(lxcpath, name, 'rootfs', 'srv', 'more'), 'utf8')).toBe('y');
  });

  it.skipIf(!isRoot || !lxcAvailable)('lxc-create -t with a reference makes a container that runs the image; a second one comes from the cache', async () => {
    const archive = join(work, 'recorder.tar');
    const config = { Entrypoint: ['/usr/local/bin/record', 'a b'], Cmd: ['c'], Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'SPACED=x  y'], WorkingDir: '/srv' };
    const extra = [dir('usr'), dir('usr/local'), dir('usr/local/bin'), file('usr/local/bin/record', recorderScript, { mode: 0o755 }), dir('out', { mode: 0o777 }), dir('srv')];
    writeArchive({ images: [{ ref: 'latest', config, layers: [busyboxLayer(), extra] }] }, archive);
    await push(reg, `oci-archive:${archive}`, 'team/recorder:1');
    const templateRef = `${proxy.host}/team/recorder:1`;
    const lxcpath = join(work, 'lxc-template');
    mkdirSync(lxcpath, { recursive: true });
    const base = join(work, 'template-base.conf');
    writeFileSync(base, 'lxc.net.0.type = empty\n');
    const cache = join(work, 'cache-template');
    const suffix = Math.random().toString(36).slice(2, 8);
    const create = (name: string): Promise<CliResult> =>
      spawnAsync('lxc-create', ['-n', name, '-P', lxcpath, '-f', base, '-t', templateBin, '--', '--archive', templateRef, '--cache', cache, '--quiet']);
    const blobRequests = (): string[] => proxy.log.filter((r) => r.url.includes('/blobs/')).map((r) => r.url);

    proxy.reset();
    const first = await create(`tpl-a-${suffix}`);
    expect(first.status, `${first.stdout}\n${first.stderr}`).toBe(0);
    expect(blobRequests().length).toBe(3); // config + 2 layers, from the registry
    expect(readFileSync(join(lxcpath, `tpl-a-${suffix}`, 'config'), 'utf8')).toMatch(new RegExp(`template: ${templateRef.replace(/[.]/g, '\\.')}`));

    proxy.reset();
    const name = `tpl-b-${suffix}`;
    const second = await create(name);
    expect(second.status, `${second.stdout}\n${second.stderr}`).toBe(0);
    expect(proxy.log.some((r) => r.url.includes('/manifests/'))).toBe(true); // the tag is still resolved
    expect(blobRequests()).toEqual([]); // every blob from the cache

    const seen = startAndRecord(name, lxcpath, work);
    expect(seen.argv[0]).toBe('/bin/sh');
    expect(seen.argv.slice(1)).toEqual([...config.Entrypoint, ...config.Cmd]);
    expect(seen.env).toEqual(expect.arrayContaining(config.Env));
    expect(seen.cwd).toBe('/srv');
    expect(seen.uid).toBe('0');
  });
});
