import { configValueProblem, encodeConfigValue } from './confvalue.js';
import { buildEnv } from './env.js';
import { LxcConfigError, show } from './errors.js';
import { encodeInitCmd } from './initcmd.js';
import { isDirectoryInRoot, isExecutableInRoot } from './rootfs.js';
import { renderWrapper, SHELL_NAME } from './shell.js';
import { parseSignal } from './signal.js';
import type { EnvRoute, ImageConfig, LxcCapabilities, LxcConfigLine, LxcPlan, StartWrapper } from './types.js';
import { resolveUser } from './user.js';

/** Options of {@link buildLxcConfig}. */
export interface BuildOptions {
  /** Target LXC: {@link capabilitiesFor} or {@link detectCapabilities}. */
  capabilities: LxcCapabilities;
  /** Host path of the extracted rootfs: resolves user names and HOME, checks /bin/sh and WorkingDir. */
  rootfs?: string;
  /**
   * How the environment reaches the entrypoint:
   * - `auto` (default): `lxc.environment.runtime` when the target has it, else the start wrapper;
   * - `plain`: like auto, but plain `lxc.environment` on targets without `.runtime` (hook scripts see it too);
   * - `wrapper`: always the start wrapper.
   * Values that no config line can carry (newline, trailing space, …) always go through the wrapper.
   */
  envMode?: 'auto' | 'plain' | 'wrapper';
  /** Image name for messages. */
  imageName?: string;
  /** Path of the start wrapper inside the container. Default `/.oci2lxc/init`. */
  wrapperPath?: string;
}

/** Where the start wrapper goes unless told otherwise. */
export const DEFAULT_WRAPPER_PATH = '/.oci2lxc/init';
const SHELL = '/bin/sh';

function stringArray(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new LxcConfigError('INVALID_VALUE', `${field} is not an array of strings`, field);
  }
  return value as string[];
}

/**
 * Map an image config to LXC config lines, and a start wrapper when the target LXC cannot carry
 * the argv or the environment in its config. Pure apart from reading the rootfs (if given).
 */
