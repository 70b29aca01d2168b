// Indexes a tar archive by reading its headers only: one 512-byte read per header, the file data
// is skipped by offset arithmetic and never read. Resolves in-archive symlinks and hardlinks.
import { RangeReader, type PositionalFile } from '@oci2lxc/range-reader';
import { abortedError, OciImageError } from './errors.js';
import { shorten } from './message.js';
import { BLOCK, HeaderError, isZeroBlock, paddedSize, parseHeader, parsePaxRecords } from './tar-headers.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Normalised path (no `./`, no leading or trailing `/`). */
  path: string;
  type: TarEntryType;
  /** Absolute file offset of the entry's data. */
  offset: number;
  size: number;
  /** Link target as written in the archive (symlinks: relative to the link's directory). */
  linkname: string;
}

export interface IndexTarOptions {
  /** The archive's path, for messages. */
  archivePath: string;
  /** Called for each entry; returning false stops the scan early (a partial index). */
  onEntry?: (entry: TarEntry) => boolean;
  /** Stop after this many entries (a partial index). */
  maxEntries?: number;
  /** Checked before each header: an aborted signal stops the scan with an `ABORTED` error. */
  signal?: AbortSignal | undefined;
}

/** PAX and GNU long-name data is metadata, never large; cap it so a hostile header cannot make us allocate gigabytes. */
const MAX_META_SIZE = 1024 * 1024;
/** Symlink/hardlink hops while resolving one path, as Linux's MAXSYMLINKS. */
const MAX_LINK_HOPS = 40;

/**
 * Normalises a member name: drops `./`, leading `/`, empty components and trailing `/`, folds
 * `..`. Returns undefined for names that climb out of the archive root.
 */
export function normalizePath(name: string): string | undefined {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(c);
  }
  return parts.join('/');
}

function entryType(typeflag: string, name: string): TarEntryType {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      // V7 archives mark directories only by a trailing slash.
      return name.endsWith('/') ? 'dir' : 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '5':
      return 'dir';
    default:
      return 'other';
  }
}

/** Types whose size field does not announce data (as Go's archive/tar treats them). */
function headerOnly(typeflag: string): boolean {
  return typeflag >= '1' && typeflag <= '6';
}

/** One node of the path tree: a member at this exact path (if any) and the names below it. */
interface PathNode {
  entry: TarEntry | undefined;
  children: Map<string, PathNode> | undefined;
}

export class TarIndex {
  readonly archivePath: string;
  readonly entries: ReadonlyMap<string, TarEntry>;
  /** False when the scan was stopped early (maxEntries or onEntry). */
  readonly complete: boolean;
  /** Paths written more than once (not counting a directory repeated as a directory). */
  readonly duplicates: ReadonlySet<string>;
  #root: PathNode | undefined;

