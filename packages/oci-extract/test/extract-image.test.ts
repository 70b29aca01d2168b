// extractImage on real archives (written by the fixtures, read by @oci2lxc/oci-tar-image) and on
// in-memory images for fault injection: digests, clean-up, abort, progress, umoci parity.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  blobFilePath,
  charDevice,
  dir,
  fifo,
  file,
  flipByte,
  hardlink,
  opaque,
  symlink,
  tempDir,
  whiteout,
  writeArchive,
  writeLayoutDir,
  type ArchiveSpec,
} from '@oci2lxc/fixtures';
import { openImageArchive, type Image } from '@oci2lxc/oci-tar-image';
import { ExtractError, extractImage, type ExtractProgress } from '../src/index.js';
import { isRoot, listing, memoryImage, snapshot } from './helpers.js';

let work: { path: string; cleanup: () => void };
beforeEach(() => {
  work = tempDir('oci-extract-image-');
});
afterEach(() => work.cleanup());

let lastBuilt: ReturnType<typeof writeArchive> | undefined;
async function withArchive<T>(spec: ArchiveSpec, fn: (image: Image) => Promise<T>, opts: Parameters<typeof writeArchive>[2] = {}): Promise<T> {
  const path = join(work.path, 'image.tar');
  lastBuilt = writeArchive(spec, path, opts);
  const archive = await openImageArchive(path);
  try {
    return await fn(await archive.selectImage());
  } finally {
    await archive.close();
  }
}

const threeLayers = [
  { entries: [dir('etc'), file('etc/os-release', 'ID=test\n'), dir('usr/lib', { mode: 0o755 }), file('usr/lib/a.so', 'A'), file('usr/lib/b.so', 'B')], compression: 'gzip' as const },
  { entries: [whiteout('usr/lib/a.so'), file('etc/motd', 'hi'), symlink('lib', 'usr/lib')], compression: 'zstd' as const },
  { entries: [hardlink('etc/motd2', 'etc/motd'), file('lib/c.so', 'C')], compression: 'none' as const },
];
const expectedTree = ['. dir', 'etc dir', 'etc/motd file', 'etc/motd2 file', 'etc/os-release file', 'lib symlink -> usr/lib', 'usr dir', 'usr/lib dir', 'usr/lib/b.so file', 'usr/lib/c.so file'];

describe('extractImage on real archives', () => {
  it.each(['oci', 'docker', 'docker25'] as const)('applies gzip, zstd and plain layers in order (%s)', async (format) => {
    const rootfs = join(work.path, 'rootfs');
    const progress: ExtractProgress[] = [];
    let unnamed: string[] = [];
    const res = await withArchive({ format, images: [{ layers: threeLayers }] }, async (image) => {
      const r = await extractImage(image, rootfs, { onProgress: (p) => progress.push(p) });
      unnamed = image.layers.filter((l) => l.digest === '').map((l) => l.compression);
      return r;
    });
    expect(listing(rootfs)).toEqual(expectedTree);
    expect(res.layers.map((l) => l.entries)).toEqual([5, 3, 2]);
    // A Docker archive names no digest for its compressed layers: the image's Layer keeps '' and the
    // result names the digest the layer stream computed.
    expect(unnamed).toEqual(format === 'docker' ? ['gzip', 'zstd'] : []);
    expect(res.layers.map((l) => l.digest)).toEqual(lastBuilt!.images[0]!.layers.map((l) => l.digest));
    expect(res.entries).toBe(10);
    const last = progress[progress.length - 1]!;
    expect(last.bytesRead).toBe(last.bytesTotal);
    expect(last.layerIndex).toBe(2);
    expect(last.layerCount).toBe(3);
    expect(last.entries).toBe(10);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.bytesRead).toBeGreaterThanOrEqual(progress[i - 1]!.bytesRead);
  });

  it('propagates a compressed digest mismatch from oci-tar-image and removes the rootfs', async () => {
    const rootfs = join(work.path, 'rootfs');
    const err = await withArchive(
      { images: [{ layers: [[file('a', 'x')], [file('b', 'y')]] }] },
      (image) => extractImage(image, rootfs).catch((e: unknown) => e),
      // gzip ignores its header's mtime field: decompression succeeds, only the digest is wrong
      { mutate: (files, built) => flipByte(files, blobFilePath(built.images[0]!.layers[1]!.digest), 4) },
    );
    expect((err as { code: string }).code).toBe('DIGEST_MISMATCH');
    expect((err as Error).name).toBe('OciImageError');
    expect(existsSync(rootfs)).toBe(false);
  });
});

