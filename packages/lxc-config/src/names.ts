import { isDnsName, isLoopbackAddress, isStrictIPv4, isStrictIPv6, parseHostname, parseNameserver } from './network.js';

/*
 * The name files Docker gives every container: /etc/resolv.conf, /etc/hosts, /etc/hostname.
 * Pure text builders; callers decide where the text goes (see the CLI: a file in the container's
 * directory bind-mounted over the rootfs's, never written through the image's own paths).
 */

/** What goes into a resolv.conf. */
export interface ResolverSettings {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** Docker's fallback when the host only has loopback resolvers (moby/libnetwork resolvconf). */
export const FALLBACK_NAMESERVERS: readonly string[] = ['8.8.8.8', '8.8.4.4'];

/**
 * The resolvers a container should use from the host's resolv.conf text, as Docker does:
 * nameservers minus loopback ones (127.0.0.0/8, ::1 are the container's own loopback there),
 * search domains and options kept. `fallback` is true when nothing usable was left, and
 * {@link FALLBACK_NAMESERVERS} were put in. Malformed entries are dropped. `keepLoopback`: for a
 * container sharing the host's network, where the host's loopback resolvers work.
 */
export function containerResolvers(hostResolvConf: string, how: { keepLoopback?: boolean } = {}): ResolverSettings & { fallback: boolean; dropped: string[] } {
  const nameservers: string[] = [];
  const dropped: string[] = [];
  let search: string[] = [];
  const options: string[] = [];
  for (const raw of hostResolvConf.split('\n')) {
    const words = raw.replace(/[#;].*$/, '').trim().split(/[ \t]+/).filter(Boolean);
    const [kw, ...rest] = words;
    if (kw === 'nameserver' && rest.length >= 1) {
      const a = rest[0]!;
      if (!isStrictIPv4(a) && !isStrictIPv6(a)) continue;
      if (isLoopbackAddress(a) && !how.keepLoopback) dropped.push(a);
      else if (!nameservers.includes(a)) nameservers.push(a);
    } else if (kw === 'search' || kw === 'domain') {
      // The last search/domain line wins (resolv.conf(5)).
      search = rest.filter(isDnsName);
    } else if (kw === 'options') {
      options.push(...rest.filter((o) => /^[A-Za-z0-9_-]+(:[0-9]+)?$/.test(o)));
    }
  }
  const fallback = nameservers.length === 0;
  return { nameservers: fallback ? [...FALLBACK_NAMESERVERS] : nameservers, search, options, fallback, dropped };
}

/** resolv.conf text. Every value is checked again (a DNS server, a DNS name, an option word). */
export function resolvConfText(s: ResolverSettings): string {
  const out: string[] = [];
  for (const n of s.nameservers) out.push(`nameserver ${parseNameserver(n)}`);
  const search = s.search.filter(isDnsName);
  if (search.length) out.push(`search ${search.join(' ')}`);
  const options = s.options.filter((o) => /^[A-Za-z0-9_-]+(:[0-9]+)?$/.test(o));
  if (options.length) out.push(`options ${options.join(' ')}`);
  return `${out.join('\n')}\n`;
}

/** /etc/hosts as Docker writes it: localhost entries, then the container's addresses with its name. */
export function hostsText(hostname: string, addresses: readonly string[]): string {
  const name = parseHostname(hostname);
  const short = name.split('.')[0]!;
  const names = short === name ? name : `${name} ${short}`;
  const out = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];
  for (const a of addresses) out.push(`${parseNameserver(a, 'address')}\t${names}`);
  return `${out.join('\n')}\n`;
}

/** /etc/hostname text. */
export function hostnameText(hostname: string): string {
  return `${parseHostname(hostname)}\n`;
}
