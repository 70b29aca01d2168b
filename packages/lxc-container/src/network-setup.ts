// A container's network and name files: decides how eth0 gets its address (fixed by LXC,
// host-managed DHCP, or nobody), writes the name files into <container dir>/oci2lxc/ and returns
// the config lines (structured, for the config encoder) that use them.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bindMountLine,
  containerResolvers,
  encodeConfigValue,
  hostnameText,
  hostsText,
  interfaceLines,
  isDnsName,
  isLxcConfigError,
  resolvConfText,
  writeFileInRoot,
  type Gateway,
  type IpSetting,
  type LxcConfigLine,
  type ResolverSettings,
} from '@oci2lxc/lxc-config';
import { ContainerError } from './errors.js';
import { DHCP_HOOK_SCRIPT, UDHCPC_SCRIPT } from './hook-scripts.js';

/** What the user asked for about the network. */
export interface NetworkRequest {
  ip?: IpSetting;
  gateways: Gateway[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  hostname?: string;
}

/** Where the container's own files live, inside its directory. */
export const STATE_DIR = 'oci2lxc';

export interface NetworkSetupInput {
  request: NetworkRequest;
  /** The container's base config lines (`key = value` text), to read its first network. */
  baseLines: readonly string[];
  /** Container name: the default host name. */
  name: string;
  /** The container's final directory (paths in the config point there). */
  containerDir: string;
  /** Where the container directory is being built now (same as containerDir for the template). */
  stagingDir: string;
  /** The rootfs being built. */
  rootfs: string;
  /** The image runs an application, not /sbin/init: nothing in it will configure the network. */
  application: boolean;
  /** Host's resolv.conf text (tests pass their own); default: read /etc/resolv.conf. */
  hostResolvConf?: string;
  /** Is a DHCP client available on this host? Default: looks for udhcpc or busybox's applet. */
  dhcpClientAvailable?: boolean;
}

export interface NetworkSetup {
  /** How eth0 gets its address. */
  mode: 'static' | 'dhcp' | 'manual' | 'host' | 'loopback';
  hostname: string;
  lines: LxcConfigLine[];
  warnings: string[];
  /** Notes worth a line on stderr (not problems). */
  notes: string[];
}

/** The first network of a config: type, link, interface name, and whether it already has addresses. */
export function firstNetwork(lines: readonly string[]): { type?: string; link?: string; name?: string; hasAddress: boolean } {
  const out: { type?: string; link?: string; name?: string; hasAddress: boolean } = { hasAddress: false };
  for (const l of lines) {
    const m = /^\s*lxc\.net\.0\.([a-z0-9.]+)\s*=\s*(.*?)\s*$/.exec(l);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'type') out.type = value;
    else if (key === 'link') out.link = value;
    else if (key === 'name') out.name = value;
    else if (/^ipv[46]\.address$/.test(key) && value !== '') out.hasAddress = true;
  }
  return out;
}

/** Does this host have a DHCP client the hook can run (udhcpc, or busybox with the applet)? */
export function dhcpClientOnHost(): boolean {
  for (const args of [['udhcpc', '--help'], ['busybox', 'udhcpc', '--help']]) {
    try {
      execFileSync(args[0]!, args.slice(1), { stdio: 'ignore', timeout: 5000 });
      return true;
    } catch (err) {
      // busybox applets print help and exit 0; a missing binary throws ENOENT.
      if ((err as { status?: number }).status === 0) return true;
    }
  }
  return false;
}

/** A default host name from a container name (LXC names allow more than DNS names do). */
export function defaultHostname(name: string): string {
  if (isDnsName(name) && name.length <= 64) return name;
  const cleaned = name.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return cleaned === '' ? 'container' : cleaned;
}

// LXC runs hooks through `sh -c "exec HOOK …"`: the hook's path must need no quoting.
function hookPath(path: string): string {
  if (!/^\/[A-Za-z0-9._/+@:-]+$/.test(path)) {
    throw new ContainerError('UNSAFE_PATH', `the container directory ${JSON.stringify(path)} has characters a shell would interpret; LXC runs hooks through sh -c, so host-managed DHCP needs a plain path (use --lxcpath with letters, digits and . _ - + @ : only, or --ip manual)`);
  }
  return path;
}

function resolvers(req: NetworkRequest, hostText: string, keepLoopback: boolean, warnings: string[]): ResolverSettings {
  if (req.dns.length > 0) return { nameservers: req.dns, search: req.dnsSearch, options: req.dnsOptions };
  const host = containerResolvers(hostText, { keepLoopback });
  if (host.fallback) warnings.push(`the host's resolv.conf has no nameserver a container can reach (${host.dropped.join(', ') || 'none'}); /etc/resolv.conf uses ${host.nameservers.join(', ')} as Docker does unless a DHCP lease gives servers (set --dns to choose)`);
  return {
    nameservers: host.nameservers,
    search: req.dnsSearch.length ? req.dnsSearch : host.search,
    options: req.dnsOptions.length ? req.dnsOptions : host.options,
  };
}

/**
 * Decide the network, write <staging>/oci2lxc/{resolv.conf,hosts,hostname,name} (and the DHCP
 * scripts when used), create the mount points in the rootfs chroot-style, and return the lines.
 *
 * Address rule: --ip wins. Without it, an application image (command other than /sbin/init) on
 * a veth network whose config sets no address gets host-managed DHCP, as pve-container does for
 * such containers: we cannot know without sending packets whether the bridge's network serves
 * DHCP (Debian's lxcbr0 and a Proxmox vmbr on a LAN do); if nobody answers, the client keeps
 * asking in the background and the interface stays without an IPv4 address, as before.
 */
