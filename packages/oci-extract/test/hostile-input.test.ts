// Findings of the CLI's hostile tests, reproduced at the library level: destinations that are
// symlinks or sit below files, cleanup of names that are not UTF-8 or nest deeper than PATH_MAX,
// names the host cannot hold, and layers whose bytes are not what their media type says. Each
// case checks the host side (the whole work directory) besides the error code.
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, symlinkSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTar, dir, file, MediaTypes, symlink, tempDir, writeArchive, type ArchiveSpec, type TarEntry } from '@oci2lxc/fixtures';
import { openImageArchive } from '@oci2lxc/oci-tar-image';
import { applyLayer, ExtractError, extractImage } from '../src/index.js';
import { CLAIM_MARKER, prepareDestination, restoreDestination } from '../src/cleanup.js';
import { snapshot } from './helpers.js';

let work: { path: string; cleanup: () => void };
/** Holds the host tree and the destinations; archives are written next to it, not in it. */
let sandbox: string;
let host: string;
beforeEach(() => {
  work = tempDir('oci-extract-hostile-');
  sandbox = join(work.path, 'sandbox');
  host = join(sandbox, 'host');
  mkdirSync(join(host, 'empty'), { recursive: true });
  writeFileSync(join(host, 'passwd'), 'root:x:0:0\n');
});
afterEach(() => work.cleanup());

/** Extracts an archive written from `spec` into `rootfs`; resolves to the error (or undefined). */
async function extract(spec: ArchiveSpec, rootfs: string): Promise<ExtractError | undefined> {
  const path = join(work.path, `image-${Math.random().toString(36).slice(2)}.tar`);
  writeArchive(spec, path);
  const archive = await openImageArchive(path);
  try {
    const image = await archive.selectImage();
    return (await extractImage(image, rootfs).then(
      () => undefined,
      (e: unknown) => e,
    )) as ExtractError | undefined;
  } finally {
    await archive.close();
  }
}

/** The host tree and the names beside the destination (whose parent's mtime may change). */
function hostSide(): Map<string, unknown> {
  return new Map<string, unknown>([...snapshot(host), ['(sandbox)', readdirSync(sandbox).sort()]]);
}

/** A tar whose headers have every `~` of a name replaced by the byte 0xff (not UTF-8). */
function nonUtf8Tar(entries: TarEntry[]): Buffer {
  const tar = buildTar(entries);
  for (let off = 0; off + 512 <= tar.length; off += 512) {
    const h = tar.subarray(off, off + 512);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (h.every((b) => b === 0) || Number.parseInt(h.toString('latin1', 148, 155), 8) !== sum) continue;
    for (let i = 0; i < 100; i++) if (h[i] === 0x7e) h[i] = 0xff;
    h.fill(0x20, 148, 156);
    let s2 = 0;
    for (const b of h) s2 += b;
    h.write(`${s2.toString(8).padStart(6, '0')}\0`, 148, 'latin1');
  }
  return tar;
}

const simple: ArchiveSpec = { images: [{ layers: [[dir('etc'), file('etc/hostname', 'demo\n')]] }] };

describe('destinations', () => {
  it('a symlink to an empty directory is refused; the target stays empty', async () => {
    const rootfs = join(sandbox, 'rootfs');
    symlinkSync(join(host, 'empty'), rootfs);
    const before = hostSide();
    const err = await extract(simple, rootfs);
    expect(err?.code).toBe('INVALID_DESTINATION');
    expect(err?.message).toContain('symbolic link');
    expect(hostSide()).toEqual(before);
    expect(readlinkSync(rootfs)).toBe(join(host, 'empty'));
  });

  it('a dangling symlink is refused and its target is not created', async () => {
    const rootfs = join(sandbox, 'rootfs');
    symlinkSync(join(host, 'created-through-link'), rootfs);
    const before = hostSide();
    expect((await extract(simple, rootfs))?.code).toBe('INVALID_DESTINATION');
    expect(hostSide()).toEqual(before);
  });

  it('a path below a regular file, or below a missing directory, is INVALID_DESTINATION', async () => {
    const before = hostSide();
    for (const p of [join(host, 'passwd', 'rootfs'), join(host, 'passwd', 'x', 'rootfs'), join(host, 'missing', 'rootfs')]) {
      const err = await extract(simple, p);
      expect(err, p).toBeInstanceOf(ExtractError);
      expect(err?.code, p).toBe('INVALID_DESTINATION');
      expect(err?.message).toContain(p);
    }
    expect(hostSide()).toEqual(before);
    await expect(applyLayer(Readable.from([buildTar([file('a', 'x')])]), join(host, 'passwd', 'rootfs'))).rejects.toMatchObject({ code: 'INVALID_DESTINATION' });
  });

  it('symlinks in parent components of the given path are the caller\'s own and are followed', async () => {
    symlinkSync(host, join(sandbox, 'via'));
    expect(await extract(simple, join(sandbox, 'via', 'rootfs'))).toBeUndefined();
    expect(lstatSync(join(host, 'rootfs', 'etc', 'hostname')).isFile()).toBe(true);
  });
});

