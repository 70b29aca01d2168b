// tar-stream 3 parses the tar; this wrapper adds what it leaves out: PAX records as raw bytes
// (xattr values such as security.capability are binary, and tar-stream decodes PAX values as
// UTF-8), PAX uid/gid/mtime/atime, and GNU sparse detection. Names are byte strings (latin1).
import { extract as tarExtract, type Extract, type Header } from 'tar-stream';

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
  /** Seconds since the epoch (fractional with PAX). */
  mtime: number;
  atime: number;
  size: number;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.*` records: attribute name (byte string) → raw value. */
  xattrs: Map<string, Buffer>;
}

/** Parses PAX records into byte-string keys and raw values; stops at the first malformed one. */
export function decodePaxRaw(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = Number.parseInt(buf.toString('latin1', off, sp), 10);
    if (!(len > 0) || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1); // without the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq < 0) break;
    out.set(rec.toString('latin1', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

const TYPES: Record<string, EntryType> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'link',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

interface ExtractInternals {
  _header: { type: string | null } | null;
  _decodeLongHeader(buf: Buffer): void;
}

/**
 * A tar-stream extractor plus a function that turns each emitted header into a TarEntryInfo
 * (call it synchronously in the 'entry' handler: it consumes the PAX records seen just before).
 */
export function createTarParser(): { extract: Extract; info(header: Header): TarEntryInfo } {
  // filenameEncoding is a tar-stream option its typings do not list.
  const ex = tarExtract({ filenameEncoding: 'latin1' } as Parameters<typeof tarExtract>[0]);
  let global = new Map<string, Buffer>();
  let local: Map<string, Buffer> | undefined;
  let raw = false;
  // Capture the raw PAX bytes before tar-stream decodes them (lossy) — an internal hook; if a
  // future tar-stream renames it we fall back to its decoded strings.
  const internals = ex as unknown as ExtractInternals;
  const original = internals._decodeLongHeader;
  if (typeof original === 'function') {
    raw = true;
    internals._decodeLongHeader = function (this: ExtractInternals, buf: Buffer): void {
      const type = this._header?.type;
      if (type === 'pax-header') local = new Map([...global, ...decodePaxRaw(buf)]);
      else if (type === 'pax-global-header') {
        // A global path/linkpath would rename every later entry: ignore those two.
        const g = decodePaxRaw(buf);
        g.delete('path');
        g.delete('linkpath');
        global = new Map([...global, ...g]);
      }
      original.call(this, buf);
    };
  }

  function info(h: Header): TarEntryInfo {
    let pax = local ?? global;
    local = undefined;
    if (!raw) {
      const decoded = (h.pax ?? {}) as Record<string, string>;
      pax = new Map(Object.entries(decoded).map(([k, v]) => [Buffer.from(k, 'utf8').toString('latin1'), Buffer.from(v, 'utf8')]));
    }
    const num = (key: string): number | undefined => {
      const v = pax.get(key);
      if (v === undefined) return undefined;
      const n = Number.parseFloat(v.toString('latin1'));
      return Number.isFinite(n) ? n : undefined;
    };
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);

    const rawType = h.type as string | null; // null for typeflags tar-stream does not know
    let type: EntryType = (rawType && TYPES[rawType]) || 'unsupported';
    let unsupported: string | undefined = type === 'unsupported' ? `unsupported tar entry type ${rawType ?? '(unknown typeflag, e.g. GNU sparse or multi-volume)'}` : undefined;
    if (pax.has('GNU.sparse.major') || pax.has('GNU.sparse.map') || pax.has('GNU.sparse.numblocks') || pax.has('GNU.sparse.size')) {
      type = 'unsupported';
      unsupported = 'GNU sparse files are not supported';
    }
    const mtime = num('mtime') ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
    return {
      name: pax.get('path')?.toString('latin1') ?? h.name,
      linkname: pax.get('linkpath')?.toString('latin1') ?? h.linkname ?? '',
      type,
      ...(unsupported ? { unsupported } : {}),
      mode: (h.mode ?? 0) & 0o7777,
      uid: num('uid') ?? h.uid ?? 0,
      gid: num('gid') ?? h.gid ?? 0,
      mtime: Number.isFinite(mtime) ? mtime : 0,
      atime: num('atime') ?? (Number.isFinite(mtime) ? mtime : 0),
      size: h.size ?? 0,
      devmajor: h.devmajor ?? 0,
      devminor: h.devminor ?? 0,
      xattrs,
    };
  }
  return { extract: ex, info };
}
