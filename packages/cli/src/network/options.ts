// The network options of `create` and the LXC template: --ip, --gateway, --dns, --dns-search,
// --dns-option, --hostname. Values are checked by @oci2lxc/lxc-config's parsers.
import { isLxcConfigError, parseGateway, parseHostname, parseIpSetting, parseNameserver, isDnsName } from '@oci2lxc/lxc-config';
import type { NetworkRequest } from '@oci2lxc/lxc-container';
import type { OptionSpec } from '../args.js';
import { UsageError } from '../errors.js';

const NETWORK = 'Network';

export const networkOptions = {
  ip: {
    type: 'string',
    multiple: true,
    value: 'ADDR/PREFIX',
    group: NETWORK,
    help: [
      'a fixed address LXC sets on eth0 (IPv4 and/or IPv6, repeatable)',
      "--ip dhcp: host-managed DHCP, the host runs busybox udhcpc in the container's",
      'network (default for an application image on a veth network)',
      '--ip manual: nobody configures the address',
    ],
  },
  gateway: { type: 'string', multiple: true, value: 'ADDR|auto', group: NETWORK, help: "default route (auto: the bridge's own address); with a fixed --ip" },
  dns: {
    type: 'string',
    multiple: true,
    value: 'ADDR',
    group: NETWORK,
    help: ["DNS server for /etc/resolv.conf (repeatable; default: the DHCP lease's,", "else the host's minus loopback ones, as Docker does)"],
  },
  'dns-search': { type: 'string', multiple: true, value: 'NAME', group: NETWORK, help: 'search domain (repeatable)' },
  'dns-option': { type: 'string', multiple: true, value: 'OPT', group: NETWORK, help: 'resolv.conf option, e.g. ndots:2 (repeatable)' },
  hostname: { type: 'string', value: 'NAME', group: NETWORK, help: "the container's host name (default: its name)" },
} as const satisfies OptionSpec;

interface NetworkValues {
  ip?: string[] | undefined;
  gateway?: string[] | undefined;
  dns?: string[] | undefined;
  'dns-search'?: string[] | undefined;
  'dns-option'?: string[] | undefined;
  hostname?: string | undefined;
}

/** Parse and check the network options; bad values are usage errors (exit 2). */
export function networkRequestFrom(command: string, v: NetworkValues): NetworkRequest {
  try {
    const ip = parseIpSetting(v.ip ?? []);
    const gateways = (v.gateway ?? []).map((g) => parseGateway(g));
    if (gateways.length > 0 && ip?.mode !== 'static') throw new UsageError('--gateway needs a fixed --ip ADDR/PREFIX (with --ip dhcp the lease gives the route)', command);
    const dnsSearch = v['dns-search'] ?? [];
    for (const d of dnsSearch) if (!isDnsName(d)) throw new UsageError(`--dns-search ${JSON.stringify(d)} is not a DNS name`, command);
    const dnsOptions = v['dns-option'] ?? [];
    for (const o of dnsOptions) if (!/^[A-Za-z0-9_-]+(:[0-9]+)?$/.test(o)) throw new UsageError(`--dns-option ${JSON.stringify(o)} is not a resolv.conf option (e.g. ndots:2)`, command);
    return {
      ...(ip ? { ip } : {}),
      gateways,
      dns: (v.dns ?? []).map((d) => parseNameserver(d)),
      dnsSearch,
      dnsOptions,
      ...(v.hostname !== undefined ? { hostname: parseHostname(v.hostname) } : {}),
    };
  } catch (err) {
    if (isLxcConfigError(err)) throw new UsageError(err.message, command);
    throw err;
  }
}