export function buildLxcConfig(image: ImageConfig, options: BuildOptions): LxcPlan {
  const caps = options.capabilities;
  const imageName = options.imageName ?? 'the image';
  const rootfs = options.rootfs;
  const warnings: string[] = [];

  // argv: Docker's rules — Entrypoint + Cmd; Cmd alone when there is no Entrypoint.
  const entrypoint = stringArray(image.Entrypoint, 'Entrypoint');
  const cmd = stringArray(image.Cmd, 'Cmd');
  const argv = [...entrypoint, ...cmd];
  const fieldOf = (i: number): string => (i < entrypoint.length ? `Entrypoint[${i}]` : `Cmd[${i - entrypoint.length}]`);
  if (argv.length === 0) throw new LxcConfigError('EMPTY_COMMAND', `${imageName} has neither Entrypoint nor Cmd: nothing to run`, 'Cmd');
  if (argv[0] === '') throw new LxcConfigError('INVALID_VALUE', `${fieldOf(0)} (the program to run) is empty`, fieldOf(0));
  argv.forEach((a, i) => {
    if (a.includes('\0')) throw new LxcConfigError('INVALID_VALUE', `${fieldOf(i)} ${show(a)} contains NUL, which no argv can hold`, fieldOf(i));
  });

  for (const field of ['User', 'WorkingDir', 'StopSignal'] as const) {
    const v = image[field];
    if (v !== undefined && v !== null && typeof v !== 'string') throw new LxcConfigError('INVALID_VALUE', `${field} is not a string`, field);
  }
  const user = resolveUser(rootfs, image.User);
  if (!rootfs) warnings.push('no rootfs given: HOME defaults to / and supplementary groups are not looked up');
  const env = buildEnv(image.Env, user.home);
  const signal = parseSignal(image.StopSignal || 'SIGTERM');

  const cwd = image.WorkingDir || '/';
  if (!cwd.startsWith('/')) throw new LxcConfigError('INVALID_VALUE', `WorkingDir ${show(cwd)} is not an absolute path`, 'WorkingDir');
  const cwdValue = encodeConfigValue(cwd, 'WorkingDir');
  if (rootfs && !isDirectoryInRoot(rootfs, cwd)) {
    warnings.push(`WorkingDir ${show(cwd)} does not exist in the rootfs; LXC fails to start unless it is created`);
  }

  // Environment route.
  const mode = options.envMode ?? 'auto';
  const envProblem = env
    .map((e, i) => ({ e, i, p: configValueProblem(e) }))
    .find((x) => x.p !== undefined || /^[ \t'"]/.test(x.e));
  let envRoute: EnvRoute;
  const reasons: string[] = [];
  if (mode === 'wrapper') {
    envRoute = 'wrapper';
    reasons.push('environment: the caller asked for it to be set by the wrapper');
  } else if (envProblem) {
    envRoute = 'wrapper';
    reasons.push(`environment: ${show(envProblem.e)} ${envProblem.p ?? 'starts with whitespace or a quote'}`);
  } else if (caps.environmentRuntime) envRoute = 'runtime';
  else if (mode === 'plain') envRoute = 'plain';
  else {
    envRoute = 'wrapper';
    reasons.push(`environment: LXC ${caps.lxcVersion} has no lxc.environment.runtime, and lxc.environment would also reach hook scripts`);
  }
  if (envRoute === 'wrapper') {
    env.forEach((e) => {
      const name = e.slice(0, e.indexOf('='));
      if (!SHELL_NAME.test(name)) {
        const i = (image.Env ?? []).findIndex((x) => x.startsWith(`${name}=`));
        const field = i >= 0 ? `Env[${i}]` : 'Env';
        throw new LxcConfigError('INVALID_VALUE', `${field}: the name ${show(name)} cannot be exported by ${SHELL}; it needs lxc.environment.runtime (LXC >= 7.0) or envMode 'plain'`, field);
      }
    });
  }

  // argv route.
  const encoded = encodeInitCmd(argv, caps);
  let argvProblem: StartWrapper['argvProblem'];
  if (!encoded.ok) {
    argvProblem = { field: fieldOf(encoded.index), reason: encoded.reason };
    reasons.unshift(`argv: ${argvProblem.field} ${show(argv[encoded.index]!)} ${encoded.reason}`);
  }
  if (reasons.length > 0 && argv[0]!.startsWith('-')) {
    // dash's exec has no "--", bash's exec parses options: no portable way to exec such a name.
    throw new LxcConfigError('UNREPRESENTABLE_ARGUMENT', `${fieldOf(0)} ${show(argv[0]!)} starts with "-", which the start wrapper's exec cannot run (${reasons.join('; ')})`, fieldOf(0));
  }

  let wrapper: StartWrapper | undefined;
  if (reasons.length > 0) {
    const path = options.wrapperPath ?? DEFAULT_WRAPPER_PATH;
    if (!path.startsWith('/') || configValueProblem(path) || path.includes(' ') || /^['"]/.test(path)) {
      throw new LxcConfigError('INVALID_VALUE', `wrapperPath ${show(path)} must be an absolute path without spaces or quotes`, 'wrapperPath');
    }
    wrapper = { path, content: renderWrapper(argv, envRoute === 'wrapper' ? env : undefined, reasons), reasons };
    if (argvProblem) wrapper.argvProblem = argvProblem;
    if (rootfs) assertShell(rootfs, wrapper);
  }

  const lines: LxcConfigLine[] = [];
  const add = (key: string, value: string): void => {
    lines.push({ key, value });
  };
  add('lxc.init.cmd', wrapper ? wrapper.path : (encoded as { value: string }).value);
  add('lxc.init.cwd', cwdValue);
  add('lxc.init.uid', String(user.uid));
  add('lxc.init.gid', String(user.gid));
  if (user.groups.length > 0) {
    if (caps.initGroups) add('lxc.init.groups', user.groups.join(','));
    else warnings.push(`LXC ${caps.lxcVersion} has no lxc.init.groups: supplementary groups ${user.groups.join(',')} are dropped`);
  }
  // Always written: LXC's own default halt signal is SIGPWR, Docker's is SIGTERM.
  add('lxc.signal.halt', signal.lxcValue);
  if (envRoute !== 'wrapper') {
    const key = envRoute === 'runtime' ? 'lxc.environment.runtime' : 'lxc.environment';
    env.forEach((e) => add(key, encodeConfigValue(e, 'Env')));
  }

  return {
    argv,
    env,
    envRoute,
    cwd,
    user,
    signal,
    lines,
    comments: describe(image, imageName),
    ...(wrapper ? { wrapper } : {}),
    console: argv[0] !== '/sbin/init',
    warnings,
    capabilities: caps,
  };
}

/** Throw NO_SHELL / UNREPRESENTABLE_ARGUMENT when the rootfs has no /bin/sh to run the wrapper. */
export function assertShell(rootfs: string, wrapper: StartWrapper): void {
  if (isExecutableInRoot(rootfs, SHELL)) return;
  if (wrapper.argvProblem) {
    const p = wrapper.argvProblem;
    throw new LxcConfigError('UNREPRESENTABLE_ARGUMENT', `${p.field} ${p.reason}; a start wrapper would be needed, but the image has no ${SHELL}`, p.field);
  }
  throw new LxcConfigError('NO_SHELL', `the image has no ${SHELL} for the start wrapper, which is needed because ${wrapper.reasons.join('; ')}`, 'Env');
}

function oneLine(s: string): string {
  return /[\x00-\x1f\x7f]/.test(s) ? JSON.stringify(s) : s;
}

function describe(image: ImageConfig, imageName: string): string[] {
  const out = [`oci2lxc: generated from ${oneLine(imageName)}`];
  const ports = Object.keys(image.ExposedPorts ?? {});
  if (ports.length) out.push(`ExposedPorts: ${ports.map(oneLine).join(' ')}`);
  const volumes = Object.keys(image.Volumes ?? {});
  if (volumes.length) out.push(`Volumes: ${volumes.map(oneLine).join(' ')}`);
  for (const [k, v] of Object.entries(image.Labels ?? {})) out.push(`Label ${oneLine(k)}=${oneLine(String(v))}`);
  return out;
}
