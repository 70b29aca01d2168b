// What a container's `docker run`-style options become in its config: bind mounts (each mount
// point created inside the rootfs, chroot-style), cgroup v2 limits, autostart; or the same as
// Proxmox pct.conf options. The CLI parses the options into a RunRequest.
import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bindMountLine, encodeConfigValue, ensureDirectoryInRoot, mountTarget, writeFileInRoot, type LxcConfigLine, type RunOverrides } from '@oci2lxc/lxc-config';
import { ContainerError } from './errors.js';

/** One parsed --volume. */
export interface Volume {
  source: string;
  target: string;
  readOnly: boolean;
}

/** The `docker run`-style options of a container, parsed. */
export interface RunRequest {
  /** Applied to the image config before it is mapped (env, entrypoint, cmd, user, workdir, stop signal). */
  overrides: RunOverrides;
  volumes: Volume[];
  memory?: number;
  cpus?: string;
  autostart: boolean;
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
    if (st.isSymbolicLink()) throw new ContainerError('UNSAFE_PATH', `--volume target ${target}: ${where} is a symbolic link in the image; mount at the path it points to instead`);
    if (!st.isDirectory() && i < comps.length - 1) throw new ContainerError('UNSAFE_PATH', `--volume target ${target}: ${where} is not a directory in the image`);
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
    for (const p of [vol.source, vol.target]) if (/[,=\s]/.test(p) || /[\x00-\x1f\x7f]/.test(p)) throw new ContainerError('INVALID_ARGUMENT', `--volume path ${JSON.stringify(p)}: pct.conf mount points cannot hold ',', '=' or blanks`);
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
