import { configValueProblem, encodeConfigValue, parseConfigLine } from './confvalue.js';
import type { LxcCapabilities } from './types.js';

// C isspace() in the "C" locale, used by lxc_string_split_quoted.
const C_SPACE = /[ \t\n\v\f\r]/;

/**
 * Model of how LXC turns the `lxc.init.cmd` value into argv when lxc-start runs the configured
 * command:
 * - before 6.0 (src/lxc/lxccontainer.c split_init_cmd): strtok on " " — runs of spaces collapse,
 *   tabs and quotes are ordinary characters;
 * - 6.0 and later (commit 3f45443fd, src/lxc/string_utils.c lxc_string_split_quoted): words are
 *   separated by isspace(); a word starting with " or ' runs to the next same quote (no escapes,
 *   quotes removed); a quote inside an unquoted word is literal; an unterminated quoted word is dropped.
 */
export function splitInitCmd(value: string, caps: Pick<LxcCapabilities, 'quotedInitCmd'>): string[] {
  if (!caps.quotedInitCmd) return value.split(' ').filter((w) => w !== '');
  const words: string[] = [];
  let state: 'space' | 'word' | '"' | "'" = 'space';
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (state === 'space') {
      if (C_SPACE.test(ch)) continue;
      start = i;
      state = ch === '"' || ch === "'" ? ch : 'word';
    } else if (state === 'word') {
      if (C_SPACE.test(ch)) {
        words.push(value.slice(start, i));
        state = 'space';
      }
    } else if (ch === state) {
      words.push(value.slice(start + 1, i));
      state = 'space';
    }
  }
  if (state === 'word') words.push(value.slice(start));
  return words;
}

export type InitCmdEncoding = { ok: true; value: string } | { ok: false; index: number; reason: string };

function argProblem(arg: string, caps: Pick<LxcCapabilities, 'quotedInitCmd'>): { problem?: string; text?: string } {
  const control = /[\x00-\x08\x0a-\x1f\x7f]/.exec(arg);
  if (control) return { problem: `contains the control character ${JSON.stringify(control[0])}, which no config line can carry` };
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(arg)) return { problem: 'is not valid Unicode (a lone surrogate)' };
  if (!caps.quotedInitCmd) {
    if (arg === '') return { problem: 'is empty, and LXC < 6.0 splits lxc.init.cmd on spaces (an empty argument needs quote-aware splitting, LXC >= 6.0)' };
    if (arg.includes(' ')) return { problem: 'contains a space, and LXC < 6.0 splits lxc.init.cmd on spaces (quoting it needs LXC >= 6.0)' };
    return { text: arg };
  }
  if (arg !== '' && !C_SPACE.test(arg) && arg[0] !== '"' && arg[0] !== "'") return { text: arg };
  if (!arg.includes('"')) return { text: `"${arg}"` };
  if (!arg.includes("'")) return { text: `'${arg}'` };
  return { problem: 'needs quoting but contains both \' and ", and lxc.init.cmd has no escape character in any LXC version' };
}

/** Encode argv as the `lxc.init.cmd` value LXC must read (the config encoder adds line quoting), checked against the {@link splitInitCmd} model. */
export function encodeInitCmd(argv: string[], caps: Pick<LxcCapabilities, 'quotedInitCmd'>): InitCmdEncoding {
  const parts: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const { problem, text } = argProblem(argv[i]!, caps);
    if (problem !== undefined) return { ok: false, index: i, reason: problem };
    parts.push(text!);
  }
  const joined = parts.join(' ');
  const lineProblem = configValueProblem(joined);
  if (lineProblem !== undefined) {
    // Only a leading tab in argv[0] or a trailing tab in the last argument gets here (stock split).
    const index = /^[ \t]/.test(joined) ? 0 : argv.length - 1;
    return { ok: false, index, reason: `${index === 0 ? 'starts' : 'ends'} with a tab, which LXC trims from the config line` };
  }
  // Belt and braces: what LXC will read back must be exactly argv.
  const read = splitInitCmd(parseConfigLine(`lxc.init.cmd = ${encodeConfigValue(joined, 'lxc.init.cmd')}`)!.value, caps);
  if (read.length !== argv.length || read.some((a, i) => a !== argv[i])) {
    return { ok: false, index: 0, reason: 'does not survive LXC parsing of lxc.init.cmd' };
  }
  return { ok: true, value: joined };
}