describe('failures leave the destination as found', () => {
  let built: ReturnType<typeof memoryImage>['built'];
  function badDiffId(): Image {
    const m = memoryImage({ layers: [[file('a', 'x')], [dir('d'), file('d/b', 'y')]] });
    const image = m.image;
    built = m.built;
    (image.layers[1] as { diffId: string }).diffId = `sha256:${'0'.repeat(64)}`;
    return image;
  }

  it('diff_id mismatch: an absent destination is removed, the error names layer and both digests', async () => {
    const image = badDiffId();
    const rootfs = join(work.path, 'new-rootfs');
    const err = (await extractImage(image, rootfs).catch((e: unknown) => e)) as ExtractError;
    expect(err).toBeInstanceOf(ExtractError);
    expect(err.code).toBe('DIFF_ID_MISMATCH');
    expect(err.layer).toBe(image.layers[1]!.digest);
    expect(err.message).toContain(image.layers[1]!.digest);
    expect(err.message).toContain(`sha256:${'0'.repeat(64)}`); // expected
    expect(err.message).toContain(built.layers[1]!.diffId); // actual
    expect(existsSync(rootfs)).toBe(false);
    expect(readdirSync(work.path)).toEqual([]);
  });

  it('diff_id mismatch: an empty destination is emptied and keeps its own mode and times', async () => {
    const rootfs = join(work.path, 'empty');
    mkdirSync(rootfs);
    chmodSync(rootfs, 0o711);
    utimesSync(rootfs, 1_000_000, 1_000_000);
    const before = snapshot(work.path);
    const { image } = memoryImage({ layers: [[dir('.', { mode: 0o700, mtime: 5 }), file('a', 'x')], [file('b', 'y')]] });
    (image.layers[1] as { diffId: string }).diffId = `sha256:${'1'.repeat(64)}`;
    await expect(extractImage(image, rootfs)).rejects.toMatchObject({ code: 'DIFF_ID_MISMATCH' });
    expect(snapshot(work.path)).toEqual(before);
  });

  it.each([
    ['a hostile entry', [[file('a', 'x')], [file('l1/x', 'x'), symlink('l1', 'l1'), file('l1/y', 'y')]], 'UNSAFE_PATH'],
    ['a missing hardlink target', [[file('a', 'x')], [hardlink('b', 'nope')]], 'HARDLINK_TARGET_MISSING'],
    ['an unsupported entry', [[file('a', 'x', { typeflag: 'S' })]], 'UNSUPPORTED_ENTRY'],
  ] as const)('%s in a later layer fails with its code and cleans up', async (_n, layers, code) => {
    const rootfs = join(work.path, 'rootfs');
    const { image } = memoryImage({ layers: layers.map((l) => [...l]) });
    const err = (await extractImage(image, rootfs).catch((e: unknown) => e)) as ExtractError;
    expect(err.code).toBe(code);
    expect(err.layer).toBe(image.layers[layers.length - 1]!.digest);
    expect(existsSync(rootfs)).toBe(false);
  });

  it('a truncated layer is CORRUPT_LAYER', async () => {
    const rootfs = join(work.path, 'rootfs');
    const { image } = memoryImage({ layers: [[file('a', 'x'.repeat(5000))]] }, { serve: (_i, blob) => Readable.from([blob.subarray(0, blob.length - 30)]) });
    const err = (await extractImage(image, rootfs).catch((e: unknown) => e)) as ExtractError;
    expect(err.code).toBe('CORRUPT_LAYER');
    expect(err.message).toContain(image.layers[0]!.digest);
    expect(existsSync(rootfs)).toBe(false);
  });

  it('a layer that is not a tar is CORRUPT_LAYER', async () => {
    const { image } = memoryImage({ layers: [{ entries: [], rawTar: Buffer.alloc(2048, 0x41), compression: 'zstd' }] });
    await expect(extractImage(image, join(work.path, 'r'))).rejects.toMatchObject({ code: 'CORRUPT_LAYER' });
    expect(readdirSync(work.path)).toEqual([]);
  });

  it('a non-empty destination is refused and untouched', async () => {
    const rootfs = join(work.path, 'full');
    mkdirSync(rootfs);
    writeFileSync(join(rootfs, 'keep'), 'mine');
    const before = snapshot(work.path);
    const { image } = memoryImage({ layers: [[file('keep', 'theirs')]] });
    await expect(extractImage(image, rootfs)).rejects.toMatchObject({ code: 'DESTINATION_NOT_EMPTY' });
    writeFileSync(join(work.path, 'afile'), 'x');
    await expect(extractImage(image, join(work.path, 'afile'))).rejects.toMatchObject({ code: 'DESTINATION_NOT_EMPTY' });
    expect(readFileSync(join(rootfs, 'keep'), 'utf8')).toBe('mine');
    expect(snapshot(rootfs)).toEqual(new Map([...before].filter(([p]) => p.startsWith('full')).map(([p, i]) => [p === 'full' ? '.' : p.slice(5), i])));
  });

  it('a missing parent directory is INVALID_DESTINATION and nothing is created', async () => {
    const { image } = memoryImage({ layers: [[file('a', 'x')]] });
    await expect(extractImage(image, join(work.path, 'no/such/rootfs'))).rejects.toMatchObject({ code: 'INVALID_DESTINATION' });
    expect(readdirSync(work.path)).toEqual([]);
  });

  it('abort mid-layer: ABORTED, destination removed', async () => {
    const rootfs = join(work.path, 'rootfs');
    const controller = new AbortController();
    const entries = Array.from({ length: 400 }, (_, i) => file(`f${i}`, 'x'.repeat(3000)));
    const { image } = memoryImage(
      { layers: [entries], compression: 'none' },
      {
        serve: (_i, blob) =>
          Readable.from(
            (async function* () {
              for (let off = 0; off < blob.length; off += 16384) {
                yield blob.subarray(off, off + 16384);
                await new Promise((r) => setTimeout(r, 2));
              }
            })(),
          ),
      },
    );
    let seen = 0;
    const err = (await extractImage(image, rootfs, {
      signal: controller.signal,
      onProgress: (p) => {
        seen = p.entries;
        if (p.entries > 20) controller.abort();
      },
    }).catch((e: unknown) => e)) as ExtractError;
    expect(seen).toBeGreaterThan(20);
    expect(err.code).toBe('ABORTED');
    expect(existsSync(rootfs)).toBe(false);
  });

  it('abort inside a large file: ABORTED, no file descriptor left open, destination removed', async () => {
    const rootfs = join(work.path, 'rootfs');
    const controller = new AbortController();
    const { image } = memoryImage(
      { layers: [[file('small', 'x'), file('big', Buffer.alloc(24 * 1024 * 1024, 1))]], compression: 'none' },
      {
        serve: (_i, blob) =>
          Readable.from(
            (async function* () {
              for (let off = 0; off < blob.length; off += 256 * 1024) {
                yield blob.subarray(off, off + 256 * 1024);
                await new Promise((r) => setTimeout(r, 1));
              }
            })(),
          ),
      },
    );
    const fds = readdirSync('/proc/self/fd').length;
    const err = (await extractImage(image, rootfs, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytesRead > 4 * 1024 * 1024) controller.abort();
      },
    }).catch((e: unknown) => e)) as ExtractError;
    expect(err.code).toBe('ABORTED');
    expect(existsSync(rootfs)).toBe(false);
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
  });

  it('an already aborted signal creates nothing', async () => {
    const { image } = memoryImage({ layers: [[file('a', 'x')]] });
    await expect(extractImage(image, join(work.path, 'r'), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(readdirSync(work.path)).toEqual([]);
  });
});