  constructor(archivePath: string, entries: Map<string, TarEntry>, complete: boolean, duplicates: ReadonlySet<string> = new Set()) {
    this.archivePath = archivePath;
    this.entries = entries;
    this.complete = complete;
    this.duplicates = duplicates;
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  /**
   * Follows symlinks (relative to the link's directory, in any path component) and hardlinks
   * (archive paths) to the regular file that holds the bytes. Undefined when nothing is there or
   * the path ends at something that is not a file. Throws LINK_LOOP after too many hops,
   * INVALID_TAR for a link that leads outside the archive and DUPLICATE_ENTRY when a member on
   * the way was written more than once (readers disagree on which copy counts).
   *
   * Linear in the length of the path plus the link targets followed (at most MAX_LINK_HOPS of
   * them): components are looked up one by one in a tree of the members' paths, never by
   * joining the path walked so far.
   */
  resolveFile(path: string): TarEntry | undefined {
    const root = (this.#root ??= buildTree(this.entries));
    // Components still to walk, last one first (a stack: pushing a link target is O(its length)).
    const pending = path.split('/').reverse();
    // The nodes walked so far; undefined below a name that does not exist (`..` can still climb back).
    const walked: (PathNode | undefined)[] = [];
    let hops = 0;
    let lastLink: TarEntry | undefined;
    const hop = (via: TarEntry): void => {
      lastLink = via;
      if (++hops > MAX_LINK_HOPS) {
        throw new OciImageError(
          'LINK_LOOP',
          `${this.archivePath}: too many levels of links resolving '${shorten(path)}' (loop at '${shorten(via.path)}' -> '${shorten(via.linkname)}')`,
          { subject: path },
        );
      }
    };
    const outside = (): OciImageError =>
      this.#outside(path, lastLink ? `${lastLink.path} ${lastLink.type === 'hardlink' ? '=>' : '->'} ${lastLink.linkname}` : path);
    while (pending.length > 0) {
      const c = pending.pop()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (walked.length === 0) throw outside();
        walked.pop();
        continue;
      }
      const parent = walked.length === 0 ? root : walked[walked.length - 1];
      const node = parent?.children?.get(c);
      const e = node?.entry;
      if (e !== undefined) this.#checkUnique(e.path, path);
      if (e?.type === 'symlink') {
        hop(e);
        if (e.linkname.startsWith('/') || e.linkname === '') throw outside();
        const target = e.linkname.split('/');
        for (let i = target.length - 1; i >= 0; i--) pending.push(target[i]!);
        continue;
      }
      if (e?.type === 'hardlink' && pending.length === 0) {
        hop(e);
        const target = normalizePath(e.linkname);
        if (target === undefined || target === '') throw outside();
        walked.length = 0;
        const parts = target.split('/');
        for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
        continue;
      }
      walked.push(node);
    }
    const e = walked.length === 0 ? undefined : walked[walked.length - 1]?.entry;
    return e?.type === 'file' ? e : undefined;
  }

  /** A reader over a resolved file's bytes. */
  reader(file: PositionalFile, entry: TarEntry): RangeReader {
    return new RangeReader(file, entry.offset, entry.size);
  }

  #checkUnique(member: string, path: string): void {
    if (!this.duplicates.has(member)) return;
    throw new OciImageError(
      'DUPLICATE_ENTRY',
      `${this.archivePath}: '${shorten(member)}' (needed for '${shorten(path)}') is in the archive more than once; readers disagree on which copy counts (skopeo's docker-archive reader takes the first, tar extraction the last), so the archive is refused`,
      { subject: member },
    );
  }

  #outside(path: string, link: string): OciImageError {
    return new OciImageError('INVALID_TAR', `${this.archivePath}: '${shorten(path)}' resolves outside the archive (via '${shorten(link)}')`, { subject: path });
  }
}

/** The members' paths as a tree of components, so a path resolves in time linear in its length. */
function buildTree(entries: ReadonlyMap<string, TarEntry>): PathNode {
  const root: PathNode = { entry: undefined, children: undefined };
  for (const [path, entry] of entries) {
    if (path === '') continue;
    let node = root;
    for (const c of path.split('/')) {
      node.children ??= new Map();
      let next = node.children.get(c);
      if (!next) {
        next = { entry: undefined, children: undefined };
        node.children.set(c, next);
      }
      node = next;
    }
    node.entry = entry;
  }
  return root;
}

/** Reads one block at `pos`; the caller has checked that the file is long enough. */
async function readBlock(file: PositionalFile, pos: number, block: Buffer): Promise<number> {
  let done = 0;
  while (done < BLOCK) {
    const { bytesRead } = await file.read(block, done, BLOCK - done, pos + done);
    if (!(bytesRead > 0)) break;
    done += bytesRead;
  }
  return done;
}

