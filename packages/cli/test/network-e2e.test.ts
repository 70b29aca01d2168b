// Container networking end to end, inside a private network namespace with its own bridge and
// dnsmasq (see netns.ts): the README's first example (create, lxc-start, fetch a page), host-
// managed DHCP, static addresses, DNS and name files, and the DHCP client's lifetime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxLayer, dir, file, tempDir, writeArchive } from '@oci2lxc/fixtures';
import { bin, isRoot, templateBin } from './run-cli.js';
import { createTestNet, toolsAvailable, type TestNet } from './netns.js';

const available = isRoot && toolsAvailable && existsSync('/bin/busybox');
const tmp = tempDir('oci2lxc-net-');
const lxcpath = join(tmp.path, 'lxc');
const page = 'hello from oci2lxc\n';
let net: TestNet;
let archive: string;
const started: string[] = [];

/** A busybox httpd image: no DHCP client, no resolv.conf, no hosts file. */
function webImage(path: string): string {
  const applets = ['sh', 'cat', 'httpd', 'nslookup', 'ip', 'hostname', 'sleep'];
  writeArchive({ format: 'oci', images: [{ ref: 'web:latest', config: { Cmd: ['/bin/httpd', '-f', '-v', '-p', '80', '-h', '/www'], ExposedPorts: { '80/tcp': {} } }, layers: [busyboxLayer({ applets }), [dir('www'), file('www/index.html', page)]] }] }, path);
  return path;
}

