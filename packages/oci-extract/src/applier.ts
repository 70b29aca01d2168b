// Applies tar entries to a rootfs, one at a time, in archive order. Every path goes through the
// Resolver (chroot-like, never leaves the rootfs); leaves are never followed (O_EXCL|O_NOFOLLOW,
// lstat, lchown, lutimes, `setfattr -h`); whatever is in the way of a new entry is removed first.
import { chmodSync, constants, lchownSync, lstatSync, lutimesSync, readdirSync, type Stats } from 'node:fs';
import { DirMetaTree } from './dir-meta.js';
import { SMALL_FILE } from './write-file.js';
// The body as the tar reader gives it; what the applier leaves unread is skipped by the reader.
import type { EntryBody } from './large-file.js';
import { writeStrategy, type WriteRoutes, type WriteStrategy } from './write-strategy.js';
import { RootfsWriter } from './rootfs-writer.js';
import type { NodeKind } from './devices.js';
import { ExtractError, ThreadFailure, errnoCode, type ExtractErrorCode } from './errors.js';
import { mapId, type IdMap } from './idmap.js';
import { isSourceError } from './source-error.js';
import { bytes, cleanComponents, display, fromUtf8, joinRel } from './paths.js';
import { NAME_MAX, PATH_MAX, PathError, Resolver } from './resolve.js';
import { isZlibError } from './decompress.js';
import type { TarEntryInfo } from './tar-entry.js';
import type { ExtractWarning, ExtractWarningCode } from './types.js';
import { XattrBatch } from './xattr.js';
import { fsTime } from './times.js';

const O_NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

export interface ApplierConfig {
  /** Absolute, symlink-free path of an existing directory. */
  root: string;
  idMap?: IdMap;
  signal?: AbortSignal;
  onWarning?: (w: ExtractWarning) => void;
  /** How small files are written (default: 'auto'). */
  writeStrategy?: Required<WriteStrategy>;
  /** The root was empty before the first layer: only what this applier made is there. */
  freshRoot?: boolean;
}


interface Ids {
  uid: number;
  gid: number;
}

export class Applier {
  readonly root: string;
  private readonly rootBytes: string;
  private readonly resolver: Resolver;
  private readonly dirs = new DirMetaTree();
  private readonly xattrs: XattrBatch;
  /** Every file system effect (and the write-behind of small files) goes through it. */
  private readonly fs: RootfsWriter;
  /** Directories this layer created: a name in one that the layer did not write is free. */
  private fresh = new Set<string>();
  private readonly umask = readUmask();
  /** The ids a new file gets from its creator (when its directory is not setgid). */
  private readonly creatorIds: Ids | undefined;
  private readonly rootSetgid: boolean;
  /** Fresh directories known not to be setgid: files made in them need no chown to the creator's ids. */
  private plain = new Set<string>();
  private readonly isRoot = process.getuid?.() === 0;
  private readonly warned = new Set<string>();
  readonly warnings: ExtractWarning[] = [];
  /** Paths (and their ancestors) this layer created or changed: whiteouts must not hit them. */
  private upper = new Set<string>();
  /** Paths that were entries of this layer themselves (not just ancestors of one). */
  private own = new Set<string>();
  private layer: string | undefined;
  /** Owner of directories created implicitly (mapped root). */
  private readonly implicitIds: Ids | undefined;
  entries = 0;

  /** Small files written so far, by route. */
  get routes(): WriteRoutes {
    return this.fs.routes;
  }

  constructor(private readonly cfg: ApplierConfig) {
    this.root = cfg.root;
    this.xattrs = new XattrBatch(cfg.freshRoot ?? false);
    this.fs = new RootfsWriter(
      cfg.writeStrategy ?? writeStrategy(undefined),
      (err, path) => this.wrap(err, path),
      (rel, st) => this.removed(rel, st),
    );
    this.rootBytes = fromUtf8(cfg.root);
    this.rootSetgid = (lstatSync(cfg.root).mode & 0o2000) !== 0;
    const euid = process.geteuid?.();
    const egid = process.getegid?.();
    this.creatorIds = euid !== undefined && egid !== undefined ? { uid: euid, gid: egid } : undefined;
    this.resolver = new Resolver(
      this.rootBytes,
      (host, rel) => this.makeImplicitDir(host, rel),
      (rel, host) => this.fs.lstat(rel, host),
    );
    if (cfg.idMap) {
      const uid = mapId(cfg.idMap.uid, 0);
      const gid = mapId(cfg.idMap.gid, 0);
      this.implicitIds = uid !== undefined && gid !== undefined ? { uid, gid } : undefined;
    } else {
      this.implicitIds = { uid: 0, gid: 0 };
    }
  }

