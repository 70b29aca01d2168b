// Decoding of single tar header blocks and PAX records. Just what indexing needs: names, sizes,
// types and link names; ustar, GNU and PAX forms.

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

function cString(block: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && block[end] !== 0) end++;
  return Buffer.from(block.buffer, block.byteOffset + off, end - off).toString('utf8');
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

/**
 * The stored checksum must equal the sum of the header bytes with the checksum field counted as
 * spaces. Old tars summed signed bytes; both sums are accepted, as GNU tar does.
 */
function checksumOk(block: Uint8Array): boolean {
  let stored: number;
  try {
    stored = parseNumeric(block, 148, 8, 'checksum');
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += b;
    signed += b >= 128 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** Decodes one non-zero header block. Throws HeaderError on a bad checksum or field. */
export function parseHeader(block: Uint8Array): RawHeader {
  if (!checksumOk(block)) throw new HeaderError('header checksum mismatch');
  const magic = Buffer.from(block.buffer, block.byteOffset + 257, 6).toString('latin1');
  let name = cString(block, 0, 100);
  // The prefix field exists only in POSIX ustar ("ustar\0"); GNU ("ustar  ") keeps times there.
  if (magic === 'ustar\0') {
    const prefix = cString(block, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const typeflag = String.fromCharCode(block[156] ?? 0);
  return {
    name,
    linkname: cString(block, 157, 100),
    size: parseNumeric(block, 124, 12, 'size'),
    typeflag,
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
