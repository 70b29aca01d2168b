// Bounded write-behind for small regular files. Creating a file costs several syscalls (open,
// write, chown, chmod, utimes, close); running a few files' syscalls concurrently on the libuv
// thread pool, while the main thread parses the next entries, keeps extraction fast when the disk
// is slow or busy. Only file *creation at a name known to be free, in a directory known to be
// real* is deferred; every other namespace change first waits for the jobs in flight (see
// Applier), so effects still happen in archive order.
import { close, closeSync, fchmod, fchmodSync, fchown, fchownSync, futimes, futimesSync, link, linkSync, open, openSync, writeSync, writev, writevSync } from 'node:fs';
import { fsTime } from './times.js';

/** Bodies up to this size are buffered and written by a job; larger ones are streamed inline. */
export const SMALL_FILE = 1024 * 1024;
/** Jobs in flight at most (and so at most this many small bodies buffered). */
const MAX_JOBS = 16;

export interface FileJob {
  host: Buffer;
  flags: number;
  createMode: number;
  chunks: Buffer[];
  chown?: { uid: number; gid: number };
  /** Set when the create mode is not enough (umask, special bits). */
  mode?: number;
  atime: number;
  mtime: number;
  /** Set for a hardlink: link(2) from this existing path to `host`; nothing else is done. */
  linkTarget?: Buffer;
}

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

/** The same job, done here and now (synchronous syscalls: the least CPU per file). */
export function runJobSync(j: FileJob): void {
  if (j.linkTarget) return linkSync(j.linkTarget, j.host);
  const fd = openSync(j.host, j.flags, j.createMode);
  try {
    writeChunks(fd, j.chunks);
    if (j.chown) fchownSync(fd, j.chown.uid, j.chown.gid);
    if (j.mode !== undefined) fchmodSync(fd, j.mode); // after chown, which clears setuid/setgid
    futimesSync(fd, fsTime(j.atime), fsTime(j.mtime));
  } finally {
    closeSync(fd);
  }
}

/** Writes all chunks to `fd`: one write(2) or writev(2) in the usual case. */
function writeChunks(fd: number, chunks: Buffer[]): void {
  if (chunks.length === 1) {
    const c = chunks[0]!;
    let off = 0;
    while (off < c.length) off += writeSync(fd, c, off, c.length - off);
    return;
  }
  let left = 0;
  for (const c of chunks) left += c.length;
  while (left > 0) {
    const n = writevSync(fd, chunks);
    left -= n;
    if (left > 0) chunks = skipBytes(chunks, n);
  }
}

/** `chunks` without their first `n` bytes (after a short write). */
export function skipBytes(chunks: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (n >= c.length) {
      n -= c.length;
      continue;
    }
    out.push(n > 0 ? c.subarray(n) : c);
    n = 0;
  }
  return out;
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
