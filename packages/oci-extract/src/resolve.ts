// Resolves directories inside the rootfs like a chroot would (umoci's securejoin behaviour):
// symlinks in parent components are followed, but `..` stops at the root and absolute targets
// start at the root, so the result is always a path of real directories inside the rootfs.
// Resolved directories are cached; the cache is cleared whenever a directory or a symlink is
// removed, so the common case (plain directories and files) costs no extra syscalls.
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { bytes, joinRel } from './paths.js';

/** Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;
const MAX_CACHE = 100_000;
/** Linux's PATH_MAX (4096, including the terminating NUL) and NAME_MAX, in bytes. */
export const PATH_MAX = 4095;
export const NAME_MAX = 255;

export class PathError extends Error {
  constructor(
    readonly kind: 'loop' | 'notdir' | 'toolong',
    readonly at: string,
  ) {
    super(
      kind === 'loop'
        ? `too many levels of symbolic links at ${at}`
        : kind === 'toolong'
          ? `path would be longer than PATH_MAX (${PATH_MAX + 1} bytes) on the host`
          : `${at} is not a directory`,
    );
  }
}

export class Resolver {
  /** Clean entry-name prefix → resolved rel path of a real directory. */
  private readonly cache = new Map<string, string>();

  constructor(
    /** The rootfs as a byte string, no trailing slash. */
    readonly root: string,
    /** Called to create a missing directory (host path and rel path, byte strings). */
    private readonly makeDir: (host: string, rel: string) => void,
    /** lstat of `rel` at host path `host` (the RootfsWriter's: it waits for a file not yet
     * written there); a promise only when it had to wait. */
    private readonly lstat: (rel: string, host: string) => Stats | undefined | Promise<Stats | undefined> = (_rel, host) =>
      lstatSync(bytes(host), { throwIfNoEntry: false }),
  ) {}

  /** The host path of `rel`; never longer than PATH_MAX (symlinks can make it grow). */
  host(rel: string): string {
    if (rel === '') return this.root;
    if (this.root.length + 1 + rel.length > PATH_MAX) throw new PathError('toolong', rel);
    return `${this.root}/${rel}`;
  }

  clear(): void {
    this.cache.clear();
  }

  /** Records a directory this extraction just made at `rel` for the clean name `key`. */
  remember(key: string, rel: string): void {
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(key, rel);
  }

  /** The cached rel path of directory `comps`, if resolved before (no syscall). */
  cached(comps: readonly string[]): string | undefined {
    return comps.length === 0 ? '' : this.cache.get(comps.join('/'));
  }

  /**
   * The rel path of directory `comps` (clean components). Missing directories are created when
   * `create`, else the result is undefined. Throws PathError for loops and non-directories.
   */
  async resolveDir(comps: readonly string[], create: boolean): Promise<string | undefined> {
    if (comps.length === 0) return '';
    const key = comps.join('/');
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;

    // Longest cached prefix first, then one original component at a time (each cached).
    let i = 0;
    let stack: string[] = [];
    let prefix = '';
    for (let j = 0; j < comps.length - 1; j++) {
      prefix = joinRel(prefix, comps[j]!);
      const h = this.cache.get(prefix);
      if (h === undefined) break;
      i = j + 1;
      stack = h === '' ? [] : h.split('/');
    }
    const state = { links: 0 };
    let done = comps.slice(0, i).join('/');
    for (; i < comps.length; i++) {
      if (!(await this.walk(stack, [comps[i]!], create, state))) return undefined;
      done = joinRel(done, comps[i]!);
      this.remember(done, stack.join('/'));
    }
    return stack.join('/');
  }

  private async walk(stack: string[], comps: readonly string[], create: boolean, state: { links: number }): Promise<boolean> {
    for (const c of comps) {
      if (c === '' || c === '.') continue;
      if (c === '..') {
        stack.pop();
        continue;
      }
      const rel = joinRel(stack.join('/'), c);
      const host = this.host(rel);
      const look = this.lstat(rel, host);
      const st = look instanceof Promise ? await look : look;
      if (st === undefined) {
        if (!create) return false;
        this.makeDir(host, rel);
        stack.push(c);
      } else if (st.isDirectory()) {
        stack.push(c);
      } else if (st.isSymbolicLink()) {
        if (++state.links > MAX_LINKS) throw new PathError('loop', rel);
        const target = readlinkSync(bytes(host), { encoding: 'buffer' }).toString('latin1');
        if (target.startsWith('/')) stack.length = 0;
        if (!(await this.walk(stack, target.split('/'), create, state))) return false;
      } else {
        throw new PathError('notdir', rel);
      }
    }
    return true;
  }
}
