// A worker thread that dies mid-layer (terminated here, as a crash or an out-of-memory kill would
// end it) is an I/O failure of the extraction, not bad layer data: ExtractError IO_ERROR naming
// the layer, and the destination left as it was found.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dir, file, tempDir } from '@oci2lxc/fixtures';
import { ExtractError, extractImage } from '../src/index.js';
import { writerThreads } from '../src/write-thread.js';
import { zstdThreads } from '../src/zstd-thread.js';
import { memoryImage } from './helpers.js';

let work: { path: string; cleanup: () => void };
beforeEach(() => {
  work = tempDir('oci-extract-thread-failure-');
});
afterEach(() => {
  writerThreads.onTake = undefined;
  zstdThreads.onTake = undefined;
  work.cleanup();
});

/** Many small files: the writer thread gets several batches. */
const smallFiles = Array.from({ length: 2000 }, (_, i) => file(`d${i % 20}/f${i}`, `file ${i} `.repeat(40)));

describe.each([
  // One writer thread serves the whole extraction, taken at the first small file: the lower layer
  // has none. Each zstd layer takes a decompression thread: the second one is killed.
  { thread: 'writer', pool: writerThreads, compression: 'gzip' as const, killAt: 1 },
  { thread: 'zstd', pool: zstdThreads, compression: 'zstd' as const, killAt: 2 },
])('the $thread thread terminated mid-layer', ({ pool, compression, killAt }) => {
  it.each(['absent', 'empty'])('is ExtractError IO_ERROR, and the %s destination is as found', async (state) => {
    const { image } = memoryImage({ layers: [[dir('lower'), dir('lower/sub')], smallFiles], compression });
    const rootfs = join(work.path, 'rootfs');
    if (state === 'empty') mkdirSync(rootfs);
    const killed: Worker[] = [];
    // A thread of the second layer: the first layer is on disk when it dies.
    let taken = 0;
    pool.onTake = (w) => {
      if (++taken !== killAt) return;
      killed.push(w);
      void w.terminate();
    };
    const err = await extractImage(image, rootfs).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(killed.length).toBe(1);
    expect(err).toBeInstanceOf(ExtractError);
    expect((err as ExtractError).code).toBe('IO_ERROR');
    expect((err as ExtractError).message).toMatch(/thread (failed|exited)/);
    expect((err as ExtractError).layer).toBe(image.layers[1]!.digest);
    if (state === 'empty') expect(readdirSync(rootfs)).toEqual([]);
    else expect(readdirSync(work.path)).toEqual([]);
    expect(pool.inUse).toBe(0);
  });
});
