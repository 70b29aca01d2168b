// `docker run`-style options of create, config and the LXC template: -e/--env, --env-file,
// --entrypoint, -u/--user, -w/--workdir, --stop-signal, trailing `-- CMD ARGS…`, -v/--volume,
// --memory, --cpus, --autostart. Image-changing options become RunOverrides (applied to the image
// config before lxc-config maps it); the rest become config lines (@oci2lxc/lxc-container).
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { bindMountLine, isLxcConfigError, parseCpus, parseMemory, parseSignal, type RunOverrides } from '@oci2lxc/lxc-config';
import type { RunRequest, Volume } from '@oci2lxc/lxc-container';
import type { OptionSpec } from './args.js';
import { UsageError } from './errors.js';

const RUN = 'docker run options';

export const runOptions = {
  env: { type: 'string', short: 'e', multiple: true, value: 'K=V|K', group: RUN, help: "set a variable (K alone: this shell's value; unset here: removed), repeatable" },
  'env-file': { type: 'string', multiple: true, value: 'FILE', group: RUN, help: 'KEY=VALUE / KEY lines (# comments), read before -e' },
  entrypoint: {
    type: 'string',
    value: 'CMD',
    group: RUN,
    help: ["replace the image's Entrypoint (and drop its Cmd, as docker run does)", "-- CMD ARGS… after everything else replaces the image's Cmd"],
  },
  user: { type: 'string', short: 'u', value: 'U[:G]', group: RUN, help: 'run as this user (name or id)' },
  workdir: { type: 'string', short: 'w', value: 'DIR', group: RUN, help: 'working directory' },
  'stop-signal': { type: 'string', value: 'SIG', group: RUN, help: 'signal lxc-stop sends' },
  volume: { type: 'string', short: 'v', multiple: true, value: 'HOST:PATH[:ro]', group: RUN, help: 'bind-mount a host directory or file (repeatable)' },
  memory: { type: 'string', short: 'm', value: 'SIZE', group: RUN, help: 'memory limit (lxc.cgroup2.memory.max), e.g. 512m' },
  cpus: { type: 'string', value: 'N', group: RUN, help: 'CPU limit (lxc.cgroup2.cpu.max), e.g. 1.5' },
  autostart: { type: 'boolean', group: RUN, help: 'start with the host (lxc.start.auto)' },
} as const satisfies OptionSpec;

interface RunValues {
  env?: string[] | undefined;
  'env-file'?: string[] | undefined;
  entrypoint?: string | undefined;
  user?: string | undefined;
  workdir?: string | undefined;
  'stop-signal'?: string | undefined;
  volume?: string[] | undefined;
  memory?: string | undefined;
  cpus?: string | undefined;
  autostart?: boolean | undefined;
}

/** Split argv at the first `--`: options before it, the new Cmd after it. */
export function splitCommand(argv: readonly string[]): { options: string[]; cmd: string[] | undefined } {
  const i = argv.indexOf('--');
  return i < 0 ? { options: [...argv], cmd: undefined } : { options: argv.slice(0, i), cmd: argv.slice(i + 1) };
}

// Docker's opts.ParseEnvFile: leading blanks trimmed, blank and # lines skipped, the name must have no blanks.
function envFileEntries(command: string, path: string, hostEnv: NodeJS.ProcessEnv): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--env-file ${path}: ${(err as Error).message}`, command);
  }
  const out: string[] = [];
  text.replace(/^\uFEFF/, '').split('\n').forEach((raw, n) => {
    const line = raw.replace(/^[ \t\r\f\v]+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) return;
    out.push(envEntry(command, line, hostEnv, `--env-file ${path}:${n + 1}`));
  });
  return out;
}

function envEntry(command: string, entry: string, hostEnv: NodeJS.ProcessEnv, where: string): string {
  const eq = entry.indexOf('=');
  const name = eq < 0 ? entry : entry.slice(0, eq);
  if (name === '' || /\s/.test(name)) throw new UsageError(`${where}: variable name ${JSON.stringify(name)} is empty or has blanks`, command);
  if (eq >= 0) return entry;
  const host = hostEnv[name];
  return host === undefined ? name : `${name}=${host}`;
}

function parseVolume(command: string, spec: string): Volume {
  // HOST:CONTAINER[:ro|rw]; paths are absolute, so the last ':ro'/':rw' is the mode.
  let rest = spec;
  let readOnly = false;
  const m = /:(ro|rw)$/.exec(rest);
  if (m) {
    readOnly = m[1] === 'ro';
    rest = rest.slice(0, -3);
  }
  const colon = rest.indexOf(':/');
  if (colon < 0) throw new UsageError(`--volume ${JSON.stringify(spec)} must be /HOST/PATH:/CONTAINER/PATH[:ro] (named volumes are not supported)`, command);
  const source = rest.slice(0, colon);
  const target = rest.slice(colon + 1);
  if (!isAbsolute(source)) throw new UsageError(`--volume ${JSON.stringify(spec)}: the host path must be absolute`, command);
  try {
    // The whole line is checked now, so a bad value is a usage error before anything is written.
    bindMountLine({ source, target, readOnly });
  } catch (err) {
    if (isLxcConfigError(err)) throw new UsageError(err.message, command);
    throw err;
  }
  return { source, target, readOnly };
}

/** Parse and check the run options. `cmd` is what followed `--`. */
export function runRequestFrom(command: string, v: RunValues, cmd: string[] | undefined, hostEnv: NodeJS.ProcessEnv = process.env): RunRequest {
  try {
    const env = [...(v['env-file'] ?? []).flatMap((f) => envFileEntries(command, f, hostEnv)), ...(v.env ?? []).map((e) => envEntry(command, e, hostEnv, `--env ${JSON.stringify(e)}`))];
    if (v['stop-signal'] !== undefined) parseSignal(v['stop-signal']);
    if (v.workdir !== undefined && !v.workdir.startsWith('/')) throw new UsageError(`--workdir ${JSON.stringify(v.workdir)} must be an absolute path`, command);
    if (v.user !== undefined && v.user === '') throw new UsageError('--user must not be empty', command);
    const overrides: RunOverrides = {
      ...(env.length ? { env } : {}),
      ...(v.entrypoint !== undefined ? { entrypoint: v.entrypoint } : {}),
      ...(cmd !== undefined && cmd.length > 0 ? { cmd } : {}),
      ...(v.user !== undefined ? { user: v.user } : {}),
      ...(v.workdir !== undefined ? { workdir: v.workdir } : {}),
      ...(v['stop-signal'] !== undefined ? { stopSignal: v['stop-signal'] } : {}),
    };
    return {
      overrides,
      volumes: (v.volume ?? []).map((s) => parseVolume(command, s)),
      ...(v.memory !== undefined ? { memory: parseMemory(v.memory) } : {}),
      ...(v.cpus !== undefined ? { cpus: parseCpus(v.cpus) } : {}),
      autostart: !!v.autostart,
    };
  } catch (err) {
    if (isLxcConfigError(err)) throw new UsageError(err.message, command);
    throw err;
  }
}
