import { configValueProblem, encodeConfigValue } from './confvalue.js';
import { buildEnv } from './env.js';
import { posix } from 'node:path';
import { LxcConfigError, show } from './errors.js';
import { encodeInitCmd } from './initcmd.js';
import { isBashInRoot, isDirectoryInRoot, isExecutableInRoot } from './rootfs.js';
import { renderWrapper, SHELL_NAME } from './shell.js';
import { parseSignal } from './signal.js';
import type { EnvRoute, RuntimeConfig, LxcCapabilities, LxcConfigLine, LxcPlan, StartWrapper } from './types.js';
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
  /**
   * Which file the plan is rendered into. `pve`: environment names pve-container's `env` option
   * refuses (anything but `\w+`) go through the start wrapper instead of `lxc.environment.runtime`.
   */
  target?: 'lxc' | 'pve';
  /** The caller creates a missing WorkingDir ({@link ensureDirectoryInRoot}) once the plan is built: no warning about it. */
  createWorkingDir?: boolean;
}

/** Where the start wrapper goes unless told otherwise. */
export const DEFAULT_WRAPPER_PATH = '/.oci2lxc/init';
const SHELL = '/bin/sh';
/** Where the wrapper looks for `env` in the rootfs, in this order. */
const ENV_TOOLS = ['/usr/bin/env', '/bin/env'];
/** pve-container's `env` option: `\w+=…` names (Perl \w on bytes). */
const PVE_ENV_NAME = /^\w+$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// moby's StrSlice: a JSON string is accepted as a one-element list.
function stringArray(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new LxcConfigError('INVALID_ARGUMENT', `${field} is not an array of strings`, field);
  }
  return value as string[];
}

/**
 * Map an image config to LXC config lines, and a start wrapper when the target LXC cannot carry
 * the argv or the environment in its config. Pure apart from reading the rootfs (if given).
 */
