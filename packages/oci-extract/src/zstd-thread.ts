// zstd decompression on a worker thread (zstd-napi), so that the main thread only hashes, parses
// and writes while the second core decompresses. Compressed chunks go in as transferred copies
// (their buffers come back for reuse); decompressed bytes come out in 1 MiB buffers, transferred,
// not copied. Few, large hand-offs matter: a `zstd -dc` child's 64 KiB pipe reads left both sides
// waiting on each other ~30 % of the time.
// Backpressure both ways: at most IN_WINDOW compressed bytes wait in the thread, and the thread
// only writes into the OUT_BUFFERS empty buffers it was given, so a zstd bomb cannot fill memory.
// Threads are pooled: one per concurrent layer stream, kept (unref'd) for the next layer, and
// terminated whenever a stream ends early (failed layer, abort, source error).
import { DecompressError } from './decompress-error.js';
import { threadFailure } from './errors.js';
import { ThreadPool } from './thread-pool.js';
import type { FromZstd, ToZstd } from './workers/zstd-layout.js';

const OUT_SIZE = 1024 * 1024;
const OUT_BUFFERS = 4;
const IN_CHUNK = 256 * 1024;
const IN_WINDOW = 1024 * 1024;

/** The zstd threads: one per concurrent layer stream. */
export const zstdThreads = new ThreadPool('zstd-worker');

/** A pipeline stage: zstd chunks in, decompressed 1 MiB buffers out. */
export async function* zstdThreadStage(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const worker = zstdThreads.take();
  const ready: Buffer[] = [];
  const spare: ArrayBuffer[] = [];
  let failure: Error | undefined;
  let done = false;
  let clean = false;
  let stop = false;
  let waiting = 0; // compressed bytes sent, not yet consumed
  let wake: (() => void) | undefined;
  let wakeFeeder: (() => void) | undefined;
  const wakeAll = (): void => {
    const a = wake;
    const b = wakeFeeder;
    wake = wakeFeeder = undefined;
    a?.();
    b?.();
  };
  const onMessage = (m: FromZstd): void => {
    if (m.op === 'out') ready.push(Buffer.from(m.buf, 0, m.length));
    else if (m.op === 'consumed') {
      waiting -= m.bytes;
      if (spare.length < IN_WINDOW / IN_CHUNK) spare.push(m.buf);
    } else if (m.op === 'done') done = true;
    else failure ??= new DecompressError('zstd', m.message);
    wakeAll();
  };
  // The thread itself failing is not the layer's fault: an I/O error (IO_ERROR), not bad data.
  const onError = (err: Error): void => {
    failure ??= threadFailure(`zstd decompression thread failed: ${err.message}`, err);
    wakeAll();
  };
  const onExit = (code: number): void => {
    failure ??= threadFailure(`zstd decompression thread exited (status ${code})`);
    wakeAll();
  };
  worker.on('message', onMessage);
  worker.on('error', onError);
  worker.on('exit', onExit);
  const send = (m: ToZstd, transfer?: ArrayBuffer[]): void => worker.postMessage(m, transfer);
  // Output buffers are allocated here, not in the thread: V8 paces this thread's garbage
  // collection by what it allocates, and buffers that only arrive (transferred) would pile up.
  const giveBuffer = (): void => {
    const buf = new ArrayBuffer(OUT_SIZE);
    send({ op: 'buffer', buf }, [buf]);
  };
  send({ op: 'begin' });
  for (let i = 0; i < OUT_BUFFERS; i++) giveBuffer();

  let sourceError: unknown;
  const feeder = (async (): Promise<void> => {
    try {
      for await (const chunk of source) {
        // Copies of our own to transfer (the source's chunks may share one pooled ArrayBuffer),
        // in reused IN_CHUNK buffers.
        for (let off = 0; off < chunk.length; off += IN_CHUNK) {
          if (stop || failure) return;
          const part = chunk.subarray(off, off + IN_CHUNK);
          const buf = spare.pop() ?? new ArrayBuffer(IN_CHUNK);
          const copy = new Uint8Array(buf, 0, part.length);
          copy.set(part);
          waiting += part.length;
          send({ op: 'data', chunk: copy }, [buf]);
          while (waiting > IN_WINDOW && !stop && !failure) await new Promise<void>((r) => (wakeFeeder = r));
        }
      }
      if (!stop) send({ op: 'end' });
    } catch (err) {
      sourceError = err; // the source's own error (e.g. the layer's digest) wins
      wakeAll();
    }
  })();

  try {
    for (;;) {
      const buf = ready.shift();
      if (buf) {
        yield buf;
        giveBuffer();
        continue;
      }
      if (sourceError !== undefined) throw sourceError;
      if (failure) throw failure;
      if (done) break;
      await new Promise<void>((r) => (wake = r));
    }
    await feeder;
    if (sourceError !== undefined) throw sourceError;
    clean = true;
  } finally {
    stop = true;
    wakeAll();
    worker.off('message', onMessage);
    worker.off('error', onError);
    worker.off('exit', onExit);
    zstdThreads.give(worker, clean);
  }
}