  /** Gives a freshly created rootfs the owner of the container's root (with an id map). */
  ownRoot(): void {
    if (this.isRoot && this.cfg.idMap && this.implicitIds) lchownSync(bytes(this.rootBytes), this.implicitIds.uid, this.implicitIds.gid);
  }

  /** `onThread`: the layer is decompressed on a worker thread of its own. */
  beginLayer(digest: string | undefined, onThread = false): void {
    this.layer = digest;
    this.fs.beginLayer(onThread);
    this.upper = new Set();
    this.own = new Set();
    this.fresh = new Set();
    this.plain = new Set();
  }

  async endLayer(): Promise<void> {
    await this.fs.flush();
    await this.xattrs.flush(
      (rel) => this.resolver.host(rel),
      (w) => this.warn('XATTR_SKIPPED', w.message),
      this.layer,
    );
    this.upper = new Set();
    this.own = new Set();
    this.fresh = new Set();
    this.plain = new Set();
  }

  /** After the last layer: directory modes and times, deepest first. */
  finish(): void {
    this.dirs.apply(this.rootBytes);
    this.fs.close();
  }

  /** Waits for file jobs and stops helper processes (after a failure). */
  async dispose(): Promise<void> {
    await this.fs.settle();
    this.fs.close();
  }

  async entry(e: TarEntryInfo, body: EntryBody): Promise<void> {
    const path = ASCII.test(e.name) ? e.name : display(e.name);
    try {
      if (this.cfg.signal?.aborted) throw this.error('ABORTED', 'extraction aborted', path);
      this.fs.check();
      this.entries++;
      await this.dispatch(e, body, path);
    } catch (err) {
      throw this.wrap(err, path);
    }
  }

  // ---- entries ------------------------------------------------------------------------------

  private async dispatch(e: TarEntryInfo, body: EntryBody, path: string): Promise<void> {
    if (e.type === 'unsupported') throw this.error('UNSUPPORTED_ENTRY', e.unsupported ?? 'unsupported entry', path);
    // Only PAX records can carry a NUL; no file system name can hold one.
    if (e.name.includes('\0')) throw this.error('CORRUPT_LAYER', 'entry name contains a NUL byte', path);
    if (e.linkname.includes('\0')) throw this.error('CORRUPT_LAYER', `${e.type === 'link' ? 'hardlink' : 'link'} target contains a NUL byte`, path);
    const comps = cleanComponents(e.name);
    this.checkLength(comps, path);
    if (e.type === 'link') this.checkLength(cleanComponents(e.linkname), path);
    if (comps.length === 0) {
      if (e.type !== 'directory') throw this.error('UNSAFE_PATH', 'entry would replace the rootfs directory itself', path);
      await this.rootDir(e, path);
      return;
    }
    const base = comps[comps.length - 1]!;
    const parent = comps.slice(0, -1);
    if (parent.some((c) => c.startsWith(WHITEOUT))) throw this.error('UNSUPPORTED_ENTRY', 'a whiteout name is used as a directory', path);
    if (base.startsWith(WHITEOUT)) {
      // A whiteout's body (if any) is never read: the reader skips it. Files of this layer not yet
      // on disk are all in `upper`, which whiteouts never touch.
      await this.whiteout(parent, base, path);
      return;
    }
    // Only regular files have bodies (the reader gives size 0 to header-only types, as Go does).
    switch (e.type) {
      case 'file':
        return this.file(e, parent, base, body, path);
      case 'directory':
        return this.directory(e, comps, parent, base, path);
      case 'symlink':
        return this.symlink(e, parent, base, path);
      case 'link':
        return this.hardlink(e, parent, base, path);
      case 'char':
      case 'block':
      case 'fifo':
        return this.node(e, parent, base, path);
    }
  }