export function buildLxcConfig(image: RuntimeConfig, options: BuildOptions): LxcPlan {
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
  if (argv[0] === '') throw new LxcConfigError('INVALID_ARGUMENT', `${fieldOf(0)} (the program to run) is empty`, fieldOf(0));
  argv.forEach((a, i) => {
    if (a.includes('\0')) throw new LxcConfigError('INVALID_ARGUMENT', `${fieldOf(i)} ${show(a)} contains NUL, which no argv can hold`, fieldOf(i));
  });

  for (const field of ['User', 'WorkingDir', 'StopSignal'] as const) {
    const v = image[field];
    if (v !== undefined && v !== null && typeof v !== 'string') throw new LxcConfigError('INVALID_ARGUMENT', `${field} is not a string`, field);
  }
  const user = resolveUser(rootfs, image.User);
  if (!rootfs) warnings.push('no rootfs given: HOME defaults to / and supplementary groups are not looked up');
  const env = buildEnv(image.Env, user.home);
  const signal = parseSignal(image.StopSignal || 'SIGTERM');

  const rawCwd = image.WorkingDir || '/';
  if (!rawCwd.startsWith('/')) throw new LxcConfigError('INVALID_ARGUMENT', `WorkingDir ${show(rawCwd)} is not an absolute path`, 'WorkingDir');
  encodeConfigValue(rawCwd, 'WorkingDir');
  // Docker cleans WorkingDir lexically (filepath.Clean): `/a/../b` is `/b`, and `/a` is never made.
  const cwd = cleanPath(rawCwd);
  if (rootfs && !options.createWorkingDir && !isDirectoryInRoot(rootfs, cwd)) {
    warnings.push(`WorkingDir ${show(cwd)} does not exist in the rootfs; LXC fails to start unless it is created`);
  }

  // Tools the wrapper can use, looked up chroot-style; without a rootfs, where images usually have them.
  const envTool = rootfs ? ENV_TOOLS.find((p) => isExecutableInRoot(rootfs, p)) : ENV_TOOLS[0];
  const bashShell = rootfs !== undefined && isBashInRoot(rootfs);

  // argv route.
  const encoded = encodeInitCmd(argv, caps);
  let argvProblem: StartWrapper['argvProblem'];
  const reasons: string[] = [];
  if (!encoded.ok) {
    argvProblem = { field: fieldOf(encoded.index), reason: encoded.reason };
    reasons.push(`argv: ${argvProblem.field} ${show(argv[encoded.index]!)} ${encoded.reason}`);
  }

  // Environment route.
  const mode = options.envMode ?? 'auto';
  const envProblem = env
    .map((e, i) => ({ e, i, p: configValueProblem(e) }))
    .find((x) => x.p !== undefined || /^[ \t'"]/.test(x.e));
  const pveBadName = options.target === 'pve' ? env.find((e) => !PVE_ENV_NAME.test(e.slice(0, e.indexOf('=')))) : undefined;
  const imageSetsContainer = (image.Env ?? []).some((e) => typeof e === 'string' && e.startsWith('container='));
  let envRoute: EnvRoute;
  if (mode === 'wrapper') {
    envRoute = 'wrapper';
    reasons.push('environment: the caller asked for it to be set by the wrapper');
  } else if (envProblem) {
    envRoute = 'wrapper';
    reasons.push(`environment: ${show(envProblem.e)} ${envProblem.p ?? 'starts with whitespace or a quote'}`);
  } else if (argvProblem && envTool) {
    envRoute = 'wrapper';
    reasons.push('environment: set by the wrapper too, so that no shell can alter it on the way');
  } else if (imageSetsContainer) {
    // LXC sets container=lxc for init after the config's environment: only the wrapper keeps the image's value.
    envRoute = 'wrapper';
    reasons.push('environment: the image sets "container", which LXC would overwrite with container=lxc');
  } else if (caps.environmentRuntime && pveBadName !== undefined) {
    envRoute = 'wrapper';
    reasons.push(`environment: ${show(pveBadName.slice(0, pveBadName.indexOf('=')))} is not a name pve-container's env option accepts (\\w+)`);
  } else if (caps.environmentRuntime) envRoute = 'runtime';
  else if (mode === 'plain') envRoute = 'plain';
  else {
    envRoute = 'wrapper';
    reasons.push(`environment: LXC ${caps.lxcVersion} has no lxc.environment.runtime, and lxc.environment would also reach hook scripts`);
  }
  const wrapperEnv = envRoute === 'wrapper';
  if (reasons.length > 0) {
    if (envTool && wrapperEnv) {
      // `env` would take a program name containing "=" for one more NAME=VALUE.
      if (argv[0]!.includes('=')) throw new LxcConfigError('UNREPRESENTABLE_ARGV', `${fieldOf(0)} ${show(argv[0]!)} contains "=", which ${envTool} would read as a variable, and the start wrapper is needed (${reasons.join('; ')})`, fieldOf(0));
    } else {
      if (bashShell) {
        throw new LxcConfigError('UNSUPPORTED_SHELL', `the image's /bin/sh is bash, which alters or refuses variables such as UID, EUID, RANDOM, SHELLOPTS in what it exports, and it has no ${ENV_TOOLS.join(' or ')} to set the environment exactly; the start wrapper is needed because ${reasons.join('; ')}`, 'Env');
      }
      if (wrapperEnv) {
        env.forEach((e) => {
          const name = e.slice(0, e.indexOf('='));
          if (!SHELL_NAME.test(name)) {
            const i = (image.Env ?? []).findIndex((x) => x.startsWith(`${name}=`));
            const field = i >= 0 ? `Env[${i}]` : 'Env';
            throw new LxcConfigError('INVALID_ARGUMENT', `${field}: the name ${show(name)} cannot be exported by ${SHELL}, and the image has no ${ENV_TOOLS.join(' or ')}; it needs lxc.environment.runtime (LXC >= 7.0) or envMode 'plain'`, field);
          }
        });
      }
      if (argv[0]!.startsWith('-')) {
        // dash's exec has no "--", bash's exec parses options: no portable way to exec such a name.
        throw new LxcConfigError('UNREPRESENTABLE_ARGV', `${fieldOf(0)} ${show(argv[0]!)} starts with "-", which the start wrapper's exec cannot run without env (${reasons.join('; ')})`, fieldOf(0));
      }
    }
    // Every byte the wrapper carries must reach the program as it is: no lone surrogates.
    const notUnicode = (v: string, field: string): void => {
      if (LONE_SURROGATE.test(v)) throw new LxcConfigError('INVALID_ARGUMENT', `${field} ${show(v)} is not valid Unicode (a lone surrogate)`, field);
    };
    argv.forEach((a, i) => notUnicode(a, fieldOf(i)));
    if (wrapperEnv) env.forEach((e) => notUnicode(e, 'Env'));
  }

  let wrapper: StartWrapper | undefined;
  if (reasons.length > 0) {
    const path = options.wrapperPath ?? DEFAULT_WRAPPER_PATH;
    if (!path.startsWith('/') || configValueProblem(path) || path.includes(' ') || /^['"]/.test(path)) {
      throw new LxcConfigError('INVALID_ARGUMENT', `wrapperPath ${show(path)} must be an absolute path without spaces or quotes`, 'wrapperPath');
    }
    const useEnv = wrapperEnv && envTool !== undefined;
    wrapper = { path, content: renderWrapper(argv, wrapperEnv ? env : undefined, reasons, useEnv ? ENV_TOOLS : undefined), reasons };
    if (useEnv) wrapper.usesEnv = true;
    if (argvProblem) wrapper.argvProblem = argvProblem;
    if (rootfs) assertShell(rootfs, wrapper);
  }

  const lines: LxcConfigLine[] = [];
  const add = (key: string, value: string): void => {
    lines.push({ key, value });
  };
  add('lxc.init.cmd', wrapper ? wrapper.path : (encoded as { value: string }).value);
  add('lxc.init.cwd', cwd);
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
    // LXC sets container=lxc for init itself (the image sets no `container`, or the wrapper would carry it).
    env.filter((e) => e !== 'container=lxc').forEach((e) => {
      encodeConfigValue(e, 'Env');
      add(key, e);
    });
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

/** Throw NO_SHELL / UNREPRESENTABLE_ARGV when the rootfs has no /bin/sh to run the wrapper. */
export function assertShell(rootfs: string, wrapper: StartWrapper): void {
  if (wrapper.usesEnv && !ENV_TOOLS.some((t) => isExecutableInRoot(rootfs, t))) {
    throw new LxcConfigError('NO_SHELL', `the start wrapper sets the environment with env, and the image has neither ${ENV_TOOLS.join(' nor ')} (build the plan with this rootfs)`, 'Env');
  }
  if (isExecutableInRoot(rootfs, SHELL)) return;
  if (wrapper.argvProblem) {
    const p = wrapper.argvProblem;
    throw new LxcConfigError('UNREPRESENTABLE_ARGV', `${p.field} ${p.reason}; a start wrapper would be needed, but the image has no ${SHELL}`, p.field);
  }
  throw new LxcConfigError('NO_SHELL', `the image has no ${SHELL} for the start wrapper, which is needed because ${wrapper.reasons.join('; ')}`, 'Env');
}

/** Go's filepath.Clean for an absolute path: `.`/`..`/`//` resolved lexically, no trailing `/`. */
function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

// Raw text: the config encoder escapes comments when it renders them.
function describe(image: RuntimeConfig, imageName: string): string[] {
  const out = [`oci2lxc: generated from ${imageName}`];
  const ports = Object.keys(image.ExposedPorts ?? {});
  if (ports.length) out.push(`ExposedPorts: ${ports.join(' ')}`);
  const volumes = Object.keys(image.Volumes ?? {});
  if (volumes.length) out.push(`Volumes: ${volumes.join(' ')}`);
  for (const [k, v] of Object.entries(image.Labels ?? {})) out.push(`Label ${k}=${String(v)}`);
  return out;
}
