// What the host's LXC installation says: lxcpath, default config, template config dir, version.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

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
 * (network lines replaced when a network was chosen) plus common.conf.
 */
export async function baseConfigLines(network: Network): Promise<string[]> {
  const path = (await lxcConfigValue('lxc.default_config')) ?? '/etc/lxc/default.conf';
  let lines: string[] = [];
  try {
    lines = readFileSync(path, 'utf8').split('\n');
  } catch {
    lines = [];
  }
  const isNet = (l: string) => /^\s*lxc\.net(\.|\s|=)/.test(l);
  const out = lines.filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#') && (network.type === 'default' || !isNet(l)));
  if (network.type === 'none' || network.type === 'empty') out.push(`lxc.net.0.type = ${network.type}`);
  if (network.type === 'veth') out.push('lxc.net.0.type = veth', `lxc.net.0.link = ${network.link}`, 'lxc.net.0.flags = up');
  const dir = templateConfigDir();
  if (dir) out.push(`lxc.include = ${dir}/common.conf`);
  return out;
}

/** Bridges the config's veth networks name that this host does not have (lxc-start would fail). */
export function missingBridges(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const m = /^\s*lxc\.net\.\d+\.link\s*=\s*(\S+)\s*$/.exec(l);
    if (m && !existsSync(`/sys/class/net/${m[1]}`)) out.push(m[1]!);
  }
  return out;
}