  private async file(e: TarEntryInfo, parent: string[], base: string, body: EntryBody, path: string): Promise<void> {
    const ids = this.ids(e, path);
    const { rel, host, dir } = this.placeCached(parent, base) ?? (await this.place(parent, base));
    const hb = bytes(host);
    if (!this.isFree(rel, dir)) await this.fs.remove(rel, host);
    this.markUpper(rel);
    // Skip the chown when the new file already has these owners (a fresh, non-setgid parent).
    const owned = this.plain.has(dir) && this.creatorIds !== undefined && this.creatorIds.uid === ids.uid && this.creatorIds.gid === ids.gid;
    const chown = !owned && this.shouldChown(ids) ? ids : undefined;
    this.setXattrs(rel, e, path);
    const createMode = e.mode & 0o777;
    // fchmod only when needed: special bits (cleared by chown) or bits the umask removes.
    const needsChmod = (e.mode & 0o7000) !== 0 || (createMode & this.umask) !== 0;
    const job = { host: hb, flags: O_NEW_FILE, createMode, chunks: [] as Buffer[], chown, mode: needsChmod ? e.mode : undefined, atime: e.atime, mtime: e.mtime };
    if (e.size > SMALL_FILE) return this.fs.largeFile(job, body); // streamed in
    // Small bodies are collected first (a size-0 entry has no body to wait for): the file is then
    // written by one run of syscalls, here or behind (see file-sink.ts).
    if (e.size > 0) job.chunks = await collectBody(body);
    await this.fs.smallFile(rel, job, path);
  }

  private async directory(e: TarEntryInfo, comps: string[], parent: string[], base: string, path: string): Promise<void> {
    const ids = this.ids(e, path);
    const { rel, host } = await this.place(parent, base);
    const hb = bytes(host);
    const look = this.fs.lstat(rel, host);
    const st = look instanceof Promise ? await look : look;
    if (!st?.isDirectory()) {
      if (st) await this.fs.remove(rel, host, st);
      this.fs.mkdir(host, 0o700); // final mode at the very end
      this.madeDir(rel, hb);
    } else if (!this.fresh.has(rel)) {
      this.xattrs.clearExisting(rel); // the entry's attributes replace the directory's
    }
    if (this.shouldChown(ids)) lchownSync(hb, ids.uid, ids.gid);
    this.dirs.set(rel, { mode: e.mode, atime: e.atime, mtime: e.mtime });
    this.resolver.remember(comps.join('/'), rel);
    this.markUpper(rel);
    this.setXattrs(rel, e, path);
  }

  private async rootDir(e: TarEntryInfo, path: string): Promise<void> {
    const ids = this.ids(e, path);
    if (this.shouldChown(ids)) await this.fs.lchown('', this.rootBytes, ids.uid, ids.gid);
    this.dirs.set('', { mode: e.mode, atime: e.atime, mtime: e.mtime });
    this.xattrs.clearExisting('');
    this.setXattrs('', e, path);
  }

  private async symlink(e: TarEntryInfo, parent: string[], base: string, path: string): Promise<void> {
    if (e.linkname === '') throw this.error('UNSUPPORTED_ENTRY', 'symlink with an empty target', path);
    const ids = this.ids(e, path);
    const { rel, host } = await this.place(parent, base);
    const hb = bytes(host);
    await this.fs.symlink(rel, host, e.linkname); // target kept verbatim
    if (this.shouldChown(ids)) lchownSync(hb, ids.uid, ids.gid);
    lutimesSync(hb, fsTime(e.atime), fsTime(e.mtime));
    this.markUpper(rel);
    this.setXattrs(rel, e, path);
  }