/** Scans `file` (of `fileSize` bytes) and indexes every member by its normalised path. */
export async function indexTar(file: PositionalFile, fileSize: number, options: IndexTarOptions): Promise<TarIndex> {
  const archive = options.archivePath;
  const entries = new Map<string, TarEntry>();
  const duplicates = new Set<string>();
  const block = Buffer.alloc(BLOCK);
  const global = new Map<string, string>();
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let last: string | undefined;
  let count = 0;
  let pos = 0;

  const after = (): string => (last === undefined ? 'at the start of the archive' : `after entry '${last}'`);
  const truncated = (what: string): OciImageError =>
    new OciImageError('TRUNCATED_ARCHIVE', `${archive}: archive is truncated: ${what} (file ends at ${fileSize} bytes)`, { subject: archive });

  const readMeta = async (size: number, kind: string): Promise<Buffer> => {
    if (size > MAX_META_SIZE) throw new OciImageError('INVALID_TAR', `${archive}: ${kind} header of ${size} bytes at offset ${pos} is too large`, { subject: archive });
    if (pos + BLOCK + size > fileSize) throw truncated(`${kind} header at offset ${pos} ${after()} needs ${size} bytes`);
    return new RangeReader(file, pos + BLOCK, size).readAll();
  };

  for (;;) {
    if (options.signal?.aborted) throw abortedError(archive, options.signal);
    if (options.maxEntries !== undefined && count >= options.maxEntries) return new TarIndex(archive, entries, false, duplicates);
    if (pos + BLOCK > fileSize) {
      if (pos === 0 && fileSize === 0) throw new OciImageError('NOT_AN_IMAGE', `${archive}: empty file, not an image archive`, { subject: archive });
      if (pos === fileSize) throw truncated(`no end-of-archive marker ${after()}`);
      throw truncated(`incomplete header at offset ${pos} ${after()}`);
    }
    if ((await readBlock(file, pos, block)) < BLOCK) throw truncated(`incomplete header at offset ${pos} ${after()}`);
    if (isZeroBlock(block)) {
      if (pax !== undefined || longName !== undefined || longLink !== undefined) {
        throw new OciImageError('INVALID_TAR', `${archive}: extended header at the end of the archive ${after()} describes no entry`, { subject: archive });
      }
      // The end is two zero blocks. One zero block followed by more data is a damaged header, as
      // Go's archive/tar (skopeo) says: members after it would be seen by some readers, not others.
      // A file ending right after one zero block is accepted, as Go and GNU tar do.
      if (pos + 2 * BLOCK <= fileSize) {
        if ((await readBlock(file, pos + BLOCK, block)) < BLOCK) throw truncated(`incomplete block at offset ${pos + BLOCK} ${after()}`);
        if (!isZeroBlock(block)) {
          throw new OciImageError('INVALID_TAR', `${archive}: invalid tar header: a single zero block at offset ${pos} ${after()} is followed by more data`, {
            subject: archive,
          });
        }
      } else if (pos + BLOCK < fileSize) throw truncated(`incomplete block at offset ${pos + BLOCK} ${after()}`);
      return new TarIndex(archive, entries, true, duplicates);
    }
    let h;
    try {
      h = parseHeader(block);
    } catch (err) {
      if (!(err instanceof HeaderError)) throw err;
      throw new OciImageError('INVALID_TAR', `${archive}: invalid tar header at offset ${pos} ${after()}: ${err.message}`, { subject: archive, cause: err });
    }
    try {
      if (h.typeflag === 'x' || h.typeflag === 'g') {
        const records = parsePaxRecords(await readMeta(h.size, 'PAX'));
        const target = h.typeflag === 'g' ? global : (pax ??= new Map());
        for (const [k, v] of records) target.set(k, v);
        pos += BLOCK + paddedSize(h.size);
        continue;
      }
      if (h.typeflag === 'L' || h.typeflag === 'K') {
        const data = await readMeta(h.size, 'GNU long name');
        const nul = data.indexOf(0);
        const value = data.toString('utf8', 0, nul < 0 ? data.length : nul);
        if (h.typeflag === 'L') longName = value;
        else longLink = value;
        pos += BLOCK + paddedSize(h.size);
        continue;
      }
    } catch (err) {
      if (!(err instanceof HeaderError)) throw err;
      throw new OciImageError('INVALID_TAR', `${archive}: invalid extended header at offset ${pos} ${after()}: ${err.message}`, { subject: archive, cause: err });
    }

    const name = longName ?? pax?.get('path') ?? global.get('path') ?? h.name;
    const linkname = longLink ?? pax?.get('linkpath') ?? global.get('linkpath') ?? h.linkname;
    let size = h.size;
    const paxSize = pax?.get('size') ?? global.get('size');
    if (paxSize !== undefined) {
      if (!/^[0-9]{1,16}$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
        throw new OciImageError('INVALID_TAR', `${archive}: invalid PAX size ${JSON.stringify(paxSize)} for entry '${name}'`, { subject: name });
      }
      size = Number(paxSize);
    }
    if (headerOnly(h.typeflag)) size = 0;
    pax = undefined;
    longName = undefined;
    longLink = undefined;

    const offset = pos + BLOCK;
    if (offset + size > fileSize) throw truncated(`entry '${name}' needs ${size} bytes at offset ${offset}`);
    const type = entryType(h.typeflag, name);
    const path = normalizePath(name);
    last = name;
    count++;
    // Entries that climb out of the root can never be named by an image, so they are not indexed.
    if (path !== undefined) {
      const entry: TarEntry = { path, type, offset, size, linkname };
      // A later member of the same name replaces an earlier one, as on extraction; resolveFile()
      // refuses to use such a path at all (readers disagree on which copy counts).
      const before = entries.get(path);
      if (before !== undefined && !(before.type === 'dir' && type === 'dir')) duplicates.add(path);
      entries.set(path, entry);
      if (options.onEntry && !options.onEntry(entry)) return new TarIndex(archive, entries, false, duplicates);
    }
    pos = offset + paddedSize(size);
  }
}
