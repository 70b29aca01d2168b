// Decompression stages: node:zlib for gzip (runs on the libuv thread pool, so it overlaps with
// file writes), zstd-napi's streaming context for zstd. The zstd stage is an async generator so
// that it yields one output buffer at a time and honours backpressure: a zstd bomb cannot fill
// memory, however high its ratio.
import { createGunzip, constants as zc } from 'node:zlib';
import type { Transform } from 'node:stream';
import zstdBinding from 'zstd-napi/binding.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export type Stage = Transform | ((source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>);

export function decompressor(compression: Compression): Stage | undefined {
  if (compression === 'gzip') return createGunzip({ chunkSize: 128 * 1024, finishFlush: zc.Z_SYNC_FLUSH });
  if (compression === 'zstd') return zstdStage;
  return undefined;
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

async function* zstdFrames(dctx: InstanceType<typeof zstdBinding.DCtx>, source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const outSize = zstdBinding.dStreamOutSize();
  let inFrame = false;
  for await (const chunk of source) {
    let src: Buffer = chunk;
    for (;;) {
      const dst = Buffer.allocUnsafe(outSize);
      const [ret, produced, consumed] = dctx.decompressStream(dst, src);
      src = src.subarray(consumed);
      inFrame = ret !== 0;
      if (produced > 0) yield dst.subarray(0, produced);
      if (src.length === 0 && (produced < dst.length || ret === 0)) break;
    }
  }
  if (inFrame) throw new Error('zstd stream ended in the middle of a frame');
}
