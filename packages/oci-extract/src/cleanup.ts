// The destination contract: it must be absent or an empty directory, and after a failure it is
// left as found (absent → removed; empty → emptied, its own mode, owner and times restored).
import { chmodSync, lchownSync, lstatSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, utimesSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExtractError } from './errors.js';

export interface Destination {
  /** Absolute real path of the rootfs directory. */
  root: string;
  created: boolean;
  before?: Stats;
}

export function prepareDestination(rootfs: string): Destination {
  const abs = resolve(rootfs);
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (st === undefined) {
    const parent = statSync(dirname(abs), { throwIfNoEntry: false });
    if (!parent?.isDirectory()) throw new ExtractError('INVALID_DESTINATION', `parent directory of ${abs} does not exist`, { path: abs });
    mkdirSync(abs, 0o755);
    return { root: realpathSync(abs), created: true };
  }
  const real = realpathSync(abs);
  const target = statSync(real);
  if (!target.isDirectory()) throw new ExtractError('DESTINATION_NOT_EMPTY', `${abs} exists and is not a directory`, { path: abs });
  if (readdirSync(real).length > 0) throw new ExtractError('DESTINATION_NOT_EMPTY', `${abs} is not empty`, { path: abs });
  return { root: real, created: false, before: target };
}

/** Puts the destination back as it was found. Best effort: it never throws. */
export function restoreDestination(d: Destination): void {
  try {
    if (d.created) {
      rmSync(d.root, { recursive: true, force: true });
      return;
    }
    // Contents may include directories left unwritable; make them removable first is not
    // needed as root, and deferred modes are only applied after success.
    for (const name of readdirSync(d.root)) rmSync(join(d.root, name), { recursive: true, force: true });
    const b = d.before;
    if (b) {
      const now = lstatSync(d.root);
      if (now.uid !== b.uid || now.gid !== b.gid) lchownSync(d.root, b.uid, b.gid);
      chmodSync(d.root, b.mode & 0o7777);
      utimesSync(d.root, b.atime, b.mtime);
    }
  } catch {
    // nothing more we can do; the original error is what the caller needs
  }
}