describe.skipIf(!isRoot)('parity with umoci raw unpack', () => {
  it('gives the same tree (types, modes, owners, contents, link targets, mtimes) for a tricky image', async () => {
    const layers = [
      [
        dir('bin'),
        file('bin/tool', 'v1', { mode: 0o4755, uid: 0, gid: 0 }),
        hardlink('bin/tool2', 'bin/tool'),
        dir('etc', { mode: 0o750, uid: 0, gid: 42 }),
        file('etc/conf', 'a=1', { mode: 0o640, uid: 1000, gid: 1000 }),
        dir('var/lib/app', { mode: 0o700, uid: 999, gid: 999 }),
        file('var/lib/app/db', 'old'),
        file('var/lib/app/cache', 'old'),
        dir('opt/x'),
        file('opt/x/old', 'o'),
        symlink('usr-lib', 'usr/lib'),
        dir('tmp', { mode: 0o1777 }),
        fifo('run/pipe'),
        charDevice('dev/null', 1, 3),
        dir('ro', { mode: 0o555 }),
        file('ro/f', 'r', { mode: 0o444 }),
      ],
      [
        whiteout('var/lib/app/cache'),
        file('var/lib/app/db', 'new', { mtime: 1_700_000_500 }),
        dir('opt/x'),
        opaque('opt/x'),
        file('opt/x/new', 'n'),
        file('bin/tool', 'v2', { mode: 0o755 }),
        dir('usr-lib'),
        file('usr-lib/z', 'z'),
        file('ro/g', 'g'),
        file('etc', 'now a file'),
      ],
    ];
    const layout = join(work.path, 'layout');
    writeLayoutDir({ images: [{ layers, ref: 'latest' }] }, layout);
    const umociRoot = join(work.path, 'umoci');
    execFileSync('umoci', ['raw', 'unpack', '--image', `${layout}:latest`, umociRoot], { stdio: 'pipe' });
    const ours = join(work.path, 'ours');
    const { image } = memoryImage({ layers, ref: 'latest' });
    await extractImage(image, ours);
    const a = snapshot(umociRoot);
    const b = snapshot(ours);
    // Directories without an entry of their own get the time of extraction.
    for (const implicit of ['.', 'dev', 'run', 'var', 'var/lib', 'opt']) {
      for (const m of [a, b]) if (m.has(implicit)) m.set(implicit, { ...m.get(implicit)!, mtimeMs: 0 });
    }
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [p, info] of a) expect(b.get(p), p).toEqual(info);
    expect(lstatSync(join(ours, 'bin/tool2')).ino).not.toBe(lstatSync(join(ours, 'bin/tool')).ino); // tool was replaced
  });
});

describe.skipIf(!isRoot)('a full disk', () => {
  it.each(['thread', 'sync', 'pool'] as const)('is NO_SPACE naming layer and destination, and the rootfs is removed (%s writes)', async (mode) => {
    const small = join(work.path, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', small]);
    try {
      const rootfs = join(small, 'rootfs');
      const { image } = memoryImage({ layers: [Array.from({ length: 300 }, (_, i) => file(`f${i}`, 'x'.repeat(2000)))] });
      const err = (await extractImage(image, rootfs, { writeStrategy: { mode } }).catch((e: unknown) => e)) as ExtractError;
      expect(err).toBeInstanceOf(ExtractError);
      expect(err.code).toBe('NO_SPACE');
      expect(err.message).toContain(image.layers[0]!.digest);
      expect(err.message).toContain(rootfs);
      expect(readdirSync(small)).toEqual([]);
    } finally {
      execFileSync('umount', [small]);
    }
  });
});
