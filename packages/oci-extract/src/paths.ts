// Entry names are handled as "byte strings" (latin1-decoded), so names that are not valid UTF-8
// reach the file system byte for byte. Every fs call converts with `bytes()`.

/** A byte string as a Buffer, for fs calls. */
export function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
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
 * Splits an entry name into clean components as if the rootfs were `/`: empty and `.` components
 * are dropped, `..` removes the previous component and stops at the root, a leading `/` means
 * nothing. The result never contains `.`, `..` or ''.
 */
export function cleanComponents(name: string): string[] {
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
