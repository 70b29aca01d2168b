// zstd layers, decompressed by zstd-napi on a worker thread: concatenated frames, typed errors
// for bad data, and a failed layer leaves no thread behind.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTar, compressBuffer, file, hardlink, tempDir } from '@oci2lxc/fixtures';
import { OciImageError } from '@oci2lxc/oci-tar-image';
import { applyLayer, ExtractError } from '../src/index.js';
import { layerStream } from './helpers.js';

let work: { path: string; cleanup: () => void };
let rootfs: string;
beforeEach(() => {
  work = tempDir('oci-extract-zstd-');
  rootfs = join(work.path, 'rootfs');
  mkdirSync(rootfs);
});
afterEach(() => work.cleanup());

/** Threads of this process (worker threads included). */
function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

let baseline = 0;
/** A failed layer terminates its decompression thread: the thread count falls back to where it was. */
async function noLeakedThreads(): Promise<void> {
  for (let i = 0; i < 100 && threadCount() > baseline; i++) await new Promise((r) => setTimeout(r, 20));
  expect(threadCount()).toBeLessThanOrEqual(baseline);
}

/** Bytes that compress a little (not all zeros), deterministic. */
function random(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7919 + (i >> 9)) % 251;
  return b;
}

describe('zstd on its worker thread', () => {
  beforeAll(async () => {
    // Warm up (the libuv pool, a pooled decompression thread), then take the thread count.
    const dir = tempDir('oci-extract-zstd-warm-');
    try {
      await applyLayer(Readable.from([compressBuffer(buildTar([file('a', 'a')]), 'zstd')]), dir.path, { compression: 'zstd' });
    } finally {
      dir.cleanup();
    }
    baseline = threadCount();
  });

  it('applies several concatenated frames, many small and some large files, with the right diff_id', async () => {
    const part1 = buildTar([file('big', random(3 * 1024 * 1024 + 17)), ...Array.from({ length: 200 }, (_, i) => file(`s/${i}`, `small ${i}`))]);
    const part2 = buildTar([file('tail', 'end')]);
    // A tar split across two zstd frames (as pigz-like tools and `zstd --rsyncable` may write).
    const tar = Buffer.concat([part1.subarray(0, part1.length - 1024), part2]);
    const cut = 1_000_003;
    const blob = Buffer.concat([compressBuffer(tar.subarray(0, cut), 'zstd'), compressBuffer(tar.subarray(cut), 'zstd')]);
    const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
    const res = await applyLayer(layerStream(blob, 65_521), rootfs, { compression: 'zstd', expectedDiffId: diffId });
    expect(res.diffId).toBe(diffId);
    expect(readFileSync(join(rootfs, 'big')).equals(random(3 * 1024 * 1024 + 17))).toBe(true);
    expect(readFileSync(join(rootfs, 's/199'), 'utf8')).toBe('small 199');
    expect(readFileSync(join(rootfs, 'tail'), 'utf8')).toBe('end');
    await noLeakedThreads();
  });

  it.each([
    ['truncated', (b: Buffer) => b.subarray(0, b.length - 50)],
    ['cut in half', (b: Buffer) => b.subarray(0, b.length >> 1)],
    ['garbage after the frame', (b: Buffer) => Buffer.concat([b, Buffer.from('garbage!')])],
    ['a flipped byte', (b: Buffer) => Buffer.from(b.map((x, i) => (i === b.length - 100 ? x ^ 0xff : x)))],
    ['empty', () => Buffer.alloc(0)],
    ['gzip bytes', () => compressBuffer(buildTar([file('a', 'a')]), 'gzip')],
  ])('%s: CORRUPT_LAYER without an expected diff_id, no thread left', async (_n, mutate) => {
    const blob = compressBuffer(buildTar([file('big', random(600_000)), file('after', 'x')]), 'zstd');
    const err = (await applyLayer(Readable.from([mutate(blob)]), rootfs, { compression: 'zstd', layerDigest: 'sha256:cafe' }).catch((e: unknown) => e)) as ExtractError;
    expect(err).toBeInstanceOf(ExtractError);
    expect(err.code).toBe('CORRUPT_LAYER');
    expect(err.message).toContain('sha256:cafe');
    expect(err.message).not.toMatch(/[\x00-\x1f]/);
    await noLeakedThreads();
  });

  it('an entry failing early in a large layer stops decompression and leaves no thread behind', async () => {
    const tar = buildTar([hardlink('h', 'missing'), file('big', Buffer.alloc(64 * 1024 * 1024, 3))]);
    const err = (await applyLayer(Readable.from([compressBuffer(tar, 'zstd')]), rootfs, { compression: 'zstd' }).catch((e: unknown) => e)) as ExtractError;
    expect(err.code).toBe('HARDLINK_TARGET_MISSING');
    expect(readdirSync(rootfs)).toEqual([]);
    await noLeakedThreads();
  });

  it('an error of the source (e.g. its compressed digest) wins and leaves no thread behind', async () => {
    const blob = compressBuffer(buildTar([file('big', random(2_000_000))]), 'zstd');
    const source = new Readable({
      read() {
        this.push(blob.subarray(0, blob.length >> 1));
        this.destroy(new OciImageError('DIGEST_MISMATCH', 'stored digest differs'));
      },
    });
    const err = await applyLayer(source, rootfs, { compression: 'zstd' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OciImageError);
    await noLeakedThreads();
  });
});

it('a pooled decompression thread does not keep the process alive', () => {
  // The built package, in a process of its own: it must exit by itself after a zstd layer.
  const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const dir = tempDir('oci-extract-zstd-exit-');
  try {
    const blob = compressBuffer(buildTar([file('a', 'hello')]), 'zstd');
    const script = `import { applyLayer } from ${JSON.stringify(dist)};
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
const r = await applyLayer(Readable.from([Buffer.from(process.argv[1], 'base64')]), process.argv[2], { compression: 'zstd' });
console.log(r.entries);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, blob.toString('base64'), dir.path], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('1');
    expect(readFileSync(join(dir.path, 'a'), 'utf8')).toBe('hello');
  } finally {
    dir.cleanup();
  }
});