export function prepareNetwork(i: NetworkSetupInput): NetworkSetup {
  const req = i.request;
  const net = firstNetwork(i.baseLines);
  const warnings: string[] = [];
  const notes: string[] = [];
  const lines: LxcConfigLine[] = [];
  const hostname = req.hostname ?? defaultHostname(i.name);
  if (req.hostname === undefined && hostname !== i.name) notes.push(`host name '${hostname}' (the container name is not a valid host name; set --hostname)`);
  lines.push({ key: 'lxc.uts.name', value: encodeConfigValue(hostname, '--hostname') });

  const hasInterface = net.type !== undefined && net.type !== 'none' && net.type !== 'empty';
  let mode: NetworkSetup['mode'];
  if (net.type === 'none') mode = 'host';
  else if (!hasInterface) mode = 'loopback';
  else if (req.ip) mode = req.ip.mode;
  else if (net.type === 'veth' && !net.hasAddress && i.application) mode = 'dhcp';
  else mode = 'manual';
  if (req.ip && !hasInterface) throw new ContainerError('NO_INTERFACE', `--ip ${req.ip.mode === 'static' ? 'ADDR' : req.ip.mode} needs a network interface, but the container's network is ${net.type ?? 'absent'} (use --network veth[:BRIDGE])`);

  if (mode === 'dhcp') {
    const available = i.dhcpClientAvailable ?? dhcpClientOnHost();
    if (!available) {
      if (req.ip?.mode === 'dhcp') throw new ContainerError('NO_DHCP_CLIENT', '--ip dhcp runs a DHCP client on the host: install busybox-static (or udhcpc)');
      warnings.push('no DHCP client on this host (apt-get install busybox-static): the container gets no IPv4 address unless its image configures one (or use --ip ADDR/PREFIX)');
      mode = 'manual';
    }
  }

  const addresses: string[] = [];
  if (mode === 'static' && req.ip?.mode === 'static') {
    lines.push(...interfaceLines(0, { addresses: req.ip.addresses, gateways: req.gateways }));
    addresses.push(...req.ip.addresses.map((a) => a.address));
  }

  const state = join(i.stagingDir, STATE_DIR);
  const finalState = join(i.containerDir, STATE_DIR);
  mkdirSync(state, { recursive: true, mode: 0o755 });
  chmodSync(state, 0o755);
  const hostText = i.hostResolvConf ?? readHostResolvConf();
  const files: Record<string, string> = {
    'resolv.conf': resolvConfText(resolvers(req, hostText, mode === 'host', warnings)),
    hosts: hostsText(hostname, addresses),
    hostname: hostnameText(hostname),
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(state, name), text, { mode: 0o644 });
  // Not mounted into the container (it cannot change it): the name the DHCP scripts use.
  writeFileSync(join(state, 'name'), `${hostname}\n`, { mode: 0o644 });
  if (req.dns.length > 0) writeFileSync(join(state, 'dns-fixed'), '--dns given: the DHCP lease does not replace resolv.conf\n', { mode: 0o644 });

  if (mode === 'dhcp') {
    const ifname = net.name ?? 'eth0';
    if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,14}$/.test(ifname)) throw new ContainerError('INVALID_ARGUMENT', `the interface name ${JSON.stringify(ifname)} is not one the DHCP hook accepts`);
    writeFileSync(join(state, 'dhcp-hook'), DHCP_HOOK_SCRIPT, { mode: 0o755 });
    writeFileSync(join(state, 'udhcpc-script'), UDHCPC_SCRIPT, { mode: 0o755 });
    const hook = hookPath(join(finalState, 'dhcp-hook'));
    lines.push(
      { key: 'lxc.hook.start-host', value: encodeConfigValue(`${hook} start ${ifname}`, 'hook') },
      { key: 'lxc.hook.stop', value: encodeConfigValue(`${hook} stop ${ifname}`, 'hook') },
      { key: 'lxc.hook.post-stop', value: encodeConfigValue(`${hook} stop ${ifname}`, 'hook') },
    );
    notes.push(`host-managed DHCP on ${net.link ?? 'the container network'}: the host runs udhcpc in the container's network (${join(finalState, 'dhcp-hook')})`);
  }

  // Bind the files over the image's own: the DHCP hook updates them on the host side only, and
  // nothing is ever written through the image's paths. The mount points are made real files
  // here (a symlink in their place is replaced; a symlinked /etc is refused), so LXC, which
  // refuses to mount through symlinks, finds them.
  for (const [name, text] of Object.entries(files)) {
    const target = `/etc/${name}`;
    try {
      writeFileInRoot(i.rootfs, target, text, 0o644);
    } catch (err) {
      if (isLxcConfigError(err) && err.code === 'UNSAFE_PATH') {
        warnings.push(`${target} is not managed: ${err.message}`);
        continue;
      }
      throw err;
    }
    lines.push(bindMountLine({ source: join(finalState, name), target, file: true }, target));
  }
  return { mode, hostname, lines, warnings, notes };
}

function readHostResolvConf(): string {
  let text = '';
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
  // systemd-resolved's stub (127.0.0.53) is loopback; its upstream list is the real one (as Docker reads it).
  if (/^\s*nameserver\s+127\.0\.0\.53\s*$/m.test(text)) {
    try {
      return readFileSync('/run/systemd/resolve/resolv.conf', 'utf8');
    } catch {
      return text;
    }
  }
  return text;
}