  private async hardlink(e: TarEntryInfo, parent: string[], base: string, path: string): Promise<void> {
    const target = cleanComponents(e.linkname);
    const missing = (): ExtractError =>
      this.error('HARDLINK_TARGET_MISSING', `hardlink target ${JSON.stringify(display(e.linkname))} does not exist in this or a lower layer`, path);
    if (target.length === 0) throw this.error('UNSUPPORTED_ENTRY', 'hardlink to the root directory', path);
    let tparent: string | undefined;
    try {
      tparent = await this.resolver.resolveDir(target.slice(0, -1), false);
    } catch (err) {
      if (err instanceof PathError && err.kind !== 'toolong') throw missing();
      throw err;
    }
    if (tparent === undefined) throw missing();
    const trel = joinRel(tparent, target[target.length - 1]!);
    const thost = this.resolver.host(trel);
    const kind = this.fs.linkTargetKind(trel, thost);
    if (kind === 'missing') throw missing();
    if (kind === 'directory') throw this.error('UNSUPPORTED_ENTRY', `hardlink to directory ${JSON.stringify(display(e.linkname))}`, path);
    const { rel, host, dir } = await this.place(parent, base);
    if (rel === trel) {
      this.markUpper(rel);
      return;
    }
    if (!this.isFree(rel, dir)) await this.fs.remove(rel, host);
    this.markUpper(rel);
    await this.fs.link(rel, host, trel, thost, path, (err) => (errnoCode(err) === 'ENOENT' ? missing() : this.wrap(err, path)));
  }

  private async node(e: TarEntryInfo, parent: string[], base: string, path: string): Promise<void> {
    const kind: NodeKind = e.type === 'char' ? 'c' : e.type === 'block' ? 'b' : 'p';
    if (kind !== 'p' && !this.isRoot) {
      this.warn('DEVICE_SKIPPED', 'not running as root: device nodes are skipped', path);
      return;
    }
    const ids = this.ids(e, path);
    const { rel, host, dir } = await this.place(parent, base);
    const failure = await this.fs.node(rel, host, this.resolver.host(dir), kind, e.devmajor, e.devminor);
    if (failure !== undefined) {
      if (/No space left|quota/i.test(failure)) throw this.error('NO_SPACE', `no space left on device under ${this.root}: ${failure}`, path);
      if (kind !== 'p' && /Operation not permitted/.test(failure)) {
        this.warn('DEVICE_SKIPPED', `mknod not permitted: device nodes are skipped (${failure})`, path);
        return;
      }
      throw this.error('IO_ERROR', `mknod failed: ${failure}`, path);
    }
    const hb = bytes(host);
    if (this.shouldChown(ids)) lchownSync(hb, ids.uid, ids.gid);
    chmodSync(hb, e.mode); // a node we just made, never a symlink
    lutimesSync(hb, fsTime(e.atime), fsTime(e.mtime));
    this.markUpper(rel);
    this.setXattrs(rel, e, path);
  }

  // ---- whiteouts ----------------------------------------------------------------------------

  private async whiteout(parent: string[], base: string, path: string): Promise<void> {
    if (base === OPAQUE) {
      await this.opaque(parent);
      return;
    }
    const name = base.slice(WHITEOUT.length);
    if (name === '' || name === '.' || name === '..' || name.startsWith(WHITEOUT)) {
      this.warn('WHITEOUT_IGNORED', `whiteout ${JSON.stringify(display(base))} names nothing removable; ignored`, path, false);
      return;
    }
    const dir = await this.lookupDir(parent);
    if (dir === undefined) return;
    const rel = joinRel(dir, name);
    if (this.upper.has(rel)) {
      // Whiteouts hide lower layers only, whatever their place in the layer: `d/new` then `.wh.d`
      // ends as `.wh.d` then `d/new` does (lower content of d gone, this layer's kept).
      const hb = bytes(this.resolver.host(rel));
      if (!lstatSync(hb, { throwIfNoEntry: false })?.isDirectory()) return; // this layer's own entry
      await this.removeLowerBelow(rel, true);
      return;
    }
    await this.fs.remove(rel, this.resolver.host(rel));
  }

  /** Removes everything below the directory that this layer did not put there. */
  private async opaque(parent: string[]): Promise<void> {
    const dir = await this.lookupDir(parent);
    if (dir === undefined) return;
    this.markUpper(dir, false); // the marker is not an entry for `dir` itself
    await this.removeLowerBelow(dir, false);
  }

