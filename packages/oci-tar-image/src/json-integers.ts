// JSON numbers that must be integers as written. JSON.parse turns `415e0` and `2.0` into the
// integers 415 and 2, but Go's encoding/json (skopeo, containerd, Docker) refuses them for an
// integer field; so do we, by looking at the raw text (Node 20's JSON.parse cannot show it).

/** The integer fields of image-spec indexes, manifests and descriptors. */
export const INTEGER_KEYS: ReadonlySet<string> = new Set(['schemaVersion', 'size']);

export interface NonIntegerNumber {
  key: string;
  /** The number as written, e.g. `415e0`. */
  literal: string;
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/**
 * Finds the first number written as a value of one of `keys` (at any depth) that is not a plain
 * integer literal. One linear pass over `text`, which must be valid JSON (parse it first).
 */
export function findNonIntegerNumber(text: string, keys: ReadonlySet<string> = INTEGER_KEYS): NonIntegerNumber | undefined {
  let key: string | undefined; // the property whose value comes next
  let lastString: string | undefined;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === 0x5c /* \ */) {
          escaped = true;
          j++; // the escaped character, whatever it is
        } else if (c === 0x22) break;
      }
      // Keys are compared decoded; only strings with escapes need decoding.
      lastString = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
      i = j + 1;
      continue;
    }
    if (ch === 0x3a /* : */) {
      key = lastString;
      i++;
      continue;
    }
    if (ch === 0x2c /* , */ || ch === 0x7b /* { */ || ch === 0x5b /* [ */ || ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      key = undefined;
      i++;
      continue;
    }
    if (ch === 0x2d /* - */ || (ch >= 0x30 && ch <= 0x39)) {
      let j = i + 1;
      while (j < n && /[0-9eE+.-]/.test(text[j]!)) j++;
      const literal = text.slice(i, j);
      if (key !== undefined && keys.has(key) && !INTEGER.test(literal)) return { key, literal };
      key = undefined;
      i = j;
      continue;
    }
    i++;
  }
  return undefined;
}
