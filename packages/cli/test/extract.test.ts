import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { charDevice, dir, fifo, file, symlink, whiteout, tempDir, writeArchive, flipByte, blobFilePath, copyPackageClosure, reachableTempDir } from '@oci2lxc/fixtures';
import { interruptCli, runCli, runCliOnTty, slowLayers } from './run-cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const archive = join(tmp.path, 'img.tar');
const built = writeArchive(
  {
    images: [
      {
        ref: 'x:1',
        config: { Cmd: ['/bin/true'] },
        layers: [
          [dir('etc'), file('etc/os-release', 'ID=test\n'), file('etc/gone', 'x'), dir('srv')],
          [whiteout('etc/gone'), symlink('srv/link', '../etc/os-release'), file('srv/data', 'data', { mode: 0o600 })],
        ],
      },
    ],
  },
  archive,
);

describe('oci2lxc extract', () => {
  it('extracts into a new directory and prints a JSON summary', () => {
    const rootfs = join(tmp.path, 'r1');
    const r = runCli(['extract', archive, rootfs, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { rootfs: string; layers: number; image: { manifestDigest: string }; entries: number };
    expect(doc.rootfs).toBe(rootfs);
    expect(doc.layers).toBe(2);
    expect(doc.image.manifestDigest).toBe(built.images[0]!.manifestDigest);
    expect(readFileSync(join(rootfs, 'etc/os-release'), 'utf8')).toBe('ID=test\n');
    expect(existsSync(join(rootfs, 'etc/gone'))).toBe(false);
    expect(lstatSync(join(rootfs, 'srv/link')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(rootfs, 'srv/data')).mode & 0o7777).toBe(0o600);
  });

  it('prints plain progress lines when stderr is a pipe, and nothing with --quiet', () => {
    const r = runCli(['extract', archive, join(tmp.path, 'r2')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^layer 1\/2 sha256:[0-9a-f]{12}: /m);
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).toMatch(/extracted 2 layer\(s\)/);
    const q = runCli(['extract', archive, join(tmp.path, 'r3'), '--quiet']);
    expect(q.status).toBe(0);
    expect(q.stderr).toBe('');
  });

  it('draws a progress bar on a terminal', () => {
    const r = runCliOnTty(['extract', archive, join(tmp.path, 'r4')]);
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\r\x1b\[Klayer \d\/2 \[[#.]+\]/);
    expect(r.stdout).toMatch(/ETA/);
  });

  it('refuses a non-empty destination and leaves it untouched', () => {
    const rootfs = join(tmp.path, 'busy');
    mkdirSync(rootfs);
    writeFileSync(join(rootfs, 'keep'), 'me');
    const r = runCli(['extract', archive, rootfs]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/DESTINATION_NOT_EMPTY/);
    expect(readdirSync(rootfs)).toEqual(['keep']);
  });

  it('a corrupt layer fails with its digest named and leaves no rootfs', () => {
    const bad = join(tmp.path, 'bad.tar');
    const b = writeArchive({ images: [{ layers: [[file('a', 'a'.repeat(5000))], [file('b', 'b')]] }] }, bad, {
      mutate: (files, bb) => flipByte(files, blobFilePath(bb.images[0]!.layers[1]!.digest), 20),
    });
    const rootfs = join(tmp.path, 'r5');
    const r = runCli(['extract', bad, rootfs]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(b.images[0]!.layers[1]!.digest);
    expect(existsSync(rootfs)).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)('as an unprivileged user: extracts what it can, one warning each for owners, devices and xattrs', () => {
    // uid 65534 may not enter the checkout (root's 0700 home, a private clone): it runs a copy of
    // the CLI and its dependencies, on an image, in a directory it can reach.
    const shared = reachableTempDir();
    onTestFinished(shared.cleanup);
    const cli = copyPackageClosure(fileURLToPath(new URL('..', import.meta.url)), shared.path);
    const dirForNobody = join(shared.path, 'nobody');
    mkdirSync(dirForNobody, { mode: 0o777 });
    chmodSync(dirForNobody, 0o777);
    const img = join(dirForNobody, 'img.tar');
    writeArchive(
      {
        images: [
          {
            layers: [
              [
                dir('etc'),
                file('etc/a', 'a', { uid: 1000, gid: 1000 }),
                file('etc/b', 'b', { uid: 1001 }),
                charDevice('null', 1, 3),
                charDevice('zero', 1, 5),
                fifo('pipe'),
                file('cap', 'x', { xattrs: { 'user.one': 'v', 'trusted.two': 'w' } }),
              ],
            ],
          },
        ],
      },
      img,
    );
    chmodSync(img, 0o644);
    const rootfs = join(dirForNobody, 'rootfs');
    const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, join(cli, 'dist/bin.js'), 'extract', img, rootfs], { encoding: 'utf8', cwd: shared.path });
    expect(r.status, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/owner/);
    expect(warnings.join('\n')).toMatch(/device/);
    expect(readFileSync(join(rootfs, 'etc/a'), 'utf8')).toBe('a');
    expect(lstatSync(join(rootfs, 'pipe')).isFIFO()).toBe(true);
    expect(existsSync(join(rootfs, 'null'))).toBe(false);
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.one', join(rootfs, 'cap')], { encoding: 'utf8' })).toBe('v');
  });

  it('Ctrl-C (SIGINT) mid-extract aborts and leaves no partial rootfs', async () => {
    const big = join(tmp.path, 'big.tar');
    writeArchive({ images: [{ layers: slowLayers() }] }, big);
    const rootfs = join(tmp.path, 'r6');
    const { status, stderr } = await interruptCli(['extract', big, rootfs]);
    expect(status).toBe(1);
    expect(stderr).toMatch(/ABORTED|interrupted/);
    expect(existsSync(rootfs)).toBe(false);
  });
});
