// How create decides a container's network (the documented default rule), and the files and
// lines it produces — real directories, no LXC needed.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@oci2lxc/fixtures';
import { prepareNetwork, type NetworkSetupInput } from '../src/network-setup.js';
import type { NetworkRequest } from '../src/network-setup.js';

const tmp = tempDir('oci2lxc-netsetup-');
afterAll(() => tmp.cleanup());
let n = 0;
const veth = ['lxc.net.0.type = veth', 'lxc.net.0.link = lxcbr0', 'lxc.net.0.flags = up'];
const none: NetworkRequest = { gateways: [], dns: [], dnsSearch: [], dnsOptions: [] };

function setup(over: Partial<NetworkSetupInput>) {
  const dir = join(tmp.path, `c${n++}`);
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  const input: NetworkSetupInput = { request: none, baseLines: veth, name: 'web', containerDir: dir, stagingDir: dir, rootfs: join(dir, 'rootfs'), application: true, hostResolvConf: 'nameserver 192.0.2.53\n', dhcpClientAvailable: true, ...over };
  return { dir, out: prepareNetwork(input) };
}
const keys = (lines: Array<{ key: string }>) => lines.map((l) => l.key);

describe('the default rule', () => {
  it('an application image on a veth network: host-managed DHCP through the shipped hook', () => {
    const { dir, out } = setup({});
    expect(out.mode).toBe('dhcp');
    expect(out.lines).toContainEqual({ key: 'lxc.hook.start-host', value: `${join(dir, 'oci2lxc', 'dhcp-hook')} start eth0` });
    expect(keys(out.lines)).toEqual(expect.arrayContaining(['lxc.hook.stop', 'lxc.hook.post-stop']));
    expect(readFileSync(join(dir, 'oci2lxc', 'udhcpc-script'), 'utf8')).toMatch(/^#!\/bin\/sh/);
  });

  it('an image that runs /sbin/init, or a config that already sets an address: nobody configures it', () => {
    expect(setup({ application: false }).out.mode).toBe('manual');
    expect(setup({ baseLines: [...veth, 'lxc.net.0.ipv4.address = 192.0.2.5/24'] }).out.mode).toBe('manual');
    expect(keys(setup({ application: false }).out.lines)).not.toContain('lxc.hook.start-host');
  });

  it('no DHCP client on the host: a warning by default, an error when --ip dhcp asked for it', () => {
    const { out } = setup({ dhcpClientAvailable: false });
    expect(out.mode).toBe('manual');
    expect(out.warnings.join('\n')).toMatch(/busybox-static/);
    expect(() => setup({ dhcpClientAvailable: false, request: { ...none, ip: { mode: 'dhcp' } } })).toThrow(/NO_DHCP_CLIENT|busybox-static/);
  });

  it('empty and none networks: no interface to configure', () => {
    expect(setup({ baseLines: ['lxc.net.0.type = empty'] }).out.mode).toBe('loopback');
    expect(() => setup({ baseLines: ['lxc.net.0.type = empty'], request: { ...none, ip: { mode: 'static', addresses: [{ family: 4, address: '192.0.2.5', prefix: 24 }] } } })).toThrow(/needs a network interface/);
    const host = setup({ baseLines: ['lxc.net.0.type = none'], hostResolvConf: 'nameserver 127.0.0.53\n' });
    expect(host.out.mode).toBe('host');
    // Sharing the host's network, its loopback resolver works.
    expect(readFileSync(join(host.dir, 'oci2lxc', 'resolv.conf'), 'utf8')).toBe('nameserver 127.0.0.53\n');
  });
});

describe('names', () => {
  it("resolv.conf: --dns wins and pins it; else the host's minus loopback, with Docker's fallback", () => {
    const pinned = setup({ request: { ...none, dns: ['198.51.100.1'], dnsSearch: ['example.test'] } });
    expect(readFileSync(join(pinned.dir, 'oci2lxc', 'resolv.conf'), 'utf8')).toBe('nameserver 198.51.100.1\nsearch example.test\n');
    expect(existsSync(join(pinned.dir, 'oci2lxc', 'dns-fixed'))).toBe(true);
    const loop = setup({ hostResolvConf: 'nameserver 127.0.0.1\nnameserver ::1\n' });
    expect(readFileSync(join(loop.dir, 'oci2lxc', 'resolv.conf'), 'utf8')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    expect(loop.out.warnings.join('\n')).toMatch(/127\.0\.0\.1, ::1/);
  });

  it('the host name: --hostname, else the container name made a valid host name', () => {
    expect(setup({ name: 'my_app.v2' }).out.hostname).toBe('my-app-v2');
    const named = setup({ request: { ...none, hostname: 'www.example.test' } });
    expect(named.out.lines).toContainEqual({ key: 'lxc.uts.name', value: 'www.example.test' });
    expect(readFileSync(join(named.dir, 'oci2lxc', 'hostname'), 'utf8')).toBe('www.example.test\n');
    expect(readFileSync(join(named.dir, 'rootfs', 'etc', 'hostname'), 'utf8')).toBe('www.example.test\n');
  });

  it('each name file is bind-mounted from the container directory over the image path', () => {
    const { dir, out } = setup({});
    for (const f of ['resolv.conf', 'hosts', 'hostname']) expect(out.lines).toContainEqual({ key: 'lxc.mount.entry', value: `${join(dir, 'oci2lxc', f)} etc/${f} none bind 0 0` });
  });
});
