// The oci2lxc command: dispatch, global flags, error reporting and exit statuses.
import type { Command, Io } from './command.js';
import { UsageError, errorCode, errorDetails, errorLine } from './errors.js';
import { printable } from './format.js';
import { inspect } from './commands/inspect.js';
import { extract } from './commands/extract.js';
import { config } from './commands/config.js';
import { create } from './commands/create.js';
import { pull } from './commands/pull.js';
import { cache } from './commands/cache.js';

import { version } from './version.js';

export const commands: readonly Command[] = [inspect, extract, config, create, pull, cache];

export const mainHelp = `oci2lxc ${version}: turn OCI image archives into LXC containers

Usage: oci2lxc <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`).join('\n')}

Global options:
  -h, --help      help (also: oci2lxc <command> --help)
  -V, --version   print the version
  -q, --quiet     no progress or notes on stderr

Archives are what 'docker save', 'podman save --format oci-archive' or
'skopeo copy … oci-archive:FILE' / 'docker-archive:FILE' write.

Exit status: 0 success, 1 failure (one line on stderr with the error code), 2 usage error.

Example:
  oci2lxc create web nginx.tar && lxc-start -n web`;

/** Runs the CLI; resolves to the exit status (never throws). */
export async function main(argv: string[], io?: Partial<Io>): Promise<number> {
  const controller = new AbortController();
  const streams: Io = {
    stdout: io?.stdout ?? process.stdout,
    stderr: io?.stderr ?? process.stderr,
    signal: io?.signal ?? controller.signal,
  };
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0]) return main([rest[0], '--help'], io);
    streams.stdout.write(`${mainHelp}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    streams.stdout.write(`${version}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    streams.stderr.write(`oci2lxc: unknown command '${printable(name)}'\nRun 'oci2lxc --help' for the list of commands.\n`);
    return 2;
  }
  try {
    return await command.run(rest, streams);
  } catch (err) {
    return reportError(err, streams, command, wantsJson(rest));
  }
}

/** `--json` among the options (before a `--`): a failure is also reported as JSON on stdout. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

function reportError(err: unknown, io: Io, command: Command, json: boolean): number {
  if (err instanceof UsageError) {
    io.stderr.write(`oci2lxc ${command.name}: ${printable(err.message)}\nRun 'oci2lxc ${command.name} --help' for usage.\n`);
    return 2;
  }
  const code = errorCode(err) ?? 'INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`oci2lxc ${command.name}: error ${printable(code)}: ${printable(errorLine(message))}\n`);
  // Scripts get the whole story: the full message and any list the error line had to cut.
  if (json) io.stdout.write(`${JSON.stringify({ error: { code, message, ...errorDetails(err) } }, null, 2)}\n`);
  if (code === 'INTERNAL' && process.env.OCI2LXC_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return 1;
}
