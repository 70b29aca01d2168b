// Entry names are handled as "byte strings" (latin1: one char per byte, every char <= 0xFF), so
// names that are not valid UTF-8 reach the file system byte for byte. Every fs call converts with
// `bytes()`, which refuses any char above 0xFF: latin1 encoding would keep only its low byte
// (U+012F would become `/`), and the safety checks ran on the chars, not on those bytes.

/** Thrown when a string that should hold bytes holds a char above 0xFF (a bug, never data). */
export class ByteStringError extends Error {
  override readonly name = 'ByteStringError';
}

// eslint-disable-next-line no-control-regex
const NOT_BYTES = /[^\x00-\xff]/;

/** Throws unless every char of `s` is a byte (<= 0xFF). */
export function assertByteString(s: string): string {
  if (NOT_BYTES.test(s)) throw new ByteStringError('internal error: a path is not a byte string (a char above 0xFF)');
  return s;
}

/** A byte string as a Buffer, for fs calls: exactly its chars as bytes, or a ByteStringError. */
export function bytes(s: string): Buffer {
  return Buffer.from(assertByteString(s), 'latin1');
}

/** A byte string as readable text (for messages and error fields). */
export function display(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** A UTF-8 string (an option given by the caller) as a byte string. */
export function fromUtf8(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/**
 * Splits an entry name (a byte string) into clean components as if the rootfs were `/`: empty and
 * `.` components are dropped, `..` removes the previous component and stops at the root, a
 * leading `/` means nothing. The result never contains `.`, `..` or ''. The check runs on the
 * very bytes later used (see `bytes`).
 */
export function cleanComponents(name: string): string[] {
  assertByteString(name);
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

/** `parent/base`, where '' is the root. */
export function joinRel(parent: string, base: string): string {
  return parent === '' ? base : `${parent}/${base}`;
}
