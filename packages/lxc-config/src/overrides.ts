import { LxcConfigError, show } from './errors.js';
import type { RuntimeConfig } from './types.js';

/**
 * `docker run` options that change what the image runs. Apply them with {@link applyOverrides}
 * before {@link buildLxcConfig}, so the result goes through the same checks as image values.
 */
export interface RunOverrides {
  /**
   * Environment entries in order (`--env-file` lines first, then `-e`, as Docker reads them):
   * `KEY=VALUE` sets or replaces KEY; a bare `KEY` removes it (Docker's form for a `-e KEY` whose
   * variable the caller's environment does not have).
   */
  env?: readonly string[];
  /** `--entrypoint`: replaces Entrypoint and clears the image's Cmd; `''` leaves no Entrypoint. */
  entrypoint?: string;
  /** Arguments after the image name: replace Cmd. */
  cmd?: readonly string[];
  /** `-u/--user`: `name|uid[:group|gid]`. */
  user?: string;
  /** `-w/--workdir`: absolute path. */
  workdir?: string;
  /** `--stop-signal`. */
  stopSignal?: string;
}

function envName(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * Docker's semantics, applied to a copy of the image config: `--entrypoint` resets Cmd (the
 * image's default command belongs to its entrypoint), trailing arguments replace Cmd, `-e`
 * replaces a variable of the same name in place or appends it, `-u`, `-w`, `--stop-signal`
 * replace the image's values. Pure.
 */
export function applyOverrides(image: RuntimeConfig, o: RunOverrides): RuntimeConfig {
  const out: RuntimeConfig = { ...image };
  if (o.entrypoint !== undefined) {
    out.Entrypoint = o.entrypoint === '' ? null : [o.entrypoint];
    out.Cmd = null;
  }
  if (o.cmd !== undefined && o.cmd.length > 0) out.Cmd = [...o.cmd];
  if (o.env !== undefined && o.env.length > 0) {
    const env = [...(image.Env ?? [])];
    for (const e of o.env) {
      const name = envName(e);
      if (name === '') throw new LxcConfigError('INVALID_ARGUMENT', `--env ${show(e)} has no variable name`, '--env');
      const i = env.findIndex((x) => envName(x) === name);
      if (!e.includes('=')) {
        if (i >= 0) env.splice(i, 1);
      } else if (i >= 0) env[i] = e;
      else env.push(e);
    }
    out.Env = env;
  }
  if (o.user !== undefined) out.User = o.user;
  if (o.workdir !== undefined) {
    if (!o.workdir.startsWith('/')) throw new LxcConfigError('INVALID_ARGUMENT', `--workdir ${show(o.workdir)} is not an absolute path`, '--workdir');
    out.WorkingDir = o.workdir;
  }
  if (o.stopSignal !== undefined) out.StopSignal = o.stopSignal;
  return out;
}

/** Parse `--memory` as Docker does: a number with an optional b, k, m, g suffix (binary units); minimum 6 MiB. */
export function parseMemory(value: string): number {
  const m = /^([0-9]+)([bkmg]?)$/i.exec(value);
  const mult = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;
  if (!m) throw new LxcConfigError('INVALID_ARGUMENT', `--memory ${show(value)} is not a size (e.g. 512m, 2g)`, '--memory');
  const bytes = Number(m[1]) * mult[m[2]!.toLowerCase() as keyof typeof mult];
  if (!Number.isSafeInteger(bytes) || bytes < 6 * 1024 * 1024) throw new LxcConfigError('INVALID_ARGUMENT', `--memory ${show(value)} must be at least 6m`, '--memory');
  return bytes;
}

/** Parse `--cpus` as Docker does (a positive decimal) into a cgroup2 `cpu.max` value: quota and a 100 ms period. */
export function parseCpus(value: string): string {
  if (!/^([0-9]+(\.[0-9]*)?|\.[0-9]+)$/.test(value) || Number(value) <= 0 || Number(value) > 4096) {
    throw new LxcConfigError('INVALID_ARGUMENT', `--cpus ${show(value)} is not a positive number of CPUs (e.g. 1.5)`, '--cpus');
  }
  const period = 100_000;
  return `${Math.max(1000, Math.round(Number(value) * period))} ${period}`;
}
