// Messages between zstd-thread.ts (main thread) and workers/zstd-worker.ts.

/** Main thread → zstd thread: start a stream, compressed input, its end, an empty output buffer. */
export type ToZstd = { op: 'begin' } | { op: 'data'; chunk: Uint8Array } | { op: 'end' } | { op: 'buffer'; buf: ArrayBuffer };

/** zstd thread → main thread: a filled output buffer, an input buffer given back, the stream's end. */
export type FromZstd =
  | { op: 'out'; buf: ArrayBuffer; length: number }
  | { op: 'consumed'; buf: ArrayBuffer; bytes: number }
  | { op: 'done' }
  | { op: 'error'; message: string };
