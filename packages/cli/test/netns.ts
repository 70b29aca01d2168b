// A private network for LXC tests: a network namespace with its own bridge (named lxcbr0, as
// LXC's default config expects; the name is private to the namespace) on TEST-NET addresses, and
// dnsmasq serving DHCP and DNS on it. Nothing leaves the namespace.
//
// `ip netns exec` remounts /sys, which hides this machine's cgroup v1 mounts from lxc-start, so
// commands run through in-netns.sh: a private mount namespace (unshare -m) that enters only the
// network namespace and binds that namespace's sysfs class/net and devices/virtual/net over
// /sys's (LXC checks bridges there). lxc-attach/-info/-stop run there too (LXC's command socket
// is an abstract socket, per network namespace).
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const IN_NETNS = `#!/bin/sh
set -eu
if [ -z "\${IN_NETNS_INNER:-}" ]; then
    IN_NETNS_INNER=1 exec unshare -m --propagation private nsenter --net="/run/netns/$1" -- "$0" "$@"
fi
unset IN_NETNS_INNER
sysfs=$2; shift 2
mount -t sysfs none "$sysfs"
mount --bind "$sysfs/class/net" /sys/class/net
mount --bind "$sysfs/devices/virtual/net" /sys/devices/virtual/net
exec "$@"
`;

export const toolsAvailable = ['dnsmasq', 'nsenter', 'unshare', 'ip', 'lxc-start'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);

export interface TestNet {
  ns: string;
  bridge: string;
  /** Runs argv inside the namespace (see above). */
  run(argv: string[], opts?: { timeout?: number }): SpawnSyncReturns<string>;
  /** Runs argv with only the network namespace entered (no sysfs view needed). */
  exec(argv: string[]): SpawnSyncReturns<string>;
  leases(): string;
  cleanup(): void;
}

function must(r: SpawnSyncReturns<string>, what: string): SpawnSyncReturns<string> {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
  return r;
}

/** Make the namespace, bridge 198.51.100.1/24 + 2001:db8:100::1/64, dnsmasq (DHCP .50-.99, DNS for *.probe.test). */
export function createTestNet(dir: string): TestNet {
  const ns = `o2l${randomBytes(5).toString('hex')}`;
  const bridge = 'lxcbr0';
  const helper = join(dir, 'in-netns.sh');
  const sysfs = join(dir, 'sysfs');
  mkdirSync(sysfs, { recursive: true });
  writeFileSync(helper, IN_NETNS, { mode: 0o755 });
  must(spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' }), 'ip netns add');
  let dnsmasq: ChildProcess | undefined;
  const cleanup = () => {
    dnsmasq?.kill('SIGTERM');
    spawnSync('ip', ['netns', 'del', ns]);
  };
  try {
    const ip = (...args: string[]) => must(spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' }), `ip ${args.join(' ')}`);
    ip('link', 'set', 'lo', 'up');
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', '198.51.100.1/24', 'dev', bridge);
    ip('-6', 'addr', 'add', '2001:db8:100::1/64', 'dev', bridge, 'nodad');
    ip('link', 'set', bridge, 'up');
    const log = join(dir, 'dnsmasq.log');
    dnsmasq = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', 'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
      '--bind-interfaces', `--interface=${bridge}`, '--except-interface=lo', '--listen-address=198.51.100.1',
      '--dhcp-range=198.51.100.50,198.51.100.99,255.255.255.0,1h', `--dhcp-leasefile=${join(dir, 'leases')}`,
      '--address=/probe.test/198.51.100.7', '--user=root', `--log-facility=${log}`, '--log-dhcp', '--pid-file='], { stdio: 'ignore' });
    const end = Date.now() + 10_000;
    while (Date.now() < end && !(existsSync(log) && readFileSync(log, 'utf8').includes('sockets bound exclusively'))) spawnSync('sleep', ['0.1']);
    if (!existsSync(log) || !readFileSync(log, 'utf8').includes('sockets bound exclusively')) throw new Error(`dnsmasq did not start: ${existsSync(log) ? readFileSync(log, 'utf8') : '(no log)'}`);
  } catch (err) {
    cleanup();
    throw err;
  }
  return {
    ns,
    bridge,
    run: (argv, opts = {}) => spawnSync(helper, [ns, sysfs, ...argv], { encoding: 'utf8', timeout: opts.timeout ?? 60_000 }),
    exec: (argv) => spawnSync('nsenter', [`--net=/run/netns/${ns}`, '--', ...argv], { encoding: 'utf8', timeout: 5_000 }),
    leases: () => (existsSync(join(dir, 'leases')) ? readFileSync(join(dir, 'leases'), 'utf8') : ''),
    cleanup,
  };
}