  /**
   * Removes everything below directory `dir` that is not in `upper`. A lower directory kept only
   * as an ancestor of this layer's entries (`dir` itself too when `self`) was removed by the
   * whiteout too: it gets the state of an implicitly created directory, as in the other order.
   */
  private async removeLowerBelow(dir: string, self: boolean): Promise<void> {
    const stack = [dir];
    while (stack.length > 0) {
      const d = stack.pop()!;
      if ((d !== dir || self) && !this.own.has(d)) this.asImplicitDir(d);
      for (const name of readdirSync(bytes(this.resolver.host(d)), { encoding: 'latin1' })) {
        const child = joinRel(d, name);
        const host = this.resolver.host(child);
        if (!this.upper.has(child)) {
          await this.fs.remove(child, host);
        } else if (lstatSync(bytes(host), { throwIfNoEntry: false })?.isDirectory()) {
          stack.push(child);
        }
      }
    }
  }

  /** A directory for a whiteout: never created; a missing or non-directory parent means no-op. */
  private async lookupDir(parent: string[]): Promise<string | undefined> {
    try {
      return await this.resolver.resolveDir(parent, false);
    } catch (err) {
      if (err instanceof PathError) return undefined;
      throw err;
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** Refuses, before anything is created, names the host could not hold (ENAMETOOLONG). */
  private checkLength(comps: readonly string[], path: string): void {
    let total = this.rootBytes.length;
    for (const c of comps) {
      if (c.length > NAME_MAX) throw this.error('UNSAFE_PATH', `name component of ${c.length} bytes is longer than NAME_MAX (${NAME_MAX})`, path);
      total += 1 + c.length;
    }
    if (total > PATH_MAX) throw this.error('UNSAFE_PATH', `path would be ${total} bytes long on the host, longer than PATH_MAX (${PATH_MAX + 1} with its NUL)`, path);
  }

  /** `place` without waiting, when the parent directory is cached (the common case). */
  private placeCached(parent: string[], base: string): { rel: string; host: string; dir: string } | undefined {
    const dir = this.resolver.cached(parent);
    if (dir === undefined) return undefined;
    const rel = joinRel(dir, base);
    return { rel, host: this.resolver.host(rel), dir };
  }

  /** Where an entry goes: its parent resolved (and created) inside the rootfs. */
  private async place(parent: string[], base: string): Promise<{ rel: string; host: string; dir: string }> {
    const dir = this.resolver.cached(parent) ?? (await this.resolver.resolveDir(parent, true))!;
    const rel = joinRel(dir, base);
    return { rel, host: this.resolver.host(rel), dir };
  }

  /** A name in a directory this layer created, not yet written by this layer, is free (a name
   * written by this layer, even if not yet on disk, is in `upper`): nothing to remove there. */
  private isFree(rel: string, dir: string): boolean {
    return this.fresh.has(dir) && !this.upper.has(rel);
  }

  /** A name was removed: forget what was known about it (and below it). */
  private removed(rel: string, st: Stats): void {
    if (st.isDirectory()) {
      this.resolver.clear();
      this.dirs.delete(rel);
      this.xattrs.dropTree(rel);
    } else {
      if (st.isSymbolicLink()) this.resolver.clear();
      this.xattrs.drop(rel);
    }
  }

  /** Records a directory this layer made; it is "plain" unless it inherited a setgid bit. */
  private madeDir(rel: string, hb: Buffer): void {
    this.fresh.add(rel);
    const i = rel.lastIndexOf('/');
    const parentPlain = i < 0 ? !this.rootSetgid : this.plain.has(rel.slice(0, i));
    if (parentPlain || (lstatSync(hb).mode & 0o2000) === 0) this.plain.add(rel);
  }

  /** A lower directory that stays only as the parent of this layer's entries: reset. */
  private asImplicitDir(rel: string): void {
    const hb = bytes(this.resolver.host(rel));
    chmodSync(hb, 0o755);
    if (this.isRoot && this.implicitIds) lchownSync(hb, this.implicitIds.uid, this.implicitIds.gid);
    this.dirs.forget(rel);
    this.xattrs.clearExisting(rel); // an implicit directory has none
  }

  private makeImplicitDir(host: string, rel: string): void {
    const hb = this.fs.mkdir(host, 0o755);
    this.madeDir(rel, hb);
    chmodSync(hb, 0o755); // whatever the umask
    if (this.isRoot && this.implicitIds) lchownSync(hb, this.implicitIds.uid, this.implicitIds.gid);
  }

  private markUpper(rel: string, own = true): void {
    if (own) this.own.add(rel);
    while (rel !== '' && !this.upper.has(rel)) {
      this.upper.add(rel);
      const i = rel.lastIndexOf('/');
      rel = i < 0 ? '' : rel.slice(0, i);
    }
  }

  private ids(e: TarEntryInfo, path: string): Ids {
    for (const [what, v] of [['uid', e.uid], ['gid', e.gid]] as const) {
      if (!Number.isSafeInteger(v) || v < 0 || v > 0xfffffffe) throw this.error('CORRUPT_LAYER', `invalid ${what} ${v}`, path);
    }
    const map = this.cfg.idMap;
    if (!map) return { uid: e.uid, gid: e.gid };
    const uid = mapId(map.uid, e.uid);
    if (uid === undefined) throw this.error('ID_NOT_MAPPED', `uid ${e.uid} is outside the id map`, path);
    const gid = mapId(map.gid, e.gid);
    if (gid === undefined) throw this.error('ID_NOT_MAPPED', `gid ${e.gid} is outside the id map`, path);
    return { uid, gid };
  }

  private shouldChown(ids: Ids): boolean {
    if (this.isRoot) return true;
    if (ids.uid !== process.getuid?.() || ids.gid !== process.getgid?.()) {
      this.warn('OWNERSHIP_SKIPPED', 'not running as root: file owners are not applied');
    }
    return false;
  }

  private setXattrs(rel: string, e: TarEntryInfo, path: string): void {
    if (e.xattrs.size === 0) {
      this.xattrs.set(rel, e.xattrs); // none: an earlier entry's pending ones are dropped
      return;
    }
    let attrs = e.xattrs;
    if (!this.isRoot) {
      attrs = new Map([...attrs].filter(([k]) => k.startsWith('user.')));
      if (attrs.size < e.xattrs.size) this.warn('XATTR_SKIPPED', 'not running as root: only user.* extended attributes are applied', path);
    }
    this.xattrs.set(rel, attrs);
  }

  private warn(code: ExtractWarningCode, message: string, path?: string, once = true): void {
    if (once) {
      if (this.warned.has(code)) return;
      this.warned.add(code);
    }
    const w: ExtractWarning = { code, message, ...(this.layer ? { layer: this.layer } : {}), ...(path !== undefined ? { path } : {}) };
    this.warnings.push(w);
    this.cfg.onWarning?.(w);
  }

  error(code: ExtractErrorCode, message: string, path?: string, cause?: unknown): ExtractError {
    return new ExtractError(code, message, {
      ...(this.layer ? { layer: this.layer } : {}),
      ...(path !== undefined ? { path } : {}),
      ...(cause !== undefined ? { cause } : {}),
    });
  }

  /** Any failure as an ExtractError naming the layer and entry. */
  wrap(err: unknown, path?: string): Error {
    if (err instanceof ExtractError) return err;
    // @oci2lxc/oci-tar-image errors (compressed digest, size) keep their own code.
    if (isSourceError(err)) return err;
    // A worker thread that died: the files it had are unknown, no one entry is to blame.
    if (err instanceof ThreadFailure) return this.error('IO_ERROR', err.message, undefined, err);
    if (err instanceof PathError) {
      return err.kind === 'notdir'
        ? this.error('NOT_A_DIRECTORY', `${JSON.stringify(display(err.at))} is not a directory`, path, err)
        : this.error('UNSAFE_PATH', `cannot resolve ${JSON.stringify(display(err.at.slice(0, 200)))}: ${err.message}`, path, err);
    }
    if (isZlibError(err)) return this.error('CORRUPT_LAYER', `layer is not valid gzip data: ${(err as Error).message}`, path, err);
    const code = errnoCode(err);
    if (code === 'ENOSPC' || code === 'EDQUOT') return this.error('NO_SPACE', `no space left on device under ${this.root}`, path, err);
    if (code === 'ENAMETOOLONG') return this.error('UNSAFE_PATH', `name too long for the host file system: ${err instanceof Error ? err.message : ''}`, path, err);
    if (code !== undefined && err instanceof Error) return this.error('IO_ERROR', err.message, path, err);
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The process umask (read without changing it where possible). */
function readUmask(): number {
  try {
    return process.umask();
  } catch {
    return 0o777; // unknown: always chmod
  }
}

/** The chunks of a (small) entry body (one promise per body, not per chunk). */
async function collectBody(body: EntryBody): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks;
}
