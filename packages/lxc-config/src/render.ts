import type { LxcPlan } from './types.js';

/** Options of {@link renderLxcConfig}. */
export interface RenderOptions {
  /**
   * pve flavour only: write the command as pve's `entrypoint:` option (default; pve-container >=
   * 6.0.15, which also mounts /dev/shm for such containers) or as a raw `lxc.init.cmd:` key (older pve).
   */
  pveInitCmd?: 'entrypoint' | 'raw';
}

// PVE::ParseUtils::encode_text: pct.conf comment lines are the description, URI-decoded on read.
function pveEncodeText(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const safe = (byte >= 0x20 && byte <= 0x24) || (byte >= 0x26 && byte <= 0x39) || (byte >= 0x3b && byte <= 0x7e);
    out += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Render a plan as text: `lxc` → lines for an LXC config file (`key = value`); `pve` → a fragment
 * for /etc/pve/lxc/<vmid>.conf (`cmode: console`, `entrypoint: …`, raw `lxc.*: value` keys,
 * comments as the description).
 */
export function renderLxcConfig(plan: LxcPlan, flavor: 'lxc' | 'pve', options: RenderOptions = {}): string {
  const out: string[] = [];
  if (flavor === 'lxc') {
    for (const c of plan.comments) out.push(`# ${c}`);
    for (const l of plan.lines) out.push(`${l.key} = ${l.value}`);
    return `${out.join('\n')}\n`;
  }
  for (const c of plan.comments) out.push(`#${pveEncodeText(c)}`);
  if (plan.console) out.push('cmode: console');
  const raw = options.pveInitCmd === 'raw';
  for (const l of plan.lines) {
    if (l.key === 'lxc.init.cmd' && !raw) {
      // pve's default entrypoint is /sbin/init; writing it would only make it explicit.
      if (l.value !== '/sbin/init') out.push(`entrypoint: ${l.value}`);
      continue;
    }
    out.push(`${l.key}: ${l.value}`);
  }
  return `${out.join('\n')}\n`;
}
