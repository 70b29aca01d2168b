import { encodeConfigValue, parseConfigText } from './confvalue.js';
import { LxcConfigError, show } from './errors.js';

/*
 * The one encoder for config text. Every byte of an LXC config, a pct.conf fragment or a config
 * comment that oci2lxc writes goes through ConfigDocument: keys are checked against a strict
 * pattern, values through encodeConfigValue (refused when LXC cannot read them back exactly), and
 * comments (which may carry hostile text: archive paths, image names, labels) are escaped so they
 * can never end the line. render() then re-parses its own output with the model of LXC's (or
 * pve's) parser and refuses to return text whose entries differ from the ones added.
 */

/** Which file a document is rendered for: an LXC config, or a Proxmox /etc/pve/lxc/<vmid>.conf. */
export type ConfigFlavor = 'lxc' | 'pve';

/** An LXC key: `lxc.` then dot-separated words (letters, digits, `_`, `-`), as LXC's key table and pve's `lxc\.[a-z0-9_\-\.]+` have them. */
const LXC_KEY = /^lxc(?:\.[A-Za-z0-9_-]+)+$/;
/** pve only accepts lower-case raw LXC keys. */
const PVE_LXC_KEY = /^lxc(?:\.[a-z0-9_-]+)+$/;
/** A pct.conf option (`cmode`, `entrypoint`, …): pve's `^([a-z][a-z_]*\d*):`. */
const PVE_OPTION = /^[a-z][a-z_]*\d*$/;
/** pve's description (the comment lines, decoded) is limited to 8 KiB (Config.pm `maxLength => 1024 * 8`). */
export const PVE_DESCRIPTION_LIMIT = 8192;

type Item =
  | { kind: 'comment'; text: string }
  | { kind: 'blank' }
  | { kind: 'entry'; key: string; value: string }
  | { kind: 'clear'; key: string }
  | { kind: 'option'; key: string; value: string };

/** A key and the value LXC reads for it. */
export interface ConfigEntry {
  key: string;
  value: string;
}

/**
 * Render untrusted text for a comment line: JSON-string escapes for `\` , C0 controls, DEL, C1
 * controls (U+0080..U+009F, which include NEL U+0085), U+2028/U+2029 and lone surrogates, so the
 * result is one line for LXC (which splits on \r, \n, NUL), for pve (\n) and for any reader that
 * honours Unicode line breaks; printable text, including non-ASCII letters, stays as it is.
 */
