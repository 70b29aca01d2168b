import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dir, file, symlink, whiteout, tempDir, writeArchive, flipByte, blobFilePath } from '@oci2lxc/fixtures';
import { runCli, runCliOnTty, startCli } from './run-cli.js';

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

  it('Ctrl-C (SIGINT) mid-extract aborts and leaves no partial rootfs', async () => {
    const big = join(tmp.path, 'big.tar');
    const layers = Array.from({ length: 6 }, (_, l) => [dir(`d${l}`), ...Array.from({ length: 4000 }, (_, i) => file(`d${l}/f${i}`, `${l}-${i}`))]);
    writeArchive({ images: [{ layers }] }, big);
    const rootfs = join(tmp.path, 'r6');
    const child = startCli(['extract', big, rootfs]);
    let stderr = '';
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('layer 1/6')) resolve();
      }),
    );
    child.kill('SIGINT');
    const code = await exit;
    expect(code).toBe(1);
    expect(stderr).toMatch(/ABORTED|interrupted/);
    expect(existsSync(rootfs)).toBe(false);
  });
});
