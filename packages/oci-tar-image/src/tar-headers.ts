// Decoding of single tar header blocks and PAX records: one parser, shared by archive indexing
// (tar-index.ts) and layer reading (@oci2lxc/oci-extract), exact to Go's archive/tar.

export const BLOCK = 512;

/** Why a header block could not be decoded (the caller adds the archive offset). */
export class HeaderError extends Error {
  override readonly name = 'HeaderError';
}

export interface RawHeader {
  /** Name from the header (ustar prefix joined), before PAX or GNU overrides. */
  name: string;
  linkname: string;
  size: number;
  typeflag: string;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * A numeric field: octal text (NUL/space padded), or GNU base-256 when the top bit of the first
 * byte is set (used for sizes of 8 GiB and more).
 */
export function parseNumeric(block: Uint8Array, off: number, len: number, field: string): number {
  const first = block[off] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new HeaderError(`negative base-256 ${field}`);
    let v = BigInt(first & 0x7f);
    for (let i = off + 1; i < off + len; i++) v = (v << 8n) | BigInt(block[i] ?? 0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new HeaderError(`${field} too large`);
    return Number(v);
  }
  const text = Buffer.from(block.buffer, block.byteOffset + off, len).toString('latin1');
  const trimmed = text.replace(/[\0 ]+$/, '').replace(/^[ ]+/, '');
  if (trimmed === '') return 0;
  if (!/^[0-7]+$/.test(trimmed)) throw new HeaderError(`invalid ${field} field ${JSON.stringify(text.replace(/\0+$/, ''))}`);
  const v = parseInt(trimmed, 8);
  if (!Number.isSafeInteger(v)) throw new HeaderError(`${field} too large`);
  return v;
}

/** Decodes one non-zero header block (see decodeHeaderBlock). Throws HeaderError on a bad checksum or field. */
export function parseHeader(block: Uint8Array): RawHeader {
  const h = decodeHeaderBlock(block);
  if (h.size < 0) throw new HeaderError('negative size');
  return {
    name: h.name.toString('utf8'),
    linkname: h.linkname.toString('utf8'),
    size: h.size,
    typeflag: String.fromCharCode(h.typeflag),
  };
}

/**
 * PAX extended header records: `"<len> <key>=<value>\n"`, where len counts the whole record.
 * Values are UTF-8 (binary values such as xattrs are irrelevant here and decoded lossily).
 */
export function parsePaxRecords(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) break; // NUL padding after the last record
    const space = buf.indexOf(0x20, pos);
    if (space < 0) throw new HeaderError('malformed PAX record (no length)');
    const lenText = buf.toString('latin1', pos, space);
    if (!/^[0-9]{1,10}$/.test(lenText)) throw new HeaderError(`malformed PAX record length ${JSON.stringify(lenText)}`);
    const len = parseInt(lenText, 10);
    const end = pos + len;
    if (len <= space - pos + 1 || end > buf.length || buf[end - 1] !== 0x0a) throw new HeaderError('malformed PAX record');
    const record = buf.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw new HeaderError('malformed PAX record (no key)');
    out.set(record.toString('utf8', 0, eq), record.toString('utf8', eq + 1));
    pos = end;
  }
  return out;
}

/** Rounds a data size up to whole blocks. */
export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

// ---- Exact decoding, as Go's archive/tar reads a header (shared with @oci2lxc/oci-extract) ----
// Go's archive/tar is what Docker, containerd and umoci read layers with; a layer must mean the
// same to us as to them. Names stay raw bytes (no decoding); numbers are exact or refused.

/** The header format, from the magic fields (as Go's `getFormat`). */
export type HeaderFormat = 'v7' | 'ustar' | 'gnu' | 'star';