describe('cleanup after a failure', () => {
  const failing = (first: TarEntry[] | Buffer): ArchiveSpec => ({
    images: [
      {
        layers: [
          [dir('d', { mode: 0 }), file('d/f', 'f')],
          Buffer.isBuffer(first) ? { entries: [], rawTar: first } : first,
          { entries: [], rawTar: Buffer.from('not a tar at all'.repeat(64)), compression: 'none' },
        ],
      },
    ],
  });

  it('an empty destination is emptied of names that are not UTF-8 and keeps its mode and times', async () => {
    const rootfs = join(sandbox, 'rootfs');
    mkdirSync(rootfs);
    chmodSync(rootfs, 0o711);
    const own = lstatSync(rootfs, { bigint: true }); // times to the nanosecond, as mkdir left them
    const before = hostSide();
    const err = await extract(failing(nonUtf8Tar([file('~~', 'z'), dir('~x'), file('~x/~', 'y'), dir('caf~'), file('caf~/~', 'w')])), rootfs);
    expect(err?.code).toBe('CORRUPT_LAYER');
    expect(readdirSync(Buffer.from(rootfs), { encoding: 'buffer' })).toEqual([]);
    const now = lstatSync(rootfs, { bigint: true });
    expect([now.mode, now.mtimeNs]).toEqual([own.mode, own.mtimeNs]); // atime: our own readdir may update it
    expect(hostSide()).toEqual(before);
  });

  // A symlink makes resolved host paths longer than the entry names: the tree below it reaches
  // close to PATH_MAX, where Node's recursive rm fails with ENAMETOOLONG.
  const deep = (rootfs: string): TarEntry[] => {
    const budget = 4095 - Buffer.byteLength(rootfs) - 40;
    const comp = 'd'.repeat(49);
    const target = Array.from({ length: Math.floor(budget / 50) }, () => comp).join('/');
    return [symlink('s', target), dir('s/e'), file('s/e/f', 'x'), file(`s/${'x/'.repeat(40)}f`, 'too deep')];
  };

  it.each([false, true])('a tree nested up to PATH_MAX is removed (destination existed: %s)', async (existed) => {
    const rootfs = join(sandbox, 'rootfs');
    if (existed) mkdirSync(rootfs);
    const before = hostSide();
    const err = await extract({ images: [{ layers: [deep(rootfs)] }] }, rootfs);
    expect(err?.code).toBe('UNSAFE_PATH');
    expect(err?.message).toContain('PATH_MAX');
    if (existed) expect(readdirSync(rootfs)).toEqual([]);
    else expect(existsSync(rootfs)).toBe(false);
    expect(hostSide()).toEqual(before);
  });
});

describe('restoreDestination on trees deeper than PATH_MAX (where Node\'s recursive rm gives up)', () => {
  // Built by a child node with relative mkdir + chdir: 400 levels, 4800 bytes below `under/name`.
  const deepTree = (under: string, name: Buffer): void => {
    const script = `const fs = require('fs'); process.chdir(process.argv[1]); fs.mkdirSync('tmp'); process.chdir('tmp');
      for (let i = 0; i < 400; i++) { fs.mkdirSync('ddddddddddd'); process.chdir('ddddddddddd'); }
      fs.writeFileSync('f', 'x');`;
    execFileSync(process.execPath, ['-e', script, under]);
    renameSync(join(under, 'tmp'), Buffer.concat([Buffer.from(`${under}/`), name]));
  };

  it('an absent destination is removed again', () => {
    const rootfs = join(sandbox, 'rootfs');
    const before = hostSide();
    const dest = prepareDestination(rootfs);
    deepTree(rootfs, Buffer.from('a'));
    restoreDestination(dest);
    expect(existsSync(rootfs)).toBe(false);
    expect(hostSide()).toEqual(before);
  });

  it('an empty destination is emptied, including a deep tree under a name that is not UTF-8', () => {
    const rootfs = join(sandbox, 'rootfs');
    mkdirSync(rootfs);
    const before = hostSide();
    const dest = prepareDestination(rootfs);
    deepTree(rootfs, Buffer.from('plain'));
    deepTree(rootfs, Buffer.from('caf\xe9', 'latin1')); // the bare byte 0xe9
    expect(readdirSync(Buffer.from(rootfs), { encoding: 'buffer' }).filter((n) => n.toString('latin1') !== CLAIM_MARKER)).toHaveLength(2);
    restoreDestination(dest);
    expect(readdirSync(rootfs)).toEqual([]);
    expect(hostSide()).toEqual(before);
  });
});

