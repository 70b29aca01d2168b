// The destination contract: it must be absent or an empty directory, and after a failure it is
// left as found (absent → removed; empty → emptied, its own mode, owner and times restored).
import { execFileSync } from 'node:child_process';
import { chmodSync, lchownSync, lstatSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, utimesSync, type BigIntStats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ExtractError, errnoCode } from './errors.js';

export interface Destination {
  /** Absolute real path of the rootfs directory. */
  root: string;
  created: boolean;
  /** The empty destination as found (nanosecond times, to put them back exactly). */
  before?: BigIntStats;
}

/**
 * Checks (and, when absent, creates) the destination. Its parent components are the caller's own
 * path and may be symlinks; the destination itself must not be one: a symlink would send the
 * image (and the cleanup after a failure) somewhere the caller did not name.
 */
export function prepareDestination(rootfs: string): Destination {
  const abs = resolve(rootfs);
  const invalid = (why: string, cause?: unknown): ExtractError =>
    new ExtractError('INVALID_DESTINATION', `${abs}: ${why}`, { path: abs, ...(cause !== undefined ? { cause } : {}) });
  const st = fsStep(() => lstatSync(abs, { throwIfNoEntry: false }), invalid);
  if (st === undefined) {
    const parent = fsStep(() => statSync(dirname(abs), { throwIfNoEntry: false }), invalid);
    if (parent === undefined) throw invalid('parent directory does not exist');
    if (!parent.isDirectory()) throw invalid('parent is not a directory');
    fsStep(() => mkdirSync(abs, 0o755), invalid);
    return { root: fsStep(() => realpathSync(abs), invalid), created: true };
  }
  if (st.isSymbolicLink()) throw invalid('is a symbolic link; give the directory itself');
  if (!st.isDirectory()) throw new ExtractError('DESTINATION_NOT_EMPTY', `${abs} exists and is not a directory`, { path: abs });
  const real = fsStep(() => realpathSync(abs), invalid);
  if (fsStep(() => readdirSync(real, { encoding: 'buffer' }), invalid).length > 0) {
    throw new ExtractError('DESTINATION_NOT_EMPTY', `${abs} is not empty`, { path: abs });
  }
  return { root: real, created: false, before: fsStep(() => lstatSync(real, { bigint: true }), invalid) };
}

/** Runs a file system call on the destination path; its errno becomes INVALID_DESTINATION. */
function fsStep<T>(fn: () => T, invalid: (why: string, cause?: unknown) => ExtractError): T {
  try {
    return fn();
  } catch (err) {
    const code = errnoCode(err);
    if (code === undefined) throw err;
    const why: Record<string, string> = {
      ENOTDIR: 'a parent component is not a directory',
      ENOENT: 'a parent component does not exist',
      ELOOP: 'too many levels of symbolic links',
      ENAMETOOLONG: 'path too long',
      EACCES: 'permission denied',
      EEXIST: 'created by someone else meanwhile',
      EROFS: 'read-only file system',
    };
    throw invalid(why[code] ?? `cannot use it (${code})`, err);
  }
}

/** Puts the destination back as it was found. Best effort: it never throws. */
export function restoreDestination(d: Destination): void {
  try {
    if (d.created) {
      removeTree(Buffer.from(d.root));
      return;
    }
    // Names are listed as bytes: a layer may have written names that are not UTF-8.
    const root = Buffer.from(d.root);
    for (const name of readdirSync(root, { encoding: 'buffer' })) attempt(() => removeTree(Buffer.concat([root, Buffer.from('/'), name])));
    if (readdirSync(root).length > 0) attempt(() => removeChildrenWithTools(d.root));
    const b = d.before;
    if (b) {
      const now = lstatSync(d.root, { bigint: true });
      if (now.uid !== b.uid || now.gid !== b.gid) lchownSync(d.root, Number(b.uid), Number(b.gid));
      chmodSync(d.root, Number(b.mode & 0o7777n));
      restoreTimes(d.root, b);
    }
  } catch {
    // nothing more we can do; the original error is what the caller needs
  }
}

/**
 * utimes takes seconds as a double (~240 ns steps today), so times may come back slightly off;
 * then GNU touch, which takes them to the nanosecond, puts them back exactly.
 */
function restoreTimes(path: string, b: BigIntStats): void {
  utimesSync(path, Number(b.atimeNs) / 1e9, Number(b.mtimeNs) / 1e9);
  const now = lstatSync(path, { bigint: true });
  const stamp = (ns: bigint): string => `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
  if (b.atimeNs < 0n || b.mtimeNs < 0n) return;
  if (now.atimeNs !== b.atimeNs) execFileSync('touch', ['-h', '-a', '-d', stamp(b.atimeNs), '--', path], { stdio: 'ignore' });
  if (now.mtimeNs !== b.mtimeNs) execFileSync('touch', ['-h', '-m', '-d', stamp(b.mtimeNs), '--', path], { stdio: 'ignore' });
}

function attempt(fn: () => void): void {
  try {
    fn();
  } catch {
    // best effort; the caller checks what is left
  }
}

/**
 * Removes a tree (never following symlinks). Node's recursive rm builds full paths, which fail
 * with ENAMETOOLONG below PATH_MAX; GNU `rm` works fd-relative at any depth, so it takes over
 * when something is left.
 */
function removeTree(path: Buffer): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // checked below
  }
  if (lstatSync(path, { throwIfNoEntry: false }) === undefined) return;
  const text = path.toString('utf8');
  if (Buffer.from(text).equals(path)) {
    execFileSync('rm', ['-rf', '--one-file-system', '--', text], { stdio: 'ignore' });
    return;
  }
  // A command-line argument is a string: a name that is not UTF-8 is found by its inode.
  const slash = path.lastIndexOf(0x2f);
  removeChildrenWithTools(path.subarray(0, slash).toString('utf8') || '/', path.subarray(slash + 1));
}

/** `find DIR -mindepth 1 -maxdepth 1 [-inum N] -exec rm -rf …`: byte-exact names, any depth. */
function removeChildrenWithTools(dir: string, only?: Buffer): void {
  const args = ['.', '-mindepth', '1', '-maxdepth', '1'];
  if (only) args.push('-inum', String(lstatSync(Buffer.concat([Buffer.from(dir), Buffer.from('/'), only])).ino));
  args.push('-exec', 'rm', '-rf', '--one-file-system', '--', '{}', '+');
  execFileSync('find', args, { cwd: dir, stdio: 'ignore' });
}