/** One header block decoded exactly, before PAX or GNU long-name overrides. */
export interface HeaderBlock {
  format: HeaderFormat;
  /** Name bytes up to the first NUL (ustar/star prefix joined with `/`). */
  name: Buffer;
  /** Link name bytes up to the first NUL. */
  linkname: Buffer;
  /** The typeflag byte. */
  typeflag: number;
  /** All numeric fields as stored (two's complement base-256 may be negative). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

/** Bytes of a field up to its first NUL (Go's parseString). */
function fieldBytes(block: Uint8Array, off: number, len: number): Buffer {
  const b = Buffer.from(block.buffer, block.byteOffset + off, len);
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

/**
 * Go's parseOctal on `block[off, off + len)`: trim spaces and NULs at both ends, cut at an inner
 * NUL, then octal digits only (a number while exact, else a bigint below 2^64).
 */
function parseOctalAt(block: Uint8Array, off: number, len: number, field: string): number | bigint {
  let s = off;
  let e = off + len;
  while (s < e && (block[s] === 0x20 || block[s] === 0)) s++;
  while (e > s && (block[e - 1] === 0x20 || block[e - 1] === 0)) e--;
  for (let i = s; i < e; i++) {
    if (block[i] === 0) {
      e = i;
      break;
    }
  }
  const bad = (): HeaderError =>
    new HeaderError(`invalid ${field} field ${JSON.stringify(Buffer.from(block.buffer, block.byteOffset + off, len).toString('latin1').replace(/\0+$/, ''))}`);
  if (e - s <= 17) {
    // 8^17 = 2^51: exact as a number (the common case: no BigInt per field).
    let v = 0;
    for (let i = s; i < e; i++) {
      const c = block[i]!;
      if (c < 0x30 || c > 0x37) throw bad();
      v = v * 8 + (c - 0x30);
    }
    return v;
  }
  let v = 0n;
  for (let i = s; i < e; i++) {
    const c = block[i]!;
    if (c < 0x30 || c > 0x37) throw bad();
    v = (v << 3n) | BigInt(c - 0x30);
  }
  if (v >> 64n) throw new HeaderError(`${field} too large`);
  return v;
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** Go's parseNumeric: base-256 (two's complement) when the top bit is set, else octal. */
function parseNumericExact(block: Uint8Array, off: number, len: number, field: string): number {
  let v: bigint;
  if (block[off]! & 0x80) {
    const inv = block[off]! & 0x40 ? 0xff : 0;
    let x = 0n;
    for (let i = 0; i < len; i++) {
      let c = block[off + i]! ^ inv;
      if (i === 0) c &= 0x7f;
      if (x >> 56n) throw new HeaderError(`${field} too large`);
      x = (x << 8n) | BigInt(c);
    }
    if (x >> 63n) throw new HeaderError(`${field} too large`);
    v = inv ? -x - 1n : x;
  } else {
    const o = parseOctalAt(block, off, len, field);
    if (typeof o === 'number') return o;
    v = o >> 63n ? BigInt.asIntN(64, o) : o; // Go converts the uint64 to int64
  }
  // Stricter than Go (documented): values JavaScript cannot hold exactly are refused.
  if (v > MAX_EXACT || v < -MAX_EXACT) throw new HeaderError(`${field} too large`);
  return Number(v);
}

/** Go's checksum test: octal, equal to the unsigned or the signed byte sum. */
function checksumExact(block: Uint8Array): boolean {
  let stored: number | bigint;
  try {
    stored = parseOctalAt(block, 148, 8, 'checksum');
  } catch {
    return false;
  }
  let unsigned = 0;
  let high = 0; // bytes >= 0x80, which the signed sum counts 256 lower
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    if (b >= 0x80) high++;
  }
  const signed = unsigned - 256 * high;
  return stored === unsigned || stored === signed;
}

function isAsciiBytes(b: Buffer): boolean {
  for (const c of b) if (c >= 0x80) return false;
  return true;
}

/** True when `block[off, off + text.length)` holds exactly the (ASCII) `text`. */
function bytesAre(block: Uint8Array, off: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (block[off + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** The header format of a block, or undefined when its checksum is wrong (Go's getFormat). */
export function headerFormat(block: Uint8Array): HeaderFormat | undefined {
  if (!checksumExact(block)) return undefined;
  if (bytesAre(block, 257, 'ustar\0')) return bytesAre(block, 508, 'tar\0') ? 'star' : 'ustar';
  if (bytesAre(block, 257, 'ustar ') && bytesAre(block, 263, ' \0')) return 'gnu';
  return 'v7';
}

/**
 * Decodes one non-zero header block exactly as Go's archive/tar `readHeader` does. Throws
 * HeaderError on a bad checksum or a malformed numeric field.
 */
export function decodeHeaderBlock(block: Uint8Array): HeaderBlock {
  const format = headerFormat(block);
  if (format === undefined) throw new HeaderError('header checksum mismatch');
  let name = fieldBytes(block, 0, 100);
  const h: HeaderBlock = {
    format,
    name,
    linkname: fieldBytes(block, 157, 100),
    typeflag: block[156]!,
    size: parseNumericExact(block, 124, 12, 'size'),
    mode: parseNumericExact(block, 100, 8, 'mode'),
    uid: parseNumericExact(block, 108, 8, 'uid'),
    gid: parseNumericExact(block, 116, 8, 'gid'),
    mtime: parseNumericExact(block, 136, 12, 'mtime'),
    devmajor: 0,
    devminor: 0,
  };
  if (format === 'v7') return h;
  h.devmajor = parseNumericExact(block, 329, 8, 'devmajor');
  h.devminor = parseNumericExact(block, 337, 8, 'devminor');
  let prefix: Buffer | undefined;
  if (format === 'ustar') prefix = fieldBytes(block, 345, 155);
  else if (format === 'star') {
    prefix = fieldBytes(block, 345, 131);
    parseNumericExact(block, 476, 12, 'atime'); // errors count, as in Go
    parseNumericExact(block, 488, 12, 'ctime');
  } else {
    // GNU keeps atime/ctime where ustar has its prefix; files of Go < 1.8 put a prefix there.
    try {
      if (block[345] !== 0) parseNumericExact(block, 345, 12, 'atime');
      if (block[357] !== 0) parseNumericExact(block, 357, 12, 'ctime');
    } catch (err) {
      if (!(err instanceof HeaderError)) throw err;
      const p = fieldBytes(block, 345, 155);
      if (isAsciiBytes(p)) prefix = p;
    }
  }
  if (prefix !== undefined && prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  h.name = name;
  return h;
}

/**
 * PAX records parsed strictly, as Go's parsePAXRecord: `"<len> <key>=<value>\n"` with len the
 * exact decimal length of the whole record (leading zeros allowed, no sign), a non-empty key
 * without `=`, no NUL in a key nor in a path/linkpath/uname/gname value, nothing after the last
 * record. Keys are byte strings (latin1), values raw bytes. Throws HeaderError naming the record.
 */
export function parsePaxExact(data: Uint8Array): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let n = 0;
  let sparse = 0; // GNU sparse 0.0 offset/numbytes pairs: order checked, as Go does
  while (pos < buf.length) {
    n++;
    const bad = (why: string): HeaderError => new HeaderError(`malformed PAX record ${n} at byte ${pos}: ${why}`);
    const space = buf.indexOf(0x20, pos);
    if (space < 0) throw bad('no length');
    const digits = buf.subarray(pos, space);
    if (digits.length === 0 || digits.length > 16) throw bad('bad length');
    let len = 0;
    for (const c of digits) {
      if (c < 0x30 || c > 0x39) throw bad('length is not decimal');
      len = len * 10 + (c - 0x30);
    }
    if (len < 5 || len > buf.length - pos) throw bad(`length ${len} runs past the data`);
    if (len <= digits.length + 1) throw bad(`length ${len} too short`);
    const end = pos + len;
    if (buf[end - 1] !== 0x0a) throw bad('record does not end with a newline at its length');
    const rec = buf.subarray(space + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw bad('no key');
    const key = rec.toString('latin1', 0, eq);
    const value = rec.subarray(eq + 1);
    if (key === 'path' || key === 'linkpath' || key === 'uname' || key === 'gname') {
      if (value.includes(0)) throw bad(`NUL byte in ${key}`);
    } else if (key.includes('\0')) throw bad('NUL byte in key');
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') {
      if ((sparse % 2 === 0) !== (key === 'GNU.sparse.offset') || value.includes(0x2c)) throw bad('GNU sparse records out of order');
      sparse++;
      out.set('GNU.sparse.map', Buffer.from('')); // marks the entry sparse (we refuse those)
    } else out.set(key, Buffer.from(value));
    pos = end;
  }
  return out;
}
