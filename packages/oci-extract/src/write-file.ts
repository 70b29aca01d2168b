// The one sequence that creates a regular file: open → write → fchown? → fchmod? → futimes →
// close (or link(2) for a hardlink job). Used on the main thread ('sync' writes), by the writer
// thread (workers/write-worker.ts) and, after its own streamed writes, for large files.
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

/** The metadata part of a job. */
export type FileMeta = Pick<FileJob, 'chown' | 'mode' | 'atime' | 'mtime'>;

/** The job, done here and now (synchronous syscalls: the least CPU per file). */
export function runJobSync(j: FileJob): void {
  if (j.linkTarget) return linkSync(j.linkTarget, j.host);
  createFile(j.host, j.flags, j.createMode, j, (fd) => writeChunks(fd, j.chunks));
}

/** open → `write(fd)` → metadata → close; `write` may be async (large bodies). */
export function createFile(host: Buffer, flags: number, createMode: number, meta: FileMeta, write: (fd: number) => void): void;
export function createFile(host: Buffer, flags: number, createMode: number, meta: FileMeta, write: (fd: number) => Promise<void>): Promise<void>;
export function createFile(host: Buffer, flags: number, createMode: number, meta: FileMeta, write: (fd: number) => void | Promise<void>): void | Promise<void> {
  const fd = openSync(host, flags, createMode);
  let written: void | Promise<void>;
  try {
    written = write(fd);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (written instanceof Promise) {
    return written.then(
      () => finish(fd, meta),
      (err: unknown) => {
        closeSync(fd);
        throw err;
      },
    );
  }
  finish(fd, meta);
}

/** fchown? → fchmod? → futimes → close. */
function finish(fd: number, meta: FileMeta): void {
  try {
    if (meta.chown) fchownSync(fd, meta.chown.uid, meta.chown.gid);
    if (meta.mode !== undefined) fchmodSync(fd, meta.mode); // after chown, which clears setuid/setgid
    futimesSync(fd, fsTime(meta.atime), fsTime(meta.mtime));
  } finally {
    closeSync(fd);
  }
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