describe('names the host cannot hold', () => {
  it('a name longer than PATH_MAX is refused before anything is created', async () => {
    const rootfs = join(sandbox, 'rootfs');
    const before = hostSide();
    const { images } = writeArchive({ images: [{ layers: [[file(`${'d/'.repeat(2100)}f`, 'deep')]] }] }, join(work.path, 'image-long.tar'));
    const archive = await openImageArchive(join(work.path, 'image-long.tar'));
    const err = (await extractImage(await archive.selectImage(), rootfs).catch((e: unknown) => e)) as ExtractError;
    await archive.close();
    expect(err.code).toBe('UNSAFE_PATH');
    expect(err.layer).toBe(images[0]!.layers[0]!.digest);
    expect(err.message).toContain('PATH_MAX');
    expect(existsSync(rootfs)).toBe(false);
    expect(hostSide()).toEqual(before);
  });

  it('a component longer than NAME_MAX is UNSAFE_PATH naming the entry', async () => {
    const rootfs = join(sandbox, 'rootfs');
    const name = `x/${'n'.repeat(300)}`;
    const err = await extract({ images: [{ layers: [[file('ok', 'ok'), file(name, 'long')]] }] }, rootfs);
    expect(err?.code).toBe('UNSAFE_PATH');
    expect(err?.path).toBe(name);
    expect(err?.message).toContain('NAME_MAX');
    expect(existsSync(rootfs)).toBe(false);
  });

  it('a NUL byte in a PAX path or link path is CORRUPT_LAYER naming the layer and entry', async () => {
    for (const entry of [file('benign', 'x', { pax: { path: 'a\0b' } }), symlink('l', 'x', { pax: { linkpath: 'x\0y' } })]) {
      const rootfs = join(sandbox, 'rootfs');
      const spec: ArchiveSpec = { images: [{ layers: [[entry]] }] };
      const err = await extract(spec, rootfs);
      expect(err?.code).toBe('CORRUPT_LAYER');
      expect(err?.message).toContain('NUL byte');
      expect(err?.layer).toMatch(/^sha256:/);
      expect(err?.message).toContain(err!.layer!);
      expect(err?.path).toBeDefined();
      expect(existsSync(rootfs)).toBe(false);
    }
  });
});

describe('layers that are not what their media type says', () => {
  const entries = [file('a', 'a')];
  it.each([
    ['gzip declared, plain tar stored', { entries, compression: 'none', mediaType: MediaTypes.ociLayerGzip }],
    ['gzip declared, zstd stored', { entries, compression: 'zstd', mediaType: MediaTypes.ociLayerGzip }],
    ['gzip declared, zero bytes stored', { entries: [], rawTar: Buffer.alloc(0), compression: 'none', mediaType: MediaTypes.ociLayerGzip }],
    ['zstd declared, zero bytes stored', { entries: [], rawTar: Buffer.alloc(0), compression: 'none', mediaType: MediaTypes.ociLayerZstd }],
    ['zstd declared, plain tar stored', { entries, compression: 'none', mediaType: MediaTypes.ociLayerZstd }],
  ] as const)('%s: CORRUPT_LAYER naming the layer', async (_n, layer) => {
    const rootfs = join(sandbox, 'rootfs');
    const path = join(work.path, 'image-x.tar');
    const built = writeArchive({ images: [{ layers: [[file('first', '1')], { ...layer, entries: [...layer.entries] }] }] }, path);
    const archive = await openImageArchive(path);
    const err = (await extractImage(await archive.selectImage(), rootfs).catch((e: unknown) => e)) as ExtractError;
    await archive.close();
    expect(err).toBeInstanceOf(ExtractError);
    expect(err.code).toBe('CORRUPT_LAYER');
    expect(err.message).toContain(built.images[0]!.layers[1]!.digest);
    expect(existsSync(rootfs)).toBe(false);
  });

  it('a truncated gzip stream is CORRUPT_LAYER even without an expected diff_id', async () => {
    const tar = buildTar([file('big', Buffer.alloc(300_000, 7)), file('after', 'x')]);
    const gz = gzipSync(tar);
    for (const cut of [gz.length - 4, Math.floor(gz.length / 2), 10]) {
      const rootfs = join(work.path, `r${cut}`);
      mkdirSync(rootfs);
      const err = (await applyLayer(Readable.from([gz.subarray(0, cut)]), rootfs, { compression: 'gzip', layerDigest: 'sha256:feed' }).catch((e: unknown) => e)) as ExtractError;
      expect(err, `cut at ${cut}`).toBeInstanceOf(ExtractError);
      expect(err.code).toBe('CORRUPT_LAYER');
      expect(err.message).toContain('sha256:feed');
    }
    // The whole stream still works.
    const ok = join(work.path, 'ok');
    mkdirSync(ok);
    await applyLayer(Readable.from([gz]), ok, { compression: 'gzip' });
    expect(lstatSync(join(ok, 'after')).isFile()).toBe(true);
  });
});
