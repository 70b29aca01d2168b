import { closeSync, constants as C, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { LxcConfigError } from './errors.js';

/*
 * Chroot-style access to an untrusted rootfs. Every component is opened relative to the fd of
 * its parent through /proc/self/fd/<fd>/<name> (an openat() emulation) with O_NOFOLLOW, so the
 * kernel never follows a link on its own. Symlinks are read and resolved by us with the rootfs as
 * "/" and ".." clamped there, exactly as the kernel would inside the container.
 */

const MAX_SYMLINKS = 40;
const at = (fd: number, name: string): string => `/proc/self/fd/${fd}/${name}`;

function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

interface Opened {
  fd: number;
  stat: Stats;
}

/** Thrown internally when a path does not exist inside the rootfs. */
class NotFound extends Error {}

function unsafe(rootPath: string, message: string, cause?: unknown): LxcConfigError {
  return new LxcConfigError('UNSAFE_PATH', `${rootPath}: ${message}`, rootPath, { cause });
}

/**
 * Resolve `path` inside `rootfs` like chroot(rootfs) would and open the final object.
 * Directories are opened O_DIRECTORY; the final component must be a regular file or directory
 * (devices and FIFOs are never opened). Returns undefined when something does not exist, unless
 * `createDirs` is given: then missing components are created as directories (0755, owned by
 * `createDirs`) and every component must be a directory.
 */
function openInRoot(rootfs: string, path: string, createDirs?: { uid: number; gid: number }): (Opened & { created: boolean }) | undefined {
  const rootFd = openSync(rootfs, C.O_RDONLY | C.O_DIRECTORY);
  const stack: number[] = [rootFd];
  const todo = splitPath(path);
  let links = 0;
  let created = false;
  try {
    while (todo.length > 0) {
      const comp = todo.shift()!;
      if (comp === '..') {
        if (stack.length > 1) closeSync(stack.pop()!);
        continue;
      }
      const parent = stack[stack.length - 1]!;
      let st: Stats;
      let fresh = false;
      try {
        st = lstatSync(at(parent, comp));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
        if (!createDirs || code === 'ENOTDIR') throw new NotFound();
        mkdirSync(at(parent, comp), 0o755);
        st = lstatSync(at(parent, comp));
        created = fresh = true;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw unsafe(path, 'too many levels of symbolic links');
        const target = readlinkSync(at(parent, comp));
        if (target.startsWith('/')) while (stack.length > 1) closeSync(stack.pop()!);
        todo.unshift(...splitPath(target));
        continue;
      }
      const last = todo.length === 0;
      if (createDirs && !st.isDirectory()) throw unsafe(path, 'exists and is not a directory');
      if (!last && !st.isDirectory()) throw new NotFound();
      if (!st.isDirectory() && !st.isFile()) throw unsafe(path, 'is not a regular file');
      const fd = openSync(at(parent, comp), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY | (st.isDirectory() ? C.O_DIRECTORY : 0));
      stack.push(fd);
      const now = fstatSync(fd);
      if (now.ino !== st.ino || now.dev !== st.dev) throw unsafe(path, 'changed while being opened');
      if (fresh && createDirs) {
        // The umask must not decide the mode, and an id-shifted rootfs wants shifted owners.
        fchmodSync(fd, 0o755);
        fchownSync(fd, createDirs.uid, createDirs.gid);
      }
    }
    const fd = stack.pop()!;
    return { fd, stat: fstatSync(fd), created };
  } catch (err) {
    if (err instanceof NotFound) return undefined;
    throw err;
  } finally {
    for (const fd of stack) closeSync(fd);
  }
}

/** Read a regular file inside the rootfs (chroot-style symlink resolution). Undefined if missing. */
export function readFileInRoot(rootfs: string, path: string): Buffer | undefined {
  const opened = openInRoot(rootfs, path);
  if (!opened) return undefined;
  try {
    if (!opened.stat.isFile()) throw unsafe(path, 'is not a regular file');
    return readFileSync(opened.fd);
  } finally {
    closeSync(opened.fd);
  }
}

/**
 * Is the rootfs's /bin/sh bash (as RHEL, UBI, Fedora, Amazon Linux have it)? Judged by bash's own
 * BASH_VERSINFO variable name in the binary, which dash and busybox do not contain.
 */
export function isBashInRoot(rootfs: string): boolean {
  try {
    return readFileInRoot(rootfs, '/bin/sh')?.includes('BASH_VERSINFO') ?? false;
  } catch {
    return false;
  }
}

/** Is `path` inside the rootfs an executable regular file (as the container would see it)? */
export function isExecutableInRoot(rootfs: string, path: string): boolean {
  const opened = openInRoot(rootfs, path);
  if (!opened) return false;
  closeSync(opened.fd);
  return opened.stat.isFile() && (opened.stat.mode & 0o111) !== 0;
}

/** Does `path` exist inside the rootfs as a directory? */
export function isDirectoryInRoot(rootfs: string, path: string): boolean {
  const opened = openInRoot(rootfs, path);
  if (!opened) return false;
  closeSync(opened.fd);
  return opened.stat.isDirectory();
}

/**
 * Write `content` to `path` inside the rootfs. Every parent directory must be a real directory
 * (created 0755 when missing); a symlink anywhere on the way is refused, never followed. The file
 * is written to a fresh O_EXCL temporary and renamed into place, so an existing file, symlink or
 * hard link at `path` is replaced, not written through.
 */
export function writeFileInRoot(rootfs: string, path: string, content: string, mode: number): void {
  const comps = splitPath(path);
  if (comps.length === 0 || comps.includes('..')) throw unsafe(path, 'is not a plain absolute path');
  const name = comps.pop()!;
  const stack: number[] = [openSync(rootfs, C.O_RDONLY | C.O_DIRECTORY)];
  try {
    let where = '';
    for (const comp of comps) {
      where += `/${comp}`;
      const parent = stack[stack.length - 1]!;
      let created = false;
      try {
        mkdirSync(at(parent, comp), 0o755);
        created = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const st = lstatSync(at(parent, comp));
      if (st.isSymbolicLink()) throw unsafe(where, 'is a symbolic link; refusing to follow it');
      if (!st.isDirectory()) throw unsafe(where, 'exists and is not a directory');
      const fd = openSync(at(parent, comp), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
      stack.push(fd);
      const now = fstatSync(fd);
      if (now.ino !== st.ino || now.dev !== st.dev) throw unsafe(where, 'changed while being opened');
      // The umask must not make the directory untraversable for a non-root init user.
      if (created) fchmodSync(fd, 0o755);
    }
    const dir = stack[stack.length - 1]!;
    const existing = lstatOrUndefined(at(dir, name));
    if (existing?.isDirectory()) throw unsafe(path, 'exists and is a directory');
    const tmp = `.${name}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(at(dir, tmp), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      const data = Buffer.from(content, 'utf8');
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fchmodSync(fd, mode);
    } catch (err) {
      closeSync(fd);
      unlinkSync(at(dir, tmp));
      throw err;
    }
    closeSync(fd);
    renameSync(at(dir, tmp), at(dir, name));
  } finally {
    for (const fd of stack) closeSync(fd);
  }
}

/**
 * Make sure `path` exists as a directory inside the rootfs, as Docker does for a missing
 * WorkingDir: symlinks on the way are resolved chroot-style (never leaving the rootfs), missing
 * components are created 0755 and owned like the rootfs's own `/` (so an id-shifted rootfs gets
 * shifted owners). Returns true when something was created.
 */
export function ensureDirectoryInRoot(rootfs: string, path: string): boolean {
  const root = statSync(rootfs);
  const opened = openInRoot(rootfs, path, { uid: root.uid, gid: root.gid });
  if (!opened) throw unsafe(path, 'cannot be created');
  closeSync(opened.fd);
  return opened.created;
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}