export function escapeComment(text: string): string {
  return text.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => {
    switch (c) {
      case '\\': return '\\\\';
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\t': return '\\t';
      case '\b': return '\\b';
      case '\f': return '\\f';
      default: return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
}

// PVE::Tools::encode_text: pct.conf comment lines are the description, URI-decoded on read. Every
// byte outside printable ASCII (and '%', ':') is %XX, so no line break or control survives.
function pveEncodeText(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const safe = (byte >= 0x20 && byte <= 0x24) || (byte >= 0x26 && byte <= 0x39) || (byte >= 0x3b && byte <= 0x7e);
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function badKey(key: string, why: string): LxcConfigError {
  return new LxcConfigError('INVALID_KEY', `config key ${show(key)} ${why}`, key);
}

/**
 * A config file (or fragment) under construction: comments, `key = value` entries, pve options.
 * Build it, then {@link ConfigDocument.render} it; nothing else writes config text.
 *
 * ```ts
 * const doc = new ConfigDocument().comment(`image ${untrustedName}`).entry('lxc.uts.name', 'web');
 * writeFileSync(path, doc.render('lxc'));
 * ```
 */
export class ConfigDocument {
  readonly #items: Item[] = [];

  /** A comment line; `text` may be anything (it is escaped, never able to start a new line). */
  comment(text: string): this {
    this.#items.push({ kind: 'comment', text: String(text) });
    return this;
  }

  /** An empty line (layout only). */
  blank(): this {
    this.#items.push({ kind: 'blank' });
    return this;
  }

  /**
   * `key = value`, where `value` is exactly what LXC must read. Throws `INVALID_KEY` for a key
   * outside `lxc.word(.word)*`, `INVALID_ARGUMENT` (naming `field`, default the key) for a value no
   * config line can carry: empty, control characters, leading or trailing whitespace.
   */
  entry(key: string, value: string, field: string = key): this {
    if (!LXC_KEY.test(key)) throw badKey(key, 'is not an LXC key (lxc.word.word…)');
    encodeConfigValue(value, field);
    this.#items.push({ kind: 'entry', key, value });
    return this;
  }

  /** `key =` with nothing after it: LXC's way of clearing a list key (e.g. a host default). */
  clear(key: string): this {
    if (!LXC_KEY.test(key)) throw badKey(key, 'is not an LXC key (lxc.word.word…)');
    this.#items.push({ kind: 'clear', key });
    return this;
  }

  /** A pct.conf option (`cmode: console`, `entrypoint: …`); only the pve flavour can render it. */
  option(key: string, value: string, field: string = key): this {
    if (!PVE_OPTION.test(key) || key === 'lxc') throw badKey(key, 'is not a pct.conf option name');
    encodeConfigValue(value, field);
    this.#items.push({ kind: 'option', key, value });
    return this;
  }

  /** Adds all of `other`'s lines after this document's. */
  append(other: ConfigDocument): this {
    this.#items.push(...other.#items);
    return this;
  }

  /** The entries LXC will read from the rendered lxc flavour, in order (cleared keys have value ''). */
  get entries(): ConfigEntry[] {
    return this.#items.flatMap((i) => (i.kind === 'entry' ? [{ key: i.key, value: i.value }] : i.kind === 'clear' ? [{ key: i.key, value: '' }] : []));
  }

  /**
   * The text, ending in a newline. `lxc`: `# comment` and `key = value` lines. `pve`: `#comment`
   * lines (URI-encoded: pve's description; dropped, with a note, past pve's 8 KiB limit),
   * `option: value` and `lxc.key: value` lines. Throws when the output would not parse back to
   * exactly the entries added (a bug, never expected).
   */
  render(flavor: ConfigFlavor): string {
    const out: string[] = [];
    if (flavor === 'lxc') {
      for (const i of this.#items) {
        if (i.kind === 'comment') out.push(`# ${escapeComment(i.text)}`);
        else if (i.kind === 'blank') out.push('');
        else if (i.kind === 'entry') out.push(`${i.key} = ${encodeConfigValue(i.value, i.key)}`);
        else if (i.kind === 'clear') out.push(`${i.key} =`);
        else throw badKey(i.key, 'is a Proxmox option; it has no meaning in an LXC config');
      }
      const text = `${out.join('\n')}\n`;
      this.#verify(parseConfigText(text), this.entries);
      return text;
    }
    out.push(...this.#pveDescription());
    const expected: ConfigEntry[] = [];
    for (const i of this.#items) {
      if (i.kind === 'comment' || i.kind === 'blank') continue;
      if (i.kind !== 'option' && !PVE_LXC_KEY.test(i.key)) throw badKey(i.key, 'has characters pve does not accept in a raw LXC key (lxc.[a-z0-9_-.]+)');
      const value = i.kind === 'clear' ? '' : encodeConfigValue(i.value, i.key);
      out.push(value === '' ? `${i.key}:` : `${i.key}: ${value}`);
      expected.push({ key: i.key, value });
    }
    const text = `${out.join('\n')}\n`;
    this.#verify(parsePveText(text), expected);
    return text;
  }

  #pveDescription(): string[] {
    const lines: string[] = [];
    let used = 0;
    const comments = this.#items.flatMap((i) => (i.kind === 'comment' ? [i.text] : []));
    for (let n = 0; n < comments.length; n++) {
      // pve decodes each line and adds "\n"; count UTF-8 bytes (the limit is checked on what pve reads).
      const size = Buffer.byteLength(comments[n]!, 'utf8') + 1;
      const rest = comments.length - n;
      const note = `(${rest} more comment line${rest === 1 ? '' : 's'} left out: Proxmox limits the description to ${PVE_DESCRIPTION_LIMIT} bytes)`;
      const mustFitNote = n < comments.length - 1 ? note.length + 1 : 0;
      if (used + size + mustFitNote > PVE_DESCRIPTION_LIMIT) {
        lines.push(`#${pveEncodeText(note)}`);
        break;
      }
      used += size;
      lines.push(`#${pveEncodeText(comments[n]!)}`);
    }
    return lines;
  }

  #verify(read: ConfigEntry[], expected: ConfigEntry[]): void {
    const same = read.length === expected.length && read.every((r, i) => r.key === expected[i]!.key && r.value === expected[i]!.value);
    if (!same) throw new LxcConfigError('INVALID_ARGUMENT', `rendered config does not read back as written (${show(JSON.stringify(read))})`);
  }
}

/**
 * Model of pve-container's parse_pct_config for the lines a fragment holds: split on "\n"; `#…`
 * is description; `lxc.key: value` / `lxc.key = value` and `option: value` with \s trimmed.
 * Returns the non-comment entries with the value as written (pve keeps LXC quotes for LXC).
 */
export function parsePveText(text: string): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const line of text.split('\n')) {
    // Perl's \s on pve's byte strings: ASCII whitespace only.
    if (/^[ \t\r\f\v]*$/.test(line) || line.startsWith('#')) continue;
    const lxc = /^(lxc\.[a-z0-9_\-.]+)(?::|[ \t\r\f\v]*=)[ \t\r\f\v]*(.*?)[ \t\r\f\v]*$/s.exec(line);
    if (lxc) {
      out.push({ key: lxc[1]!, value: lxc[2]! });
      continue;
    }
    const opt = /^([a-z][a-z_]*\d*):[ \t\r\f\v]*(.+?)[ \t\r\f\v]*$/s.exec(line);
    // Anything else is a line pve refuses: report it as such so verification fails.
    out.push(opt ? { key: opt[1]!, value: opt[2]! } : { key: '(unparsable)', value: line });
  }
  return out;
}
