// Argument parsing on node:util parseArgs (no dependency): strict, with usage errors that exit 2.
// Each option is declared once, with its help text: the parser and `--help` read the same table,
// so the help cannot list an option the parser refuses or leave out one it accepts.
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/** One option: what parseArgs needs, plus its line in the help. */
export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The value's name in the help (string options), e.g. DIR. */
  value?: string;
  /** The help text: one line, or several (printed under each other). */
  help: string | readonly string[];
  /** The heading the option is listed under (default: "Options"). */
  group?: string;
}

export type OptionSpec = Readonly<Record<string, OptionDef>>;

export const commonOptions = {
  json: { type: 'boolean', help: 'print one JSON document on stdout' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress or notes on stderr' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const satisfies OptionSpec;

export const selectOptions = {
  platform: { type: 'string', value: 'P', help: "select the image for platform P (default: this host's, e.g. linux/amd64)" },
  ref: { type: 'string', value: 'NAME', help: 'select the image by name or tag (OCI ref.name, Docker RepoTags)' },
} as const satisfies OptionSpec;

export function parse<T extends OptionSpec>(command: string, argv: string[], options: T): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options: parserOptions(options), allowPositionals: true, strict: true }) as ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify a positional.*$/s, '') : String(err), command);
  }
}

/** The table as parseArgs takes it (only the keys it knows). */
export function parserOptions(spec: OptionSpec): Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> {
  return Object.fromEntries(
    Object.entries(spec).map(([name, o]) => [name, { type: o.type, ...(o.short !== undefined ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
}

/** Exactly `names.length` positionals, named in the error. */
export function positionals(command: string, given: string[], names: string[]): string[] {
  if (given.length < names.length) throw new UsageError(`missing <${names[given.length]}>`, command);
  if (given.length > names.length) throw new UsageError(`unexpected argument '${given[names.length]}'`, command);
  return given;
}

export function oneOf<T extends string>(command: string, flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got '${value}')`, command);
}

/** What a command's `--help` says besides its options. */
export interface HelpText {
  /** Usage line(s), without "Usage: ". */
  usage: string;
  /** What the command does (paragraphs). */
  about: string;
  /** Printed between the description and the options (e.g. sub-commands). */
  more?: string;
  examples?: readonly string[];
  /** Printed last (e.g. where image references are explained). */
  footer?: string;
}

const HELP_COLUMN = 22;

/** The help's lines for one option: `  -s, --name VALUE   text`. */
function optionLines(name: string, o: OptionDef): string[] {
  const left = `  ${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`;
  const text = typeof o.help === 'string' ? [o.help] : [...o.help];
  const pad = ' '.repeat(HELP_COLUMN);
  const first = left.length + 2 <= HELP_COLUMN ? `${left.padEnd(HELP_COLUMN)}${text[0]}` : `${left}  ${text[0]}`;
  return [first, ...text.slice(1).map((t) => `${pad}${t}`)];
}

/** `--help` of a command, its options listed from the table the parser uses, group by group. */
export function renderHelp(h: HelpText, options: OptionSpec): string {
  const groups = new Map<string, string[]>();
  for (const [name, o] of Object.entries(options)) {
    const group = o.group ?? 'Options';
    groups.set(group, [...(groups.get(group) ?? []), ...optionLines(name, o)]);
  }
  const parts = [`Usage: ${h.usage}`, h.about];
  if (h.more) parts.push(h.more);
  for (const [group, lines] of groups) parts.push(`${group}:\n${lines.join('\n')}`);
  if (h.examples?.length) parts.push(`Examples:\n${h.examples.map((e) => `  ${e}`).join('\n')}`);
  if (h.footer) parts.push(h.footer);
  return parts.join('\n\n');
}
