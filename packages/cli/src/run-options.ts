// `docker run`-style options of create, config and the LXC template: -e/--env, --env-file,
// --entrypoint, -u/--user, -w/--workdir, --stop-signal, trailing `-- CMD ARGS…`, -v/--volume,
// --memory, --cpus, --autostart. Image-changing options become RunOverrides (applied to the image
// config before lxc-config maps it); the rest become config lines.
import { lstatSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  bindMountLine,
  encodeConfigValue,
  ensureDirectoryInRoot,
  isLxcConfigError,
  mountTarget,
  parseCpus,
  parseMemory,
  parseSignal,
  writeFileInRoot,
  type LxcConfigLine,
  type RunOverrides,
} from '@oci2lxc/lxc-config';
import type { OptionSpec } from './args.js';
import { CliError, UsageError } from './errors.js';

export const runOptions = {
  env: { type: 'string', short: 'e', multiple: true },
  'env-file': { type: 'string', multiple: true },
  entrypoint: { type: 'string' },
  user: { type: 'string', short: 'u' },
  workdir: { type: 'string', short: 'w' },
  'stop-signal': { type: 'string' },
  volume: { type: 'string', short: 'v', multiple: true },
  memory: { type: 'string', short: 'm' },
  cpus: { type: 'string' },
  autostart: { type: 'boolean' },
} as const satisfies OptionSpec;

export const runHelp = `  -e, --env K=V|K     set a variable (K alone: this shell's value; unset here: removed), repeatable
  --env-file FILE     KEY=VALUE / KEY lines (# comments), read before -e
  --entrypoint CMD    replace the image's Entrypoint (and drop its Cmd, as docker run does)
  -- CMD ARGS…        after everything else: replace the image's Cmd
  -u, --user U[:G]    run as this user (name or id)
  -w, --workdir DIR   working directory
  --stop-signal SIG   signal lxc-stop sends
  -v, --volume HOST:PATH[:ro]  bind-mount a host directory or file (repeatable)
  -m, --memory SIZE   memory limit (lxc.cgroup2.memory.max), e.g. 512m
  --cpus N            CPU limit (lxc.cgroup2.cpu.max), e.g. 1.5
  --autostart         start with the host (lxc.start.auto)`;

/** One parsed --volume. */
export interface Volume {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface RunRequest {
  overrides: RunOverrides;
  volumes: Volume[];
  memory?: number;
  cpus?: string;
  autostart: boolean;
}

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

/**
 * Refuse a mount target with a symlink among its existing components (LXC refuses to mount
 * through one, and following it could lead out of the rootfs). Each prefix is checked before the
 * next is looked at, so lstat never passes through a symlink.
 */
function assertNoSymlinkOnTheWay(rootfs: string, target: string): void {
  const comps = mountTarget(target).split('/');
  let p = rootfs;
  for (const [i, comp] of comps.entries()) {
    p = join(p, comp);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    const where = `/${comps.slice(0, i + 1).join('/')}`;
    if (st.isSymbolicLink()) throw new CliError('UNSAFE_PATH', `--volume target ${target}: ${where} is a symbolic link in the image; mount at the path it points to instead`);
    if (!st.isDirectory() && i < comps.length - 1) throw new CliError('UNSAFE_PATH', `--volume target ${target}: ${where} is not a directory in the image`);
  }
}

/**
 * The lxc.mount.entry lines of the volumes, creating each host directory when missing (as
 * `docker run -v` does) and each mount point inside the rootfs chroot-style (never outside).
 */
export function volumeLines(volumes: readonly Volume[], rootfs: string | undefined): LxcConfigLine[] {
  return volumes.map((vol) => {
    let isFile = false;
    try {
      isFile = statSync(vol.source).isFile();
    } catch {
      mkdirSync(vol.source, { recursive: true });
    }
    if (rootfs !== undefined) {
      assertNoSymlinkOnTheWay(rootfs, vol.target);
      if (isFile) {
        let exists = false;
        try {
          exists = lstatSync(join(rootfs, mountTarget(vol.target))).isFile();
        } catch {
          exists = false;
        }
        if (!exists) writeFileInRoot(rootfs, vol.target, '', 0o644);
      } else ensureDirectoryInRoot(rootfs, vol.target);
    }
    return bindMountLine({ source: vol.source, target: vol.target, readOnly: vol.readOnly, file: isFile });
  });
}

/** Limits and autostart as LXC keys (cgroup v2). */
export function limitLines(r: RunRequest): LxcConfigLine[] {
  const out: LxcConfigLine[] = [];
  if (r.memory !== undefined) out.push({ key: 'lxc.cgroup2.memory.max', value: String(r.memory) });
  if (r.cpus !== undefined) out.push({ key: 'lxc.cgroup2.cpu.max', value: encodeConfigValue(r.cpus, '--cpus') });
  if (r.autostart) out.push({ key: 'lxc.start.auto', value: '1' });
  return out;
}

/** The same for a Proxmox pct.conf, as options (key: value): mpN bind mounts, memory (MiB), cpulimit, onboot. */
export function pveRunOptions(r: RunRequest): LxcConfigLine[] {
  const out: LxcConfigLine[] = [];
  r.volumes.forEach((vol, i) => {
    for (const p of [vol.source, vol.target]) if (/[,=\s]/.test(p) || /[\x00-\x1f\x7f]/.test(p)) throw new CliError('INVALID_ARGUMENT', `--volume path ${JSON.stringify(p)}: pct.conf mount points cannot hold ',', '=' or blanks`);
    out.push({ key: `mp${i}`, value: `${vol.source},mp=${vol.target}${vol.readOnly ? ',ro=1' : ''}` });
  });
  if (r.memory !== undefined) out.push({ key: 'memory', value: String(Math.max(16, Math.floor(r.memory / 1024 / 1024))) });
  if (r.cpus !== undefined) out.push({ key: 'cpulimit', value: (Number(r.cpus.split(' ')[0]) / 100_000).toString() });
  if (r.autostart) out.push({ key: 'onboot', value: '1' });
  return out;
}

/** Every config line of the run options (volumes, limits, autostart) for an LXC config. */
export function runLines(r: RunRequest | undefined, rootfs: string | undefined): LxcConfigLine[] {
  if (!r) return [];
  return [...volumeLines(r.volumes, rootfs), ...limitLines(r)];
}

/**
 * The image's declared volumes (Config.Volumes) no --volume covers. Rule: they are not given
 * host directories (LXC keeps the whole rootfs on the host and across restarts, unlike Docker's
 * container layer); the user is told, so that data meant to outlive the container can go to a
 * host directory with --volume.
 */
export function volumesWarning(declared: Record<string, unknown> | null | undefined, r: RunRequest | undefined): string | undefined {
  const covered = new Set((r?.volumes ?? []).map((v) => `/${mountTarget(v.target)}`));
  const left = Object.keys(declared ?? {}).filter((p) => !covered.has(`/${p.split('/').filter(Boolean).join('/')}`));
  if (left.length === 0) return undefined;
  return `the image declares volumes ${left.map((p) => JSON.stringify(p)).join(', ')}: they stay in the container's rootfs (kept across restarts, removed with the container); to keep them on the host, add --volume /host/dir:PATH`;
}
