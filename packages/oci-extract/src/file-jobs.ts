// The 'pool' route: bounded write-behind for small regular files. Creating a file costs several
// syscalls (open, write, chown, chmod, utimes, close); running a few files' syscalls concurrently
// on the libuv thread pool, while the main thread parses the next entries, keeps extraction fast
// when the disk is slow or busy. A FileSink (file-sink.ts): what may be deferred and when the
// RootfsWriter waits is said there. Jobs finish in any order, so a hardlink is never queued
// behind its target. The file sequence is write-file.ts's runJob, over the pool's callbacks.
import { close, fchmod, fchown, futimes, link, open, writev } from 'node:fs';
import { oneRoute, type FileSink, type WrapError, type WrapOne } from './file-sink.js';
import { runJob, skipBytes, type FileJob, type FileOps } from './write-file.js';
import type { WriteRoutes } from './write-strategy.js';

/** Jobs in flight at most (and so at most this many small bodies buffered). */
const MAX_JOBS = 16;

/** The libuv pool's callbacks (no promise per step). */
const poolOps: FileOps = {
  open: (path, flags, mode, k) => open(path, flags, mode, k),
  write(fd, j, k) {
    let chunks = j.chunks;
    let left = chunks.reduce((n, c) => n + c.length, 0);
    const step = (): void => {
      if (left === 0) return k(null);
      writev(fd, chunks, (e, n) => {
        if (e) return k(e);
        left -= n;
        if (left > 0) chunks = skipBytes(chunks, n);
        step();
      });
    };
    step();
  },
  fchown: (fd, uid, gid, k) => fchown(fd, uid, gid, k),
  fchmod: (fd, mode, k) => fchmod(fd, mode, k),
  futimes: (fd, atime, mtime, k) => futimes(fd, atime, mtime, k),
  close: (fd, k) => close(fd, k),
  link: (existing, path, k) => link(existing, path, k),
};

export class PoolSink implements FileSink {
  private readonly inflight = new Set<string>();
  private submitted = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private failure: unknown;

  get size(): number {
    return this.inflight.size;
  }

  has(rel: string): boolean {
    return this.inflight.has(rel);
  }

  constructor(private readonly wrapError: WrapError) {}

  /** Jobs finish in any order. */
  linksBehind(): boolean {
    return false;
  }

  beginLayer(): void {}

  get routes(): WriteRoutes {
    return oneRoute('pool', this.submitted);
  }

  /** Starts a job for `rel`, the file of entry `path` (waits for a free slot); `wrap`, if given,
   * maps its failure instead of the default. */
  async submit(rel: string, job: FileJob, path: string, wrap?: WrapOne): Promise<void> {
    while (this.inflight.size >= MAX_JOBS) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.check();
    this.inflight.add(rel);
    this.submitted++;
    runJob(poolOps, job, (err) => {
      if (err) this.failure ??= wrap ? wrap(err) : this.wrapError(err, path);
      this.inflight.delete(rel);
      this.slotWaiters.shift()?.();
      if (this.inflight.size === 0) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    });
  }

  /** Waits for every job; throws the first failure. */
  async barrier(): Promise<void> {
    await this.settle();
    this.check();
  }

  /** Waits for every job without throwing (clean-up after a failure). */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Nothing to release (the libuv pool is Node's own). */
  close(): void {}
}
