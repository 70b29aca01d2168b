// The zstd decompression thread (see zstd-thread.ts): zstd-napi's streaming context, fed by
// the main thread's chunks, writing only into the output buffers the main thread gave it.
import { parentPort } from 'node:worker_threads';
import binding from 'zstd-napi/binding.js';
import type { FromZstd, ToZstd } from './zstd-layout.js';

const port = parentPort;
if (port) {
  const post = (m: FromZstd, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
  const EMPTY = new Uint8Array(0);
  let dctx: InstanceType<typeof binding.DCtx> | undefined;

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

  const stop = (m: FromZstd): void => {
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

  port.on('message', (m: ToZstd) => {
    if (m.op === 'begin') {
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
