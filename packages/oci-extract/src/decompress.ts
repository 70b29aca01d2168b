// Decompression stages: node:zlib for gzip (runs on the libuv thread pool, so it overlaps with
// file writes); for zstd, zstd-napi on a worker thread (zstd-thread.ts), or on the main thread
// when asked. The zstd stages are async generators that yield one output buffer at a time and
// honour backpressure: a zstd bomb cannot fill memory, however high its ratio.
import { createGunzip } from 'node:zlib';
import type { Transform } from 'node:stream';
import zstdBinding from 'zstd-napi/binding.js';
import { DecompressError, type Compression } from './decompress-error.js';
import { zstdThreadStage } from './zstd-thread.js';

export { DecompressError, isZlibError, type Compression } from './decompress-error.js';

export type Stage = Transform | ((source: AsyncIterable<Buffer>, opts?: { signal?: AbortSignal }) => AsyncGenerator<Buffer>);

export function decompressor(compression: Compression): Stage | undefined {
  // The default finishFlush (Z_FINISH) reports a truncated or empty stream ("unexpected end of
  // file"): a layer without an expected diff_id must not be accepted half-read.
  if (compression === 'gzip') return createGunzip({ chunkSize: 1024 * 1024 });
  if (compression === 'zstd') return zstdMode() === 'main' ? zstdStage : zstdThreadStage;
  return undefined;
}

/** True when layers of this compression are decompressed on a worker thread of their own. */
export function decompressesOnThread(compression: Compression): boolean {
  return compression === 'zstd' && zstdMode() === 'thread';
}

/**
 * OCI_EXTRACT_ZSTD=thread|main (default thread: zstd-napi on a worker thread; main: zstd-napi on
 * the main thread): a knob for benchmarks and tests.
 */
function zstdMode(): 'thread' | 'main' {
  return process.env.OCI_EXTRACT_ZSTD === 'main' ? 'main' : 'thread';
}

// One idle decompression context is kept for the next layer: a DCtx holds the frame window
// (megabytes) and is only freed by the garbage collector.
let idle: InstanceType<typeof zstdBinding.DCtx> | undefined;

async function* zstdStage(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const dctx = idle ?? new zstdBinding.DCtx();
  idle = undefined;
  try {
    yield* zstdFrames(dctx, source);
  } finally {
    dctx.reset(zstdBinding.ResetDirective.sessionOnly);
    idle = dctx;
  }
}

/** Output buffer size. The buffer is filled across input chunks before it is yielded. Larger
 * buffers (512 KiB, 1 MiB) were ~15% faster but made peak RSS swing up to 155 MiB (garbage
 * buffers outliving the window of the in-process decoder), so this fallback keeps zstd's block size. */
const OUT_SIZE = zstdBinding.dStreamOutSize();

async function* zstdFrames(dctx: InstanceType<typeof zstdBinding.DCtx>, source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let inFrame = false;
  let empty = true;
  let dst = Buffer.allocUnsafe(OUT_SIZE);
  let filled = 0;
  for await (const chunk of source) {
    let src: Buffer = chunk;
    if (src.length > 0) empty = false;
    for (;;) {
      let ret: number, produced: number, consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(dst.subarray(filled), src);
      } catch (err) {
        throw new DecompressError('zstd', err instanceof Error ? err.message : String(err), { cause: err });
      }
      src = src.subarray(consumed);
      inFrame = ret !== 0;
      filled += produced;
      const full = filled === dst.length;
      if (full) {
        yield dst;
        dst = Buffer.allocUnsafe(OUT_SIZE);
        filled = 0;
      }
      // Input used up and the context holds no more output for now.
      if (src.length === 0 && !full) break;
    }
  }
  if (filled > 0) yield dst.subarray(0, filled);
  if (empty) throw new DecompressError('zstd', 'empty stream (no zstd frame)');
  if (inFrame) throw new DecompressError('zstd', 'stream ended in the middle of a frame');
}
