import { LxcConfigError, show } from './errors.js';

/*
 * How LXC reads a config line (src/lxc/parse.c lxc_file_for_each_line_mmap, src/lxc/confile.c
 * parse_line, LXC 5.0.2 .. 7.0.0):
 * - the file is split into lines on any of "\r\n\0";
 * - leading ' '/'\t' are skipped; a line then starting with '#' is a comment ('#' elsewhere is data);
 * - key and value are split at the first '='; the value loses leading ' '/'\t' and trailing
 *   ' '/'\t'/'\n'/'\0';
 * - if the value then starts with ' or " and ends with the same quote (length > 1), both are removed.
 * Proxmox's pct.conf parser (PVE::LXC::Config::parse_pct_config) additionally trims \s around the
 * value and its `entrypoint`/`env` options reject control characters except tab.
 */

// Control characters other than tab: a line break for LXC (\r, \n, \0), or refused by pve.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Why `value` cannot be written as a config value, or undefined if it can. */
export function configValueProblem(value: string): string | undefined {
  if (value === '') return 'is empty (an empty value clears the key in LXC)';
  const c = CONTROL.exec(value);
  if (c) return `contains the control character ${show(c[0])}, which cannot appear in a config line`;
  // A lone surrogate has no UTF-8 form: it would be written as U+FFFD, not as the image says.
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value)) return 'is not valid Unicode (a lone surrogate)';
  if (/^[ \t]/.test(value)) return 'starts with whitespace, which LXC trims';
  if (/[ \t]$/.test(value)) return 'ends with whitespace, which LXC trims';
  return undefined;
}

/** Text to write after `key = ` so LXC reads exactly `value`. Throws INVALID_ARGUMENT naming `field`. */
export function encodeConfigValue(value: string, field: string): string {
  const problem = configValueProblem(value);
  if (problem) throw new LxcConfigError('INVALID_ARGUMENT', `${field} ${show(value)} ${problem}`, field);
  const q = value[0];
  // LXC strips one pair of matching outer quotes, so add a pair that it can strip.
  if ((q === '"' || q === "'") && value.length > 1 && value.endsWith(q)) return q + value + q;
  return value;
}

/** Model of LXC's parse_line for one line: `{ key, value }` as LXC sees them, or undefined (comment, blank, non-lxc). */
export function parseConfigLine(line: string): { key: string; value: string } | undefined {
  const l = line.replace(/^[ \t]+/, '');
  if (l === '' || l.startsWith('#') || !l.startsWith('lxc.')) return undefined;
  const eq = l.indexOf('=');
  if (eq < 0) return undefined;
  const key = l.slice(0, eq).replace(/[ \t\n\0]+$/, '');
  let value = l.slice(eq + 1).replace(/^[ \t]+/, '').replace(/[ \t\n\0]+$/, '');
  const q = value[0];
  if ((q === '"' || q === "'") && value.length > 1 && value.endsWith(q)) value = value.slice(1, -1);
  return { key, value };
}

/** Model of LXC reading a whole config file (lines split on \r, \n, \0). */
export function parseConfigText(text: string): Array<{ key: string; value: string }> {
  const out: Array<{ key: string; value: string }> = [];
  for (const line of text.split(/[\r\n\0]/)) {
    const parsed = parseConfigLine(line);
    if (parsed) out.push(parsed);
  }
  return out;
}