function cli(args: string[]) {
  return net.run([process.execPath, bin, ...args]);
}
function lxc(tool: string, name: string, ...args: string[]) {
  return net.run([tool, '-n', name, '-P', lxcpath, ...args]);
}
function attach(name: string, ...argv: string[]): string {
  const r = lxc('lxc-attach', name, '--', ...argv);
  expect(r.status, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}
function start(name: string): void {
  started.push(name);
  const log = join(tmp.path, `${name}.log`);
  const r = lxc('lxc-start', name, '-d', '-l', 'INFO', '-o', log);
  expect(r.status, `lxc-start: ${r.stderr}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`).toBe(0);
}
/** Fetch a page from the namespace's host side (busybox wget), retrying while the server starts. */
function fetchPage(host: string): string {
  let last = '';
  for (let i = 0; i < 50; i++) {
    // No -T: busybox-static 1.35's wget crashes with it; the spawn has its own timeout.
    const r = net.exec(['busybox', 'wget', '-q', '-O', '-', `http://${host}/`]);
    if (r.status === 0) return r.stdout;
    last = `${r.status} ${r.error?.message ?? ''} ${r.stderr}`;
    spawnSync('sleep', ['0.2']);
  }
  throw new Error(`no page from ${host}: ${last}`);
}
/** Where the hook keeps the client's pid file: /run/oci2lxc/dhcp-<cksum of the state dir>. */
function runtimeDir(name: string): string {
  const key = execFileSync('sh', ['-c', 'printf %s "$1" | cksum', 'sh', join(lxcpath, name, 'oci2lxc')], { encoding: 'utf8' }).split(' ')[0]!;
  return `/run/oci2lxc/dhcp-${key}`;
}
function gone(pid: string): boolean {
  for (let i = 0; i < 50; i++) {
    const status = existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
    if (status === '' || /^State:\s+Z/m.test(status)) return true;
    spawnSync('sleep', ['0.1']);
  }
  return false;
}
function defaultConfigUsesLxcbr0(): boolean {
  const path = execFileSync('lxc-config', ['lxc.default_config'], { encoding: 'utf8' }).trim();
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return /^lxc\.net\.0\.type\s*=\s*veth\s*$/m.test(text) && /^lxc\.net\.0\.link\s*=\s*lxcbr0\s*$/m.test(text);
}

describe.skipIf(!available)('container networking (private netns, bridge, dnsmasq)', () => {
  beforeAll(() => {
    net = createTestNet(tmp.path);
    archive = webImage(join(tmp.path, 'web.tar'));
  });
  afterAll(() => {
    for (const name of started) lxc('lxc-stop', name, '-k');
    net?.cleanup();
    if (!process.env.KEEP_E2E) tmp.cleanup();
  });

  it("README's first example: oci2lxc create web, lxc-start, fetch a page from the container's address", () => {
    // Exactly the README's sequence (with a private lxcpath); the default config's veth on lxcbr0.
    const extra = defaultConfigUsesLxcbr0() ? [] : ['--network', 'veth:lxcbr0'];
    const created = cli(['create', 'web', archive, '--lxcpath', lxcpath, ...extra]);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/host-managed DHCP/);
    start('web');
    const ip = lxc('lxc-info', 'web', '-iH').stdout.trim().split('\n')[0] ?? '';
    expect(ip).toMatch(/^198\.51\.100\.(5\d|[6-9]\d)$/);
    expect(fetchPage(ip)).toBe(page);
    expect(net.leases()).toContain(` ${ip} web `);

    // Names: the lease's DNS server answers, /etc/hosts and /etc/hostname name the container.
    expect(attach('web', '/bin/nslookup', '-type=a', 'probe.test')).toMatch(/Address:\s*198\.51\.100\.7/);
    expect(attach('web', '/bin/cat', '/etc/resolv.conf')).toBe('nameserver 198.51.100.1\n');
    expect(attach('web', '/bin/cat', '/etc/hosts')).toContain(`${ip}\tweb\n`);
    expect(attach('web', '/bin/hostname').trim()).toBe('web');

    // The client runs on the host, for the container's lifetime only.
    const pid = readFileSync(join(runtimeDir('web'), 'udhcpc.pid'), 'utf8').trim();
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(join(lxcpath, 'web', 'oci2lxc', 'udhcpc-script'));
    expect(lxc('lxc-stop', 'web', '-t', '10').status).toBe(0);
    expect(gone(pid)).toBe(true);
    expect(existsSync(join(runtimeDir('web'), 'udhcpc.pid'))).toBe(false);
  });

  it('--ip dhcp with --hostname and --dns-search', () => {
    const r = cli(['create', 'dhcp1', archive, '--lxcpath', lxcpath, '--network', 'veth:lxcbr0', '--ip', 'dhcp', '--hostname', 'www.example.test', '--dns-search', 'example.test', '--json', '-q']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ network: { mode: 'dhcp', hostname: 'www.example.test' } });
    start('dhcp1');
    const ip = lxc('lxc-info', 'dhcp1', '-iH').stdout.trim().split('\n')[0] ?? '';
    expect(ip).toMatch(/^198\.51\.100\.\d+$/);
    expect(fetchPage(ip)).toBe(page);
    expect(attach('dhcp1', '/bin/hostname').trim()).toBe('www.example.test');
    expect(attach('dhcp1', '/bin/cat', '/etc/hosts')).toContain(`${ip}\twww.example.test www\n`);
    expect(attach('dhcp1', '/bin/nslookup', '-type=a', 'probe.test')).toMatch(/198\.51\.100\.7/);
    // dnsmasq keeps the host part of the name the client sent (it has no domain configured).
    expect(net.leases()).toContain(` ${ip} www `);
    const pid = readFileSync(join(runtimeDir('dhcp1'), 'udhcpc.pid'), 'utf8').trim();
    expect(lxc('lxc-stop', 'dhcp1', '-t', '2').status).toBe(0);
    expect(gone(pid)).toBe(true);
  });

  it('static --ip/--gateway (IPv4 and IPv6) and --dns: LXC configures eth0, no client runs', () => {
    const r = cli(['create', 'static1', archive, '--lxcpath', lxcpath, '--network', 'veth:lxcbr0', '--ip', '198.51.100.20/24', '--ip', '2001:db8:100::20/64', '--gateway', '198.51.100.1', '--gateway', 'auto', '--dns', '198.51.100.1', '-q']);
    expect(r.status, r.stderr).toBe(0);
    const config = readFileSync(join(lxcpath, 'static1', 'config'), 'utf8');
    expect(config).toMatch(/^lxc\.net\.0\.ipv4\.address = 198\.51\.100\.20\/24$/m);
    expect(config).toMatch(/^lxc\.net\.0\.ipv4\.gateway = 198\.51\.100\.1$/m);
    expect(config).toMatch(/^lxc\.net\.0\.ipv6\.address = 2001:db8:100::20\/64$/m);
    expect(config).toMatch(/^lxc\.net\.0\.ipv6\.gateway = auto$/m);
    expect(config).not.toMatch(/lxc\.hook\.start-host/);
    start('static1');
    expect(fetchPage('198.51.100.20')).toBe(page);
    expect(fetchPage('[2001:db8:100::20]')).toBe(page);
    expect(attach('static1', '/bin/ip', 'route')).toMatch(/^default via 198\.51\.100\.1 dev eth0/m);
    expect(attach('static1', '/bin/ip', '-6', 'route')).toMatch(/^default via 2001:db8:100::1 dev eth0/m);
    expect(attach('static1', '/bin/cat', '/etc/resolv.conf')).toBe('nameserver 198.51.100.1\n');
    expect(attach('static1', '/bin/cat', '/etc/hosts')).toContain('198.51.100.20\tstatic1\n2001:db8:100::20\tstatic1\n');
    expect(attach('static1', '/bin/nslookup', '-type=a', 'probe.test')).toMatch(/198\.51\.100\.7/);
    expect(existsSync(runtimeDir('static1'))).toBe(false);
    expect(lxc('lxc-stop', 'static1', '-t', '2').status).toBe(0);
  });

  it("the program's stdout/stderr are kept in <container>/console.log (httpd -v logs each request)", () => {
    const log = readFileSync(join(lxcpath, 'static1', 'console.log'), 'utf8');
    expect(log).toMatch(/198\.51\.100\.1/);
    expect(log).toMatch(/2001:db8:100::1/);
    expect(readFileSync(join(lxcpath, 'static1', 'config'), 'utf8')).toMatch(/^lxc\.console\.size = 1MB$/m);
  });

  it('the LXC template takes the same network options', () => {
    const base = join(tmp.path, 'veth.conf');
    writeFileSync(base, 'lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up\n');
    const r = net.run(['lxc-create', '-n', 'tpl', '-P', lxcpath, '-f', base, '-t', templateBin, '--', '--archive', archive, '--ip', '198.51.100.30/24', '--hostname', 'tpl-web', '--quiet']);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    start('tpl');
    expect(fetchPage('198.51.100.30')).toBe(page);
    expect(attach('tpl', '/bin/hostname').trim()).toBe('tpl-web');
    expect(attach('tpl', '/bin/cat', '/etc/hosts')).toContain('198.51.100.30\ttpl-web\n');
    expect(lxc('lxc-stop', 'tpl', '-t', '2').status).toBe(0);
  });
});
