// Image config → LXC config text (and the start wrapper), through @oci2lxc/lxc-config.
import { existsSync } from 'node:fs';
import type { Image } from '@oci2lxc/oci-tar-image';
import { applyOverrides, buildLxcConfig, capabilitiesFor, detectCapabilities, ensureDirectoryInRoot, planDocument, writeStartWrapper, type ConfigDocument, type LxcCapabilities, type RunOverrides } from '@oci2lxc/lxc-config';

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

export interface PlanOptions {
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

export interface PlanOutput {
  text: string;
  /** The plan's lines, for a caller that writes them into a larger config document. */
  document: ConfigDocument;
  wrapperNeeded: boolean;
  warnings: string[];
  json: Record<string, unknown>;
}

export function imageName(image: Image): string {
  return image.refs[0] ?? image.manifestDigest;
}

export async function planContainer(image: Image, o: PlanOptions): Promise<PlanOutput> {
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
