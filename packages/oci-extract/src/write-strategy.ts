// How small files are written, as an option (benchmarks and tests pin a route), and the counts of
// files each route wrote (so a test knows which route actually ran).
import { ExtractError } from './errors.js';

/**
 * 'auto' (default): the writer thread while the file system is fast, the libuv pool while it is
 * slow, the main thread for layers decompressed on a thread of their own (zstd); 'thread',
 * 'pool' and 'sync' (the main thread, synchronous syscalls) pin one route.
 */
export type WriteMode = 'auto' | 'thread' | 'pool' | 'sync';

export interface WriteStrategy {
  mode?: WriteMode;
  /** In 'auto', a file taking longer than this (ns; default 150 µs) counts as slow; 0 makes
   * every file system slow (the mixed thread + pool mode). */
  slowFileNs?: number;
}

/** Small files (≤ 1 MiB) and hardlinks queued behind them, by where they were written. */
export interface WriteRoutes {
  /** On the main thread, synchronously. */
  sync: number;
  /** By the writer thread. */
  thread: number;
  /** By the libuv pool. */
  pool: number;
}

export const DEFAULT_SLOW_FILE_NS = 150_000;

const MODES: readonly WriteMode[] = ['auto', 'thread', 'pool', 'sync'];

/** The strategy with defaults filled in; INVALID_ARGUMENT for a value that is not one. */
export function writeStrategy(s: WriteStrategy | undefined): Required<WriteStrategy> {
  const mode = s?.mode ?? 'auto';
  if (!MODES.includes(mode)) throw new ExtractError('INVALID_ARGUMENT', `writeStrategy.mode must be one of ${MODES.join(', ')}, not ${JSON.stringify(mode)}`);
  const slowFileNs = s?.slowFileNs ?? DEFAULT_SLOW_FILE_NS;
  if (!Number.isFinite(slowFileNs) || slowFileNs < 0) throw new ExtractError('INVALID_ARGUMENT', `writeStrategy.slowFileNs must be a number >= 0, not ${String(slowFileNs)}`);
  return { mode, slowFileNs };
}
