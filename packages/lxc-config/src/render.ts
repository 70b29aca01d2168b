import { ConfigDocument, type ConfigFlavor } from './document.js';
import type { LxcPlan } from './types.js';

/** Options of {@link renderLxcConfig} and {@link planDocument}. */
export interface RenderOptions {
  /**
   * pve flavour only: write the command as pve's `entrypoint:` option (default; pve-container >=
   * 6.0.15, which also mounts /dev/shm for such containers) or as a raw `lxc.init.cmd:` key (older pve).
   */
  pveInitCmd?: 'entrypoint' | 'raw';
}

/**
 * A plan as a {@link ConfigDocument}: its comments, then (pve) `cmode: console` and `entrypoint:`,
 * then its LXC keys. Append it to a document of your own to add more lines around it.
 */
export function planDocument(plan: Pick<LxcPlan, 'comments' | 'lines' | 'console'>, flavor: ConfigFlavor, options: RenderOptions = {}): ConfigDocument {
  const doc = new ConfigDocument();
  for (const c of plan.comments) doc.comment(c);
  if (flavor === 'pve' && plan.console) doc.option('cmode', 'console');
  const raw = options.pveInitCmd === 'raw';
  for (const l of plan.lines) {
    if (flavor === 'pve' && l.key === 'lxc.init.cmd' && !raw) {
      // pve's default entrypoint is /sbin/init; writing it would only make it explicit.
      if (l.value !== '/sbin/init') doc.option('entrypoint', l.value, 'lxc.init.cmd');
      continue;
    }
    doc.entry(l.key, l.value);
  }
  return doc;
}

/**
 * Render a plan as text: `lxc` → lines for an LXC config file (`key = value`); `pve` → a fragment
 * for /etc/pve/lxc/<vmid>.conf (`cmode: console`, `entrypoint: …`, raw `lxc.*: value` keys,
 * comments as the description). Same as `planDocument(plan, flavor, options).render(flavor)`.
 */
export function renderLxcConfig(plan: Pick<LxcPlan, 'comments' | 'lines' | 'console'>, flavor: ConfigFlavor, options: RenderOptions = {}): string {
  return planDocument(plan, flavor, options).render(flavor);
}
