// What the applier needs of a tar entry, from a TarHeader of our reader (tar-reader.ts). Names are
// byte strings (latin1: one char per byte), exactly the bytes of the header or PAX record.
import type { TarHeader } from './tar-reader.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'link' | 'char' | 'block' | 'fifo' | 'unsupported';

export interface TarEntryInfo {
  /** Entry name as a byte string (PAX `path` and GNU long names applied). */
  name: string;
  /** Symlink target or hardlink name, byte string ('' when none). */
  linkname: string;
  type: EntryType;
  /** Why the entry is unsupported, when it is. */
  unsupported?: string;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (fractional with PAX; negative before 1970). */
  mtime: number;
  atime: number;
  size: number;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.*` records: attribute name (byte string) → raw value. */
  xattrs: Map<string, Buffer>;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};

const UNSUPPORTED: Record<string, string> = {
  S: 'GNU sparse file',
  M: 'GNU multi-volume continuation',
  V: 'GNU volume label',
  D: 'GNU dump directory',
  N: 'GNU old long name',
  // Docker, containerd and umoci refuse it too ("unhandled tar header type").
  '7': 'contiguous file',
};

/** The applier's view of a header. */
export function entryInfo(h: TarHeader): TarEntryInfo {
  let type: EntryType = TYPES[h.typeflag] ?? 'unsupported';
  let unsupported: string | undefined;
  if (h.sparse) {
    type = 'unsupported';
    unsupported = 'GNU sparse files are not supported';
  } else if (type === 'unsupported') {
    const code = h.typeflag.charCodeAt(0);
    const flag = code >= 0x21 && code < 0x7f ? `'${h.typeflag}'` : `0x${code.toString(16).padStart(2, '0')}`;
    unsupported = `unsupported tar entry type ${flag}${UNSUPPORTED[h.typeflag] ? ` (${UNSUPPORTED[h.typeflag]})` : ''}`;
  }
  const mtime = h.mtimeSec + h.mtimeNsec / 1e9;
  return {
    name: h.name,
    linkname: h.linkname,
    type,
    ...(unsupported ? { unsupported } : {}),
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    mtime,
    atime: h.atime ? h.atime.sec + h.atime.nsec / 1e9 : mtime,
    size: h.size,
    devmajor: h.devmajor,
    devminor: h.devminor,
    xattrs: h.xattrs,
  };
}
