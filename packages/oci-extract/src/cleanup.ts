// The destination contract: it must be absent or an empty directory, and after a failure it is
// left as found (absent → removed; empty → emptied, its own mode, owner and times restored).
// Of two extractions into one destination exactly one proceeds: the claim marker below.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExtractError, errnoCode } from './errors.js';

export interface Destination {
  /** Absolute real path of the rootfs directory. */
  root: string;
  created: boolean;
  /** The empty destination as found (nanosecond times, to put them back exactly). */
  before?: BigIntStats;
  /** Our claim marker in the destination: an image may write a file of that name (in place, too). */
  marker: Marker;
}

/**
 * Created with O_EXCL in the (empty) destination before anything else is written, removed when
 * the layers are in: "is it empty?" and "now it is mine" would otherwise be two steps, and two
 * extractions that both saw an empty directory would write one mixed tree. It holds the pid and
 * a random token: a layer may write a file of this name, in place, and that one must stay.
 */
export const CLAIM_MARKER = '.oci2lxc-extracting';

interface Marker {
  path: string;
  ino: number;
  content: string;
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
    let made = true;
    try {
      mkdirSync(abs, 0o755);
    } catch (err) {
      // Made by someone else since the lstat (another extraction?): judge it as found.
      if (errnoCode(err) !== 'EEXIST') throw asInvalid(err, invalid);
      made = false;
    }
    if (made) {
      const root = fsStep(() => realpathSync(abs), invalid);
      return { root, created: true, marker: claim(abs, root, invalid) };
    }
  } else if (st.isSymbolicLink()) throw invalid('is a symbolic link; give the directory itself');
  else if (!st.isDirectory()) throw new ExtractError('DESTINATION_NOT_EMPTY', `${abs} exists and is not a directory`, { path: abs });
  const again = fsStep(() => lstatSync(abs), invalid);
  if (again.isSymbolicLink()) throw invalid('is a symbolic link; give the directory itself');
  if (!again.isDirectory()) throw new ExtractError('DESTINATION_NOT_EMPTY', `${abs} exists and is not a directory`, { path: abs });
  const real = fsStep(() => realpathSync(abs), invalid);
  const names = fsStep(() => readdirSync(real, { encoding: 'buffer' }), invalid);
  if (names.length > 0) throw notEmpty(abs, real, names.some((n) => n.toString('latin1') === CLAIM_MARKER));
  const before = fsStep(() => lstatSync(real, { bigint: true }), invalid);
  return { root: real, created: false, before, marker: claim(abs, real, invalid) };
}

/** Takes the destination: the marker with O_EXCL, then a second look that it holds nothing else. */
function claim(abs: string, real: string, invalid: (why: string, cause?: unknown) => ExtractError): Marker {
  const path = join(real, CLAIM_MARKER);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') throw notEmpty(abs, real, true);
    throw asInvalid(err, invalid);
  }
  const content = `${process.pid} ${randomBytes(16).toString('hex')}\n`;
  let ino: number;
  try {
    writeSync(fd, content);
    ino = fstatSync(fd).ino;
  } finally {
    closeSync(fd);
  }
  const names = fsStep(() => readdirSync(real, { encoding: 'buffer' }), invalid);
  if (names.length !== 1) {
    // Something else was written between our look and the marker: not ours to fill.
    unlinkSync(path);
    throw notEmpty(abs, real, false);
  }
  return { path, ino, content };
}

/** DESTINATION_NOT_EMPTY, saying whether another extraction is writing there right now. */
function notEmpty(abs: string, real: string, marked: boolean): ExtractError {
  if (!marked) return new ExtractError('DESTINATION_NOT_EMPTY', `${abs} is not empty`, { path: abs });
  let pid = 0;
  try {
    pid = Number.parseInt(readFileSync(join(real, CLAIM_MARKER), 'latin1'), 10) || 0;
  } catch {
    // gone meanwhile or unreadable: say what we know
  }
  const why = pid > 0 && !alive(pid)
    ? `holds the leftovers of an extraction that did not finish (pid ${pid} is gone): empty it first`
    : `another extraction${pid > 0 ? ` (pid ${pid})` : ''} is writing into it`;
  return new ExtractError('DESTINATION_NOT_EMPTY', `${abs} is not empty: ${why}`, { path: abs });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Removes our claim marker once the layers are in (unless a layer replaced it with its own file). */
export function releaseClaim(d: Destination): void {
  const { path, ino, content } = d.marker;
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st || !st.isFile() || st.ino !== ino || st.size !== content.length) return;
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  let now: string;
  try {
    now = readFileSync(fd, 'latin1');
  } finally {
    closeSync(fd);
  }
  if (now === content) unlinkSync(path);
}

/** Runs a file system call on the destination path; its errno becomes INVALID_DESTINATION. */
function fsStep<T>(fn: () => T, invalid: (why: string, cause?: unknown) => ExtractError): T {
  try {
    return fn();
  } catch (err) {
    throw asInvalid(err, invalid);
  }
}

/** A system error on the destination path as INVALID_DESTINATION (anything else as it is). */
function asInvalid(err: unknown, invalid: (why: string, cause?: unknown) => ExtractError): unknown {
  const code = errnoCode(err);
  if (code === undefined) return err;
  const why: Record<string, string> = {
    ENOTDIR: 'a parent component is not a directory',
    ENOENT: 'a parent component does not exist',
    ELOOP: 'too many levels of symbolic links',
    ENAMETOOLONG: 'path too long',
    EACCES: 'permission denied',
    EEXIST: 'created by someone else meanwhile',
    EROFS: 'read-only file system',
  };
  return invalid(why[code] ?? `cannot use it (${code})`, err);
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
