// Decompression stages: node:zlib for gzip (runs on the libuv thread pool, so it overlaps with
// file writes), zstd-napi's streaming context for zstd. The zstd stage is an async generator so
// that it yields one output buffer at a time and honours backpressure: a zstd bomb cannot fill
// memory, however high its ratio.
import { createGunzip } from 'node:zlib';
import type { Transform } from 'node:stream';
import zstdBinding from 'zstd-napi/binding.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export type Stage = Transform | ((source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>);

/** The stream is not valid gzip/zstd data (bad header, corrupt or truncated stream). */
export class DecompressError extends Error {
  override readonly name = 'DecompressError';
  constructor(
    readonly compression: Compression,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** zlib's errors carry `Z_DATA_ERROR`, `Z_BUF_ERROR` (truncated), … as their code. */
export function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('Z_');
}

export function decompressor(compression: Compression): Stage | undefined {
  // The default finishFlush (Z_FINISH) reports a truncated or empty stream ("unexpected end of
  // file"): a layer without an expected diff_id must not be accepted half-read.
  if (compression === 'gzip') return createGunzip({ chunkSize: 128 * 1024 });
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
  let empty = true;
  for await (const chunk of source) {
    let src: Buffer = chunk;
    if (src.length > 0) empty = false;
    for (;;) {
      const dst = Buffer.allocUnsafe(outSize);
      let ret: number, produced: number, consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(dst, src);
      } catch (err) {
        throw new DecompressError('zstd', err instanceof Error ? err.message : String(err), { cause: err });
      }
      src = src.subarray(consumed);
      inFrame = ret !== 0;
      if (produced > 0) yield dst.subarray(0, produced);
      if (src.length === 0 && (produced < dst.length || ret === 0)) break;
    }
  }
  if (empty) throw new DecompressError('zstd', 'empty stream (no zstd frame)');
  if (inFrame) throw new DecompressError('zstd', 'stream ended in the middle of a frame');
}
