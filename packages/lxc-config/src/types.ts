import type { ConfigDocument } from './document.js';
/**
 * The runtime part of an OCI image config (the `config` object of the image configuration JSON),
 * as far as this package reads it: the same idea and name as `RuntimeConfig` of
 * @oci2lxc/oci-tar-image (whose values it accepts), not that package's whole `ImageConfig` blob.
 * Structurally compatible with the OCI image-spec and Docker's `ContainerConfig`.
 */
export interface RuntimeConfig {
  /** A list, or (as moby's StrSlice accepts) one string, which is one argument. */
  Entrypoint?: string[] | string | null;
  /** A list, or one string (one argument), as for Entrypoint. */
  Cmd?: string[] | string | null;
  Env?: string[] | null;
  WorkingDir?: string | null;
  User?: string | null;
  StopSignal?: string | null;
  ExposedPorts?: Record<string, unknown> | null;
  Volumes?: Record<string, unknown> | null;
  Labels?: Record<string, string> | null;
}

/** @deprecated Renamed {@link RuntimeConfig} (it is only the runtime part, unlike oci-tar-image's
 * `ImageConfig`); this alias is removed in the next minor release. */
export type ImageConfig = RuntimeConfig;

/** What the target LXC can express. Build with {@link capabilitiesFor} or {@link detectCapabilities}. */
export interface LxcCapabilities {
  /** LXC version the capabilities were derived from, e.g. `5.0.2`. */
  lxcVersion: string;
  /** `lxc.init.cmd` is split with `lxc_string_split_quoted` ("…" and '…' group words): LXC >= 6.0.0. */
  quotedInitCmd: boolean;
  /** `lxc.environment.runtime` exists (init only, not hooks): LXC >= 7.0.0, or Proxmox lxc-pve >= 6.0.5-3. */
  environmentRuntime: boolean;
  /** `lxc.init.groups` exists: LXC >= 4.0.10. */
  initGroups: boolean;
}

/** One generated config entry. `value` is exactly what LXC must read; the config encoder ({@link ConfigDocument}) adds any quoting the line needs. */
export interface LxcConfigLine {
  key: string;
  value: string;
}

/** The start wrapper to place in the rootfs (see {@link writeStartWrapper}). */
export interface StartWrapper {
  /** Absolute path inside the container, e.g. `/.oci2lxc/init`. */
  path: string;
  /** Script text (`#!/bin/sh`). */
  content: string;
  /** Why the wrapper is needed, in words. */
  reasons: string[];
  /** True when the wrapper sets the environment through the image's `env -i` (`/usr/bin/env` or `/bin/env`), not through shell exports. */
  usesEnv?: boolean;
  /** Set when argv could not be written into `lxc.init.cmd`: which argument and why. */
  argvProblem?: { field: string; reason: string };
}

/** Numeric ids the container's init runs as. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /**
   * Supplementary groups, as moby sets them: the primary gid first, then the groups that list the
   * user by name (only when no group was given); empty when there are none of the latter.
   */
  groups: number[];
  /** User name when found in /etc/passwd. */
  name?: string;
  /** Home directory from /etc/passwd, or `/`. */
  home: string;
}

/** A parsed stop signal. */
export interface ParsedSignal {
  /** Signal number on Linux (SIGRTMIN = 34 as in Docker). */
  number: number;
  /** What goes into `lxc.signal.halt`: `SIGTERM` style name, or the number for real-time signals. */
  lxcValue: string;
}

/** How the environment reaches the entrypoint. */
export type EnvRoute = 'runtime' | 'plain' | 'wrapper';

/** Result of {@link buildLxcConfig}; render with {@link renderLxcConfig}. */
export interface LxcPlan {
  /** The exact argv the container runs (Entrypoint + Cmd). */
  argv: string[];
  /** The exact environment (`KEY=VALUE`), image Env plus Docker's defaults. */
  env: string[];
  /** Which mechanism carries `env`. */
  envRoute: EnvRoute;
  cwd: string;
  user: ResolvedUser;
  signal: ParsedSignal;
  /** LXC config lines, in order. */
  lines: LxcConfigLine[];
  /** Informational comments (ports, volumes, labels), raw text (escaped when rendered), without `#`. */
  comments: string[];
  /** Present when the argv or env cannot be expressed in the config alone. */
  wrapper?: StartWrapper;
  /** True when the command is not the image's own `/sbin/init`: Proxmox needs `cmode: console`. */
  console: boolean;
  /** Things the user should know (e.g. supplementary groups dropped). */
  warnings: string[];
  capabilities: LxcCapabilities;
}
