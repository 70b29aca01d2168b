// A Readable's chunks one by one, as they arrived. `for await (… of readable)` hands out
// everything buffered at once, joined by Buffer.concat: for a blob read from a fast socket by a
// slower consumer that is a copy (and a fresh allocation) of most of its bytes. Here each chunk
// is passed on as it is, and the stream is paused while more than `highWaterMark` bytes wait.
import type { Readable } from 'node:stream';

export async function* eachChunk(stream: Readable, highWaterMark = 1 << 20): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let head = 0;
  let queued = 0;
  let ended = false;
  let error: unknown;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= highWaterMark) stream.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (err: unknown): void => {
    error ??= err;
    notify();
  };
  // Closed without 'end' and without an error: the body was cut off.
  const onClose = (): void => {
    if (!ended) error ??= Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    notify();
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  try {
    for (;;) {
      if (head < queue.length) {
        const chunk = queue[head]!;
        queue[head++] = EMPTY;
        if (head > 1024) {
          queue.splice(0, head);
          head = 0;
        }
        queued -= chunk.length;
        if (queued < highWaterMark && stream.isPaused() && error === undefined && !ended) stream.resume();
        yield chunk;
        continue;
      }
      if (error !== undefined) throw error;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
    if (!ended) stream.destroy();
  }
}

const EMPTY = Buffer.alloc(0);
