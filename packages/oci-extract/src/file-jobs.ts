// Bounded write-behind for small regular files. Creating a file costs several syscalls (open,
// write, chown, chmod, utimes, close); running a few files' syscalls concurrently on the libuv
// thread pool, while the main thread parses the next entries, keeps extraction fast when the disk
// is slow or busy. Only file *creation at a name known to be free, in a directory known to be
// real* is deferred; every other namespace change first waits for the jobs in flight (see
// rootfs-writer.ts), so effects still happen in archive order. The same steps as runJobSync
// (write-file.ts), as a callback chain: the one asynchronous copy of the sequence.
import { close, fchmod, fchown, futimes, link, open, writev } from 'node:fs';
import { fsTime } from './times.js';
import { skipBytes, type FileJob } from './write-file.js';

/** Jobs in flight at most (and so at most this many small bodies buffered). */
const MAX_JOBS = 16;

type Done = (err: NodeJS.ErrnoException | null) => void;

/** open → writev… → fchown? → fchmod? → futimes → close, as a callback chain (no promise per step). */
function runJob(j: FileJob, done: Done): void {
  if (j.linkTarget) return link(j.linkTarget, j.host, done);
  open(j.host, j.flags, j.createMode, (err, fd) => {
    if (err) return done(err);
    const finish = (e: NodeJS.ErrnoException | null): void => close(fd, (e2) => done(e ?? e2));
    const times = (): void => futimes(fd, fsTime(j.atime), fsTime(j.mtime), finish);
    const chmod = (): void => (j.mode !== undefined ? fchmod(fd, j.mode, (e) => (e ? finish(e) : times())) : times());
    const chown = (): void => (j.chown ? fchown(fd, j.chown.uid, j.chown.gid, (e) => (e ? finish(e) : chmod())) : chmod());
    let chunks = j.chunks;
    let left = chunks.reduce((n, c) => n + c.length, 0);
    const write = (): void => {
      if (left === 0) return chown();
      writev(fd, chunks, (e, n) => {
        if (e) return finish(e);
        left -= n;
        if (left > 0) chunks = skipBytes(chunks, n);
        write();
      });
    };
    write();
  });
}

export class FileJobs {
  private readonly inflight = new Set<string>();
  private readonly slotWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private failure: unknown;

  get size(): number {
    return this.inflight.size;
  }

  has(rel: string): boolean {
    return this.inflight.has(rel);
  }

  constructor(private readonly wrapError: (err: unknown, path: string) => unknown) {}

  /** Starts a job for `rel`, the file of entry `path` (waits for a free slot); `wrap`, if given,
   * maps its failure instead of the default. */
  async submit(rel: string, job: FileJob, path: string, wrap?: (err: unknown) => unknown): Promise<void> {
    while (this.inflight.size >= MAX_JOBS) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.check();
    this.inflight.add(rel);
    runJob(job, (err) => {
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
  async drain(): Promise<void> {
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
