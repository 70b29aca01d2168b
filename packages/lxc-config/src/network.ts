import { isIPv6 } from 'node:net';
import { encodeConfigValue } from './confvalue.js';
import { LxcConfigError, show } from './errors.js';
import type { LxcConfigLine } from './types.js';

/*
 * Network settings for a container: strict parsers for addresses, prefixes, gateways, DNS
 * servers and host names (every value that reaches a config line or a file inside the container
 * is checked here), and the `lxc.net.N.*` lines that make LXC configure the interface itself.
 */

/** An interface address with its prefix length, e.g. 198.51.100.10/24 or 2001:db8::10/64. */
export interface InterfaceAddress {
  family: 4 | 6;
  address: string;
  prefix: number;
}

/** How an interface gets its address: LXC sets a fixed one, a host-run DHCP client, or nobody. */
export type IpSetting = { mode: 'static'; addresses: InterfaceAddress[] } | { mode: 'dhcp' } | { mode: 'manual' };

/** A gateway: an address, or `auto` (LXC uses the bridge's own address of that family). */
export type Gateway = { family: 4 | 6; address: string } | { family: 4 | 6 | 'any'; address: 'auto' };

function invalid(field: string, value: string, why: string): LxcConfigError {
  return new LxcConfigError('INVALID_ARGUMENT', `${field} ${show(value)} ${why}`, field);
}

/**
 * Is `value` an IPv4 address in plain dotted-quad form (four decimal octets, no leading zeros,
 * which `ip` and LXC would read as octal)?
 */
export function isStrictIPv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** Is `value` an IPv6 address (no zone id, only hex digits, colons and an embedded IPv4 tail)? */
export function isStrictIPv6(value: string): boolean {
  return /^[0-9A-Fa-f:.]+$/.test(value) && isIPv6(value) && (!value.includes('.') || isStrictIPv4(value.slice(value.lastIndexOf(':') + 1)));
}

/** The family of an address, or throw INVALID_ARGUMENT naming `field`. */
export function addressFamily(value: string, field: string): 4 | 6 {
  if (isStrictIPv4(value)) return 4;
  if (isStrictIPv6(value)) return 6;
  throw invalid(field, value, 'is not an IPv4 or IPv6 address');
}

/** Parse `ADDR/PREFIX` (IPv4 or IPv6). The prefix is required: LXC would otherwise guess one. */
export function parseInterfaceAddress(value: string, field = '--ip'): InterfaceAddress {
  const slash = value.indexOf('/');
  if (slash < 0) throw invalid(field, value, 'needs a prefix length, e.g. 198.51.100.10/24');
  const address = value.slice(0, slash);
  const prefixText = value.slice(slash + 1);
  const family = addressFamily(address, field);
  const max = family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max || Number(prefixText) === 0) {
    throw invalid(field, value, `has a bad prefix length (1-${max})`);
  }
  return { family, address, prefix: Number(prefixText) };
}

/**
 * Parse the values of repeated `--ip` options: `dhcp` (IPv4 by a DHCP client the host runs),
 * `manual` (nobody configures the interface) or up to one `ADDR/PREFIX` per family.
 */
export function parseIpSetting(values: readonly string[]): IpSetting | undefined {
  if (values.length === 0) return undefined;
  if (values.length === 1 && (values[0] === 'dhcp' || values[0] === 'manual')) return { mode: values[0] };
  const addresses: InterfaceAddress[] = [];
  for (const v of values) {
    if (v === 'dhcp' || v === 'manual') throw invalid('--ip', v, 'cannot be combined with other --ip values');
    const a = parseInterfaceAddress(v);
    if (addresses.some((x) => x.family === a.family)) throw invalid('--ip', v, `is a second IPv${a.family} address (give one per family)`);
    addresses.push(a);
  }
  return { mode: 'static', addresses };
}

/** Parse a `--gateway` value: an IPv4 or IPv6 address, or `auto`. */
export function parseGateway(value: string, field = '--gateway'): Gateway {
  if (value === 'auto') return { family: 'any', address: 'auto' };
  return { family: addressFamily(value, field), address: value };
}

/** Parse a DNS server address (`--dns`); IPv4 or IPv6. */
export function parseNameserver(value: string, field = '--dns'): string {
  addressFamily(value, field);
  return value;
}

/** Is `value` a DNS name (RFC 1123 labels of letters, digits and inner hyphens, ≤ 253 characters)? */
export function isDnsName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

/** Parse a host name (`--hostname`): one DNS name, ≤ 64 characters (the kernel's UTS limit). */
export function parseHostname(value: string, field = '--hostname'): string {
  if (value.length > 64 || !isDnsName(value)) throw invalid(field, value, 'is not a valid host name (letters, digits, inner "-", dot-separated, at most 64 characters)');
  return value;
}

/** Loopback resolvers (127.0.0.0/8, ::1) do not work from inside a container's own network. */
export function isLoopbackAddress(address: string): boolean {
  if (isStrictIPv4(address)) return address.startsWith('127.');
  return isStrictIPv6(address) && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/i.test(address);
}

/** Options of {@link interfaceLines}. */
export interface InterfaceLinesOptions {
  /** Fixed addresses LXC sets on the interface. */
  addresses?: readonly InterfaceAddress[];
  /** Gateways (at most one per family; `auto` covers each family with an address and no explicit gateway). */
  gateways?: readonly Gateway[];
}

/**
 * `lxc.net.<index>.ipv4.address`, `.ipv4.gateway`, `.ipv6.address`, `.ipv6.gateway` lines, so
 * that LXC configures the interface itself before the container's init runs (no client in the
 * image). Values are re-validated here; hostile input never becomes a config line.
 */
export function interfaceLines(index: number, o: InterfaceLinesOptions): LxcConfigLine[] {
  if (!Number.isInteger(index) || index < 0 || index > 999) throw new LxcConfigError('INVALID_ARGUMENT', `network index ${index} is out of range`, 'network');
  const lines: LxcConfigLine[] = [];
  const families = new Set<4 | 6>();
  for (const a of o.addresses ?? []) {
    const checked = parseInterfaceAddress(`${a.address}/${a.prefix}`);
    if (checked.family !== a.family) throw invalid('--ip', a.address, `is not an IPv${a.family} address`);
    families.add(a.family);
    lines.push({ key: `lxc.net.${index}.ipv${a.family}.address`, value: encodeConfigValue(`${checked.address}/${checked.prefix}`, '--ip') });
  }
  // Explicit gateways first; `auto` then covers each family with an address and no gateway yet.
  const seen = new Set<4 | 6>();
  const gateways = [...(o.gateways ?? [])].sort((a, b) => Number(a.address === 'auto') - Number(b.address === 'auto'));
  for (const g of gateways) {
    if (g.address !== 'auto') addressFamily(g.address, '--gateway');
    const targets: Array<4 | 6> = g.family === 'any' ? [...families].filter((f) => !seen.has(f)) : [g.family];
    if (targets.length === 0) throw invalid('--gateway', g.address, 'has no static --ip address of its family left to serve');
    for (const f of targets) {
      // LXC can only add a default route through an address of the interface's own subnet.
      if (!families.has(f)) throw invalid('--gateway', g.address, `needs a static --ip IPv${f} address`);
      if (seen.has(f)) throw invalid('--gateway', g.address, `is a second IPv${f} gateway`);
      seen.add(f);
      lines.push({ key: `lxc.net.${index}.ipv${f}.gateway`, value: encodeConfigValue(g.address, '--gateway') });
    }
  }
  return lines;
}
