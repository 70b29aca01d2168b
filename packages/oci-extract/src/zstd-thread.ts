// zstd decompression on a worker thread (zstd-napi), so that the main thread only hashes, parses
// and writes while the second core decompresses. Compressed chunks go in as transferred copies
// (their buffers come back for reuse); decompressed bytes come out in 1 MiB buffers, transferred,
// not copied. Few, large hand-offs matter: a `zstd -dc` child's 64 KiB pipe reads left both sides
// waiting on each other ~30 % of the time.
// Backpressure both ways: at most IN_WINDOW compressed bytes wait in the thread, and the thread
// only writes into the OUT_BUFFERS empty buffers it was given, so a zstd bomb cannot fill memory.
// Threads are pooled: one per concurrent layer stream, kept (unref'd) for the next layer, and
// terminated whenever a stream ends early (failed layer, abort, source error).
import { createRequire } from 'node:module';
import type zstdBindingModule from 'zstd-napi/binding.js';
import { DecompressError } from './decompress-error.js';
import { threadFailure } from './errors.js';
import { ThreadPool } from './thread-pool.js';

const OUT_SIZE = 1024 * 1024;
const OUT_BUFFERS = 4;
const IN_CHUNK = 256 * 1024;
const IN_WINDOW = 1024 * 1024;

type ToThread = { op: 'begin' } | { op: 'data'; chunk: Uint8Array } | { op: 'end' } | { op: 'buffer'; buf: ArrayBuffer };
type FromThread =
  | { op: 'out'; buf: ArrayBuffer; length: number }
  | { op: 'consumed'; buf: ArrayBuffer; bytes: number }
  | { op: 'done' }
  | { op: 'error'; message: string };

/**
 * The worker's program. It is sent to the thread as source text (`eval`), so it must not use
 * anything from this module's scope: `load` is a `require` made in the thread.
 */
function threadMain(load: (id: string) => unknown, bindingPath: string): void {
  const { parentPort } = load('node:worker_threads') as typeof import('node:worker_threads');
  const port = parentPort;
  if (!port) return;
  const post = (m: FromThread, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
  const EMPTY = new Uint8Array(0);
  let binding: typeof zstdBindingModule | undefined;
  let dctx: InstanceType<typeof zstdBindingModule.DCtx> | undefined;

  // Per stream.
  let queue: Uint8Array[] = [];
  let chunk: Uint8Array = EMPTY; // the input chunk being decompressed
  let src: Uint8Array | null = null; // what is left of it
  let ended = false;
  let stopped = true;
  let free: Uint8Array[] = []; // empty output buffers given by the main thread
  let out: Uint8Array | null = null;
  let filled = 0;
  let pending = false; // the last call filled the output: the context may hold more
  let inFrame = false;
  let empty = true;

  const stop = (m: FromThread): void => {
    if (stopped) return;
    stopped = true;
    post(m);
  };
  const flush = (): void => {
    if (!out) return;
    const buf = out.buffer as ArrayBuffer;
    post({ op: 'out', buf, length: filled }, [buf]);
    out = free.shift() ?? null;
    filled = 0;
  };
  const finish = (): void => {
    if (filled > 0) flush();
    if (empty) stop({ op: 'error', message: 'empty stream (no zstd frame)' });
    else if (inFrame) stop({ op: 'error', message: 'stream ended in the middle of a frame' });
    else stop({ op: 'done' });
  };
  const step = (): void => {
    while (!stopped && dctx) {
      if (src === null && !pending) {
        const next = queue.shift();
        if (next === undefined) {
          if (ended) finish();
          return;
        }
        src = chunk = next;
        if (next.length > 0) empty = false;
      }
      if (!out) return; // wait for an output buffer
      const input = src ?? EMPTY;
      let ret: number, produced: number, used: number;
      try {
        [ret, produced, used] = dctx.decompressStream(out.subarray(filled), input);
      } catch (err) {
        stop({ op: 'error', message: err instanceof Error ? err.message : String(err) });
        return;
      }
      inFrame = ret !== 0;
      filled += produced;
      if (src !== null) {
        if (used < input.length) src = input.subarray(used);
        else {
          src = null;
          const buf = chunk.buffer as ArrayBuffer; // back to the main thread for reuse
          post({ op: 'consumed', buf, bytes: chunk.length }, [buf]);
        }
      }
      pending = filled === out.length;
      if (pending) flush();
    }
  };

  port.on('message', (m: ToThread) => {
    if (m.op === 'begin') {
      binding ??= load(bindingPath) as typeof zstdBindingModule;
      if (dctx) dctx.reset(binding.ResetDirective.sessionOnly);
      else dctx = new binding.DCtx();
      queue = [];
      chunk = EMPTY;
      src = null;
      ended = false;
      stopped = false;
      free = [];
      out = null;
      filled = 0;
      pending = false;
      inFrame = false;
      empty = true;
      return;
    }
    if (m.op === 'data') queue.push(m.chunk);
    else if (m.op === 'end') ended = true;
    else if (out) free.push(new Uint8Array(m.buf));
    else out = new Uint8Array(m.buf);
    step();
  });
}

const pool = new ThreadPool(threadMain.toString(), () => [createRequire(import.meta.url).resolve('zstd-napi/binding.js')]);

/** A pipeline stage: zstd chunks in, decompressed 1 MiB buffers out. */
export async function* zstdThreadStage(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const worker = pool.take();
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
  const onMessage = (m: FromThread): void => {
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
  const send = (m: ToThread, transfer?: ArrayBuffer[]): void => worker.postMessage(m, transfer);
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
    pool.give(worker, clean);
  }
}
