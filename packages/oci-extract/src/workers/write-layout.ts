// The writer thread's batch layout, shared by both sides (write-thread.ts fills a slot, the
// thread in write-worker.ts reads it): binary, not objects, so nothing per file is cloned.
// A slot is SLOT_BYTES of shared bytes (paths, hardlink sources, bodies) plus BATCH_FILES records
// of FIELDS numbers (a Float64Array), one record per file.
import { SMALL_FILE } from '../write-file.js';

export const BATCH_FILES = 256;
/** A batch is sent once its bodies reach this size. */
export const FLUSH_BYTES = 512 * 1024;
/** A slot holds any one file (a body of up to SMALL_FILE, and paths); a file that does not fit
 * after the others sends the batch first. */
export const SLOT_BYTES = SMALL_FILE + 64 * 1024;
/** Slots, so batches in flight at most: bounds memory and how far the thread lags behind. */
export const SLOTS = 4;

/** Offsets of a file's numbers in its record. */
export const Field = {
  /** Where the file's host path is in the slot's bytes, and its length. */
  pathAt: 0,
  pathLen: 1,
  /** A hardlink's existing path (length 0: a regular file). */
  linkAt: 2,
  linkLen: 3,
  bodyAt: 4,
  bodyLen: 5,
  /** open(2) flags and create mode. */
  flags: 6,
  createMode: 7,
  /** -1: no chown. */
  uid: 8,
  gid: 9,
  /** -1: no chmod. */
  mode: 10,
  atime: 11,
  mtime: 12,
} as const;
export const FIELDS = 13;

/** Main thread → writer thread. */
export type ToWriter = { op: 'batch'; id: number; slot: number; count: number } | { op: 'reset'; data: SharedArrayBuffer; meta: SharedArrayBuffer };

/** Writer thread → main thread: a batch is done (`ns` it took), or file `index` of it failed. */
export type FromWriter =
  | { op: 'done'; id: number; ns: number }
  | { op: 'error'; id: number; index: number; code: string; errno: number; syscall: string; message: string };
