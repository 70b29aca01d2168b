import { parse, positionals as checkPositionals, renderHelp, type HelpText, type OptionDef, type OptionSpec } from './args.js';

/** Where a command writes, and how it learns of Ctrl-C. */
export interface Io {
  stdout: { write(chunk: string): boolean };
  stderr: { write(chunk: string): boolean; isTTY?: boolean };
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  /** `--help`, rendered from `options`. */
  help: string;
  /** Every option the command's parser accepts, with its help. */
  options: OptionSpec;
  /** Resolves to the exit status; throws UsageError (2) or a coded error (1). */
  run(argv: string[], io: Io): Promise<number>;
}

/** What a command's body gets: the parsed options, the positionals, and what followed `--`. */
export interface Parsed<T extends OptionSpec, A extends readonly string[]> {
  values: ReturnType<typeof parse<T>>['values'];
  /** The positionals named in `args`, by name. */
  args: Record<A[number], string>;
  positionals: string[];
  /** After a `--` (commands with `trailing`): the container's new Cmd. */
  cmd: string[] | undefined;
}

/**
 * A command whose parser and `--help` come from one option table: argv is parsed strictly (a
 * usage error exits 2), `-h/--help` prints the help, the positionals are checked against `args`,
 * then `body` runs.
 */
export function defineCommand<T extends OptionSpec & { readonly help: OptionDef & { type: 'boolean' } }, const A extends readonly string[] = []>(def: {
  name: string;
  summary: string;
  text: HelpText;
  options: T;
  /** The positionals, exactly these (a missing or extra one is a usage error naming it). */
  args?: A;
  /** Everything after the first `--` is a command line, not options. */
  trailing?: boolean;
  body(parsed: Parsed<T, A>, io: Io): Promise<number>;
}): Command {
  const help = renderHelp(def.text, def.options);
  return {
    name: def.name,
    summary: def.summary,
    help,
    options: def.options,
    async run(argv, io) {
      const end = def.trailing ? argv.indexOf('--') : -1;
      const { values, positionals } = parse(def.name, end < 0 ? argv : argv.slice(0, end), def.options);
      // Every command has -h/--help (the constraint on T); TypeScript cannot see it through parseArgs' generic types.
      if ((values as { help?: boolean }).help) {
        io.stdout.write(`${help}\n`);
        return 0;
      }
      const args = {} as Record<A[number], string>;
      if (def.args) checkPositionals(def.name, positionals, [...def.args]).forEach((v, i) => (args[def.args![i] as A[number]] = v));
      return def.body({ values, args, positionals, cmd: end < 0 ? undefined : argv.slice(end + 1) }, io);
    },
  };
}
