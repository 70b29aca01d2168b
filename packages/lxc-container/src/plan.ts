// Image config → LXC config text (and the start wrapper), through @oci2lxc/lxc-config: the
// image's part of a container's config, and the `config` command's whole output.
import { existsSync } from 'node:fs';
import type { Image } from '@oci2lxc/oci-tar-image';
import { applyOverrides, buildLxcConfig, capabilitiesFor, ConfigDocument, detectCapabilities, ensureDirectoryInRoot, planDocument, writeStartWrapper, type LxcCapabilities, type RunOverrides } from '@oci2lxc/lxc-config';
import { pveRunOptions, runLines, volumesWarning, type RunRequest } from './run-config.js';

// Proxmox's lxc-pve backports lxc.environment.runtime from 6.0.5-3 on (see @oci2lxc/lxc-config).
const PVE_LXC = '6.0.5';

function atLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * The target's capabilities: from --lxc-version, else from this host's LXC, else LXC 5.0's.
 * For Proxmox (flavor pve) a given version means lxc-pve, and without one, off a Proxmox host,
 * the target is Proxmox VE 9's lxc-pve.
 */
export async function targetCapabilities(version: string | undefined, flavor: 'lxc' | 'pve' = 'lxc'): Promise<{ caps: LxcCapabilities; assumed: boolean }> {
  if (flavor === 'pve') {
    if (version !== undefined) return { caps: capabilitiesFor(version, { environmentRuntime: atLeast(version, PVE_LXC) }), assumed: false };
    if (!existsSync('/etc/pve')) return { caps: capabilitiesFor(PVE_LXC, { environmentRuntime: true }), assumed: true };
  }
  if (version !== undefined) return { caps: capabilitiesFor(version), assumed: false };
  try {
    return { caps: await detectCapabilities(), assumed: false };
  } catch {
    // No LXC here (e.g. preparing a config for another host): the most widespread stock release.
    return { caps: capabilitiesFor('5.0.0'), assumed: true };
  }
}

export interface MapOptions {
  caps: LxcCapabilities;
  flavor: 'lxc' | 'pve';
  rootfs?: string;
  /** Write the start wrapper into `rootfs` when one is needed. */
  writeWrapper: boolean;
  /** Plain lxc.environment instead of the wrapper on LXC without lxc.environment.runtime. */
  plainEnvironment: boolean;
  /** `docker run`-style overrides, applied to the image config before it is mapped. */
  overrides?: RunOverrides;
}

export interface MapOutput {
  text: string;
  /** The plan's lines, for a caller that writes them into a larger config document. */
  document: ConfigDocument;
  wrapperNeeded: boolean;
  warnings: string[];
  json: Record<string, unknown>;
}

function imageName(image: Image): string {
  return image.refs[0] ?? image.manifestDigest;
}

/** The image's part of the config (overrides applied); writes the wrapper into `rootfs` when asked. */
export async function mapImage(image: Image, o: MapOptions): Promise<MapOutput> {
  const create = o.writeWrapper && o.rootfs !== undefined;
  const plan = buildLxcConfig(applyOverrides(image.config.config ?? {}, o.overrides ?? {}), {
    capabilities: o.caps,
    ...(o.rootfs !== undefined ? { rootfs: o.rootfs } : {}),
    envMode: o.plainEnvironment ? 'plain' : 'auto',
    imageName: imageName(image),
    target: o.flavor,
    ...(create ? { createWorkingDir: true } : {}),
  });
  // Rendering checks every key and value: only then is anything written into the rootfs.
  const document = planDocument(plan, o.flavor);
  const text = document.render(o.flavor);
  let wrapperPath: string | undefined;
  if (create) {
    // Docker creates a missing WorkingDir at start; LXC refuses to start without it.
    ensureDirectoryInRoot(o.rootfs!, plan.cwd);
    wrapperPath = writeStartWrapper(o.rootfs!, plan);
  }
  return {
    text,
    document,
    wrapperNeeded: plan.wrapper !== undefined,
    warnings: plan.warnings,
    json: {
      flavor: o.flavor,
      capabilities: plan.capabilities,
      argv: plan.argv,
      env: plan.env,
      envRoute: plan.envRoute,
      cwd: plan.cwd,
      user: plan.user,
      stopSignal: plan.signal.lxcValue,
      console: plan.console,
      lines: plan.lines,
      comments: plan.comments,
      wrapper: plan.wrapper ? { path: plan.wrapper.path, reasons: plan.wrapper.reasons, written: wrapperPath !== undefined, content: plan.wrapper.content } : null,
      warnings: plan.warnings,
      text,
    },
  };
}

export interface PlanOptions {
  /** lxc: LXC config lines; pve: a Proxmox /etc/pve/lxc/<vmid>.conf fragment. Default lxc. */
  flavor?: 'lxc' | 'pve';
  /** Target LXC version, e.g. '5.0' (pve: lxc-pve's). Default: this host's, else LXC 5.0 (pve: Proxmox VE 9's lxc-pve 6.0.5). */
  lxcVersion?: string;
  /**
   * The extracted rootfs: user names resolve from its /etc/passwd and /etc/group, and the start
   * wrapper, a missing working directory and volume mount points are written into it.
   */
  rootfs?: string;
  /** Plain lxc.environment instead of the start wrapper on LXC without lxc.environment.runtime. */
  plainEnvironment?: boolean;
  /** `docker run`-style overrides, volumes, limits, autostart. */
  run?: RunRequest;
}

export interface ContainerPlan {
  /** The config text (LXC lines, or pct.conf lines for pve). */
  text: string;
  /** The image needs the start wrapper (written when `rootfs` was given). */
  wrapperNeeded: boolean;
  warnings: string[];
  /** The target the plan was made for; `assumed` when no LXC was found and none was given. */
  target: { lxcVersion: string; assumed: boolean };
  /** Everything above and the mapping's details (argv, env, cwd, user, …), for `--json`. */
  json: Record<string, unknown>;
}

/** The config that runs `image` as it intends, for a container made elsewhere (the `config` command). */
export async function planContainer(image: Image, o: PlanOptions = {}): Promise<ContainerPlan> {
  const flavor = o.flavor ?? 'lxc';
  const { caps, assumed } = await targetCapabilities(o.lxcVersion, flavor);
  const plan = await mapImage(image, {
    caps,
    flavor,
    ...(o.rootfs !== undefined ? { rootfs: o.rootfs } : {}),
    plainEnvironment: !!o.plainEnvironment,
    writeWrapper: o.rootfs !== undefined,
    ...(o.run ? { overrides: o.run.overrides } : {}),
  });
  const note = volumesWarning(image.config.config?.Volumes, o.run);
  if (note) plan.warnings.push(note);
  // Volumes, limits, autostart: LXC keys, or pct.conf options for Proxmox.
  const extra = new ConfigDocument();
  const lines = o.run ? (flavor === 'pve' ? pveRunOptions(o.run) : runLines(o.run, o.rootfs)) : [];
  for (const l of lines) {
    const field = /memory/.test(l.key) ? '--memory' : /cpu/.test(l.key) ? '--cpus' : /auto|onboot/.test(l.key) ? '--autostart' : '--volume';
    if (flavor === 'pve') extra.option(l.key, l.value, field);
    else extra.entry(l.key, l.value, field);
  }
  if (lines.length > 0) {
    plan.text = plan.document.append(extra).render(flavor);
    plan.json.text = plan.text;
  }
  return { text: plan.text, wrapperNeeded: plan.wrapperNeeded, warnings: plan.warnings, target: { lxcVersion: caps.lxcVersion, assumed }, json: plan.json };
}
