// Decompression stages: node:zlib for gzip (runs on the libuv thread pool, so it overlaps with
// file writes); for zstd, zstd-napi on a worker thread (zstd-thread.ts), an async generator that
// yields one output buffer at a time and honours backpressure: a zstd bomb cannot fill memory,
// however high its ratio.
import { createGunzip } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Compression } from './decompress-error.js';
import { zstdThreadStage } from './zstd-thread.js';

export { DecompressError, isZlibError, type Compression } from './decompress-error.js';

export type Stage = Transform | ((source: AsyncIterable<Buffer>, opts?: { signal?: AbortSignal }) => AsyncGenerator<Buffer>);

export function decompressor(compression: Compression): Stage | undefined {
  // The default finishFlush (Z_FINISH) reports a truncated or empty stream ("unexpected end of
  // file"): a layer without an expected diff_id must not be accepted half-read.
  if (compression === 'gzip') return createGunzip({ chunkSize: 1024 * 1024 });
  if (compression === 'zstd') return zstdThreadStage;
  return undefined;
}

/** True when layers of this compression are decompressed on a worker thread of their own. */
export function decompressesOnThread(compression: Compression): boolean {
  return compression === 'zstd';
}
