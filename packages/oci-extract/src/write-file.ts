// The one sequence that creates a regular file: open → write → fchown? → fchmod? → futimes →
// close (or link(2) for a hardlink job), written once (runJob) over a set of operations: the
// synchronous ones (the main thread's 'sync' route, the writer thread, and large files, whose
// body is streamed by an asynchronous write step) or the libuv pool's callbacks (file-jobs.ts).
import { closeSync, fchmodSync, fchownSync, futimesSync, linkSync, openSync, writeSync, writevSync } from 'node:fs';
import { fsTime } from './times.js';

/** Bodies up to this size are buffered and written by a job; larger ones are streamed inline. */
export const SMALL_FILE = 1024 * 1024;

/** One file to create (or hardlink to make), with everything its syscalls need. */
export interface FileJob {
  host: Buffer;
  flags: number;
  createMode: number;
  chunks: Buffer[];
  chown?: { uid: number; gid: number } | undefined;
  /** Set when the create mode is not enough (umask, special bits). */
  mode?: number | undefined;
  atime: number;
  mtime: number;
  /** Set for a hardlink: link(2) from this existing path to `host`; nothing else is done. */
  linkTarget?: Buffer | undefined;
}

export type Done = (err: NodeJS.ErrnoException | null) => void;

/** The operations a job runs, each calling its continuation once (at once, when synchronous). */
export interface FileOps {
  open(path: Buffer, flags: number, mode: number, k: (err: NodeJS.ErrnoException | null, fd: number) => void): void;
  /** Writes the whole body of `j`. */
  write(fd: number, j: FileJob, k: Done): void;
  fchown(fd: number, uid: number, gid: number, k: Done): void;
  fchmod(fd: number, mode: number, k: Done): void;
  futimes(fd: number, atime: number | string, mtime: number | string, k: Done): void;
  close(fd: number, k: Done): void;
  link(existing: Buffer, path: Buffer, k: Done): void;
}

/** The sequence. A failure still closes the file; the first error is the one reported. */
export function runJob(ops: FileOps, j: FileJob, done: Done): void {
  if (j.linkTarget) return ops.link(j.linkTarget, j.host, done);
  ops.open(j.host, j.flags, j.createMode, (err, fd) => {
    if (err) return done(err);
    const finish: Done = (e) => ops.close(fd, (e2) => done(e ?? e2));
    const times = (): void => ops.futimes(fd, fsTime(j.atime), fsTime(j.mtime), finish);
    // fchmod after fchown, which clears setuid/setgid.
    const chmod = (): void => (j.mode !== undefined ? ops.fchmod(fd, j.mode, (e) => (e ? finish(e) : times())) : times());
    const chown = (): void => (j.chown ? ops.fchown(fd, j.chown.uid, j.chown.gid, (e) => (e ? finish(e) : chmod())) : chmod());
    ops.write(fd, j, (e) => (e ? finish(e) : chown()));
  });
}

/** Runs `f`, then `k` with its error (outside the try: a throwing continuation is not caught). */
function call(k: Done, f: () => void): void {
  try {
    f();
  } catch (e) {
    return k(e as NodeJS.ErrnoException);
  }
  k(null);
}

/** Synchronous system calls: the least CPU per file. */
export const syncOps: FileOps = {
  open(path, flags, mode, k) {
    let fd: number;
    try {
      fd = openSync(path, flags, mode);
    } catch (e) {
      return k(e as NodeJS.ErrnoException, -1);
    }
    k(null, fd);
  },
  write: (fd, j, k) => call(k, () => writeChunks(fd, j.chunks)),
  fchown: (fd, uid, gid, k) => call(k, () => fchownSync(fd, uid, gid)),
  fchmod: (fd, mode, k) => call(k, () => fchmodSync(fd, mode)),
  futimes: (fd, atime, mtime, k) => call(k, () => futimesSync(fd, atime, mtime)),
  close: (fd, k) => call(k, () => closeSync(fd)),
  link: (existing, path, k) => call(k, () => linkSync(existing, path)),
};

/** The job, done here and now with synchronous system calls. */
export function runJobSync(j: FileJob): void {
  let failure: NodeJS.ErrnoException | null | undefined;
  runJob(syncOps, j, (err) => (failure = err));
  if (failure === undefined) throw new Error('internal error: a synchronous file job did not finish');
  if (failure) throw failure;
}

/** The job with its body written by `write` (asynchronous: a large body streamed in). */
export function runJobWith(j: FileJob, write: (fd: number) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const ops: FileOps = { ...syncOps, write: (fd, _j, k) => void write(fd).then(() => k(null), (e: unknown) => k(e as NodeJS.ErrnoException)) };
    runJob(ops, j, (err) => (err ? reject(err) : resolve()));
  });
}

/** Writes all chunks to `fd`: one write(2) or writev(2) in the usual case. */
export function writeChunks(fd: number, chunks: Buffer[]): void {
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
