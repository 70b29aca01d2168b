// What the host's LXC installation says: lxcpath, default config, template config dir, version.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseConfigText, type ConfigEntry } from '@oci2lxc/lxc-config';

const run = promisify(execFile);

/** `lxc-config KEY`, or undefined when LXC's tools are not installed. */
export async function lxcConfigValue(key: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('lxc-config', [key], { encoding: 'utf8' });
    const v = stdout.trim();
    return v === '' ? undefined : v;
  } catch {
    return undefined;
  }
}

export async function defaultLxcPath(): Promise<string> {
  return (await lxcConfigValue('lxc.lxcpath')) ?? '/var/lib/lxc';
}

/** LXC's shared config directory (common.conf, userns.conf), where the distribution puts it. */
export function templateConfigDir(): string | undefined {
  return ['/usr/share/lxc/config', '/usr/local/share/lxc/config'].find((d) => existsSync(`${d}/common.conf`));
}

export type Network = { type: 'none' } | { type: 'empty' } | { type: 'veth'; link: string } | { type: 'default' };

export function parseNetwork(value: string | undefined): Network | undefined {
  if (value === undefined) return { type: 'default' };
  if (value === 'none' || value === 'empty') return { type: value };
  if (value === 'veth') return { type: 'veth', link: 'lxcbr0' };
  if (value.startsWith('veth:') && value.length > 5) return { type: 'veth', link: value.slice(5) };
  return undefined;
}

/**
 * The base of a new container's config, as lxc-create writes it: the host's default config
 * (network entries replaced when a network was chosen) plus common.conf. Entries, not text: the
 * caller adds them to a ConfigDocument, which checks every key and value (a bridge name from the
 * command line included).
 */
export async function baseConfigEntries(network: Network): Promise<ConfigEntry[]> {
  const path = (await lxcConfigValue('lxc.default_config')) ?? '/etc/lxc/default.conf';
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = '';
  }
  // Read the host's file with LXC's own line rules: what LXC would have read is what we copy.
  const isNet = (key: string) => /^lxc\.net(\.|$)/.test(key);
  const out = parseConfigText(text).filter((e) => network.type === 'default' || !isNet(e.key));
  if (network.type === 'none' || network.type === 'empty') out.push({ key: 'lxc.net.0.type', value: network.type });
  if (network.type === 'veth') out.push({ key: 'lxc.net.0.type', value: 'veth' }, { key: 'lxc.net.0.link', value: network.link }, { key: 'lxc.net.0.flags', value: 'up' });
  const dir = templateConfigDir();
  if (dir) out.push({ key: 'lxc.include', value: `${dir}/common.conf` });
  return out;
}

/** Bridges the config's veth networks name that this host does not have (lxc-start would fail). */
export function missingBridges(entries: readonly ConfigEntry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (/^lxc\.net\.\d+\.link$/.test(e.key) && !/[/\0]/.test(e.value) && e.value !== '.' && e.value !== '..' && !existsSync(`/sys/class/net/${e.value}`)) out.push(e.value);
  }
  return out;
}
