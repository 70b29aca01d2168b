// Where small files (≤ SMALL_FILE, bodies in memory) are written: one interface, three sinks —
// here and now (SyncSink), one writer thread in batches (ThreadSink, write-thread.ts), several
// files at once on the libuv pool (PoolSink, file-jobs.ts) — and the adaptive mix of them that
// 'auto' uses (AutoSink, auto-sink.ts). The sink is chosen once, from the write strategy.
// A sink only ever *creates a file at a name known to be free, in a directory known to be real*
// (or a hardlink queued behind its target): when anything else may touch a queued name, the
// RootfsWriter calls barrier() first. That rule lives in rootfs-writer.ts and nowhere else.
import { runJobSync, type FileJob } from './write-file.js';
import type { WriteRoutes } from './write-strategy.js';

/** Turns a failure of the file queued for entry `path` into that entry's error. */
export type WrapError = (err: unknown, path: string) => unknown;

/** A per-file error mapping other than the sink's default (hardlinks: ENOENT is "target missing"). */
export type WrapOne = (err: unknown) => unknown;

export interface FileSink {
  /** Writes the file of entry `path` at `rel`, now or behind (may wait for room first). `wrap`,
   * if given, maps its failure instead of the default. A job with `linkTarget` is a hardlink,
   * only submitted when linksBehind(target) said so. */
  submit(rel: string, job: FileJob, path: string, wrap?: WrapOne): Promise<void> | void;
  /** Waits until every file submitted so far is on disk; throws the first failure. */
  barrier(): Promise<void>;
  /** After a failure elsewhere: lets what was submitted be written (or dropped, when the sink
   * broke), without throwing. */
  settle(): Promise<void>;
  /** Gives back what the sink holds (threads). Call when settled. */
  close(): void;
  /** Throws the first failure of a file written behind, if any. */
  check(): void;
  /** True while a file submitted at `rel` is not yet on disk. */
  has(rel: string): boolean;
  /** Names not yet on disk. */
  readonly size: number;
  /** True when a hardlink to `target` (not yet on disk) submitted now is made after it. */
  linksBehind(target: string): boolean;
  /** For the next layer: true when it is decompressed on a thread of its own. */
  beginLayer(decompressingOnThread: boolean): void;
  /** Files written so far, by route. */
  readonly routes: WriteRoutes;
}

/** Counts for a sink that is one route. */
export function oneRoute(route: keyof WriteRoutes, n: number): WriteRoutes {
  return { sync: 0, thread: 0, pool: 0, [route]: n };
}

/** The 'sync' route: each file written here, now, with synchronous syscalls (like tar). */
export class SyncSink implements FileSink {
  private written = 0;

  constructor(private readonly wrapError: WrapError) {}

  submit(_rel: string, job: FileJob, path: string, wrap?: WrapOne): void {
    this.written++;
    try {
      runJobSync(job);
    } catch (err) {
      throw wrap ? wrap(err) : this.wrapError(err, path);
    }
  }

  barrier(): Promise<void> {
    return Promise.resolve();
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}

  check(): void {}

  has(): boolean {
    return false;
  }

  get size(): number {
    return 0;
  }

  linksBehind(): boolean {
    return false;
  }

  beginLayer(): void {}

  get routes(): WriteRoutes {
    return oneRoute('sync', this.written);
  }
}
