// Hostile input around networking: lease values from a DHCP server, option values, and images
// whose /etc points out of the rootfs. Nothing outside the container's directory may change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxLayer, symlink, tempDir, writeArchive } from '@oci2lxc/fixtures';
import { UDHCPC_SCRIPT } from '../../lxc-container/src/hook-scripts.js';
import { isRoot, runCli } from './run-cli.js';
import { hostFacts } from './host-snapshot.js';

const tmp = tempDir('oci2lxc-nethostile-');
afterAll(() => tmp.cleanup());

describe.skipIf(!isRoot)('the udhcpc event script treats every lease value as hostile', () => {
  const ns = `o2h${randomBytes(5).toString('hex')}`;
  const state = join(tmp.path, 'state');
  const marker = join(tmp.path, 'PWNED');
  const script = join(state, 'udhcpc-script');
  const initial = { 'resolv.conf': 'nameserver 192.0.2.53\n', hosts: '127.0.0.1\tlocalhost\n', name: 'web\n' };

  const reset = () => {
    mkdirSync(state, { recursive: true });
    writeFileSync(script, UDHCPC_SCRIPT, { mode: 0o755 });
    for (const [n, t] of Object.entries(initial)) writeFileSync(join(state, n), t);
    spawnSync('ip', ['-n', ns, 'addr', 'flush', 'dev', 'eth0']);
  };
  const event = (name: string, env: Record<string, string>) =>
    spawnSync('nsenter', [`--net=/run/netns/${ns}`, '--', script, name], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env } });
  const addrs = () => spawnSync('ip', ['-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout;
  const routes = () => spawnSync('ip', ['-n', ns, '-4', 'route'], { encoding: 'utf8' }).stdout;
  const read = (n: string) => readFileSync(join(state, n), 'utf8');

  beforeAll(() => {
    // A veth pair (no dummy module needed): eth0 is the container-side end the client would manage.
    for (const args of [['netns', 'add', ns], ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0'], ['-n', ns, 'link', 'set', 'eth0', 'up'], ['-n', ns, 'link', 'set', 'peer0', 'up']]) {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    }
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('applies a well-formed lease: address, default route, DNS, hosts', () => {
    reset();
    const r = event('bound', { interface: 'eth0', ip: '198.51.100.9', mask: '24', router: '198.51.100.1', dns: '198.51.100.1 198.51.100.2', domain: 'example.test' });
    expect(r.status, r.stderr).toBe(0);
    expect(addrs()).toContain('inet 198.51.100.9/24');
    expect(routes()).toMatch(/^default via 198\.51\.100\.1 dev eth0/m);
    expect(read('resolv.conf')).toBe('nameserver 198.51.100.1\nnameserver 198.51.100.2\nsearch example.test\n');
    expect(read('hosts')).toContain('198.51.100.9\tweb\n');
  });

  it('a subnet mask instead of a prefix works too', () => {
    reset();
    expect(event('bound', { interface: 'eth0', ip: '198.51.100.10', subnet: '255.255.255.0' }).status).toBe(0);
    expect(addrs()).toContain('inet 198.51.100.10/24');
  });

  it.each([
    ['shell in the address', { ip: '198.51.100.9;touch PWNED', mask: '24' }],
    ['command substitution', { ip: '$(touch PWNED)', mask: '24' }],
    ['octal-looking octets', { ip: '198.051.100.9', mask: '24' }],
    ['an option for ip', { ip: '-force', mask: '24' }],
    ['two words', { ip: '198.51.100.9 198.51.100.10', mask: '24' }],
    ['a newline', { ip: '198.51.100.9\n198.51.100.10', mask: '24' }],
    ['a bad mask', { ip: '198.51.100.9', mask: '24;id', subnet: '255.0.255.0' }],
  ])('refuses a lease with %s: no address, files untouched', (_what, lease) => {
    reset();
    const r = spawnSync('sh', ['-c', 'cd "$1" && shift && exec "$@"', 'sh', tmp.path, 'nsenter', `--net=/run/netns/${ns}`, '--', script, 'bound'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', interface: 'eth0', ...lease } });
    expect(r.status).not.toBe(0);
    expect(addrs()).toBe('');
    expect(read('resolv.conf')).toBe(initial['resolv.conf']);
    expect(read('hosts')).toBe(initial.hosts);
    expect(existsSync(marker)).toBe(false);
  });

  it('hostile routers, DNS servers and domains: only well-formed values are used, nothing runs', () => {
    reset();
    const r = spawnSync('sh', ['-c', 'cd "$1" && shift && exec "$@"', 'sh', tmp.path, 'nsenter', `--net=/run/netns/${ns}`, '--', script, 'renew'], {
      encoding: 'utf8',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', interface: 'eth0', ip: '198.51.100.9', mask: '24', router: '$(touch PWNED) * 198.51.100.300 198.51.100.1', dns: '`touch PWNED` 198.51.100.1;id * 198.51.100.53', domain: 'ok.test\nnameserver 6.6.6.6 $(touch PWNED) -x a..b', search: '* evil.test;id' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(routes()).toMatch(/^default via 198\.51\.100\.1 dev eth0/m);
    const lines = read('resolv.conf').trimEnd().split('\n');
    expect(lines[0]).toBe('nameserver 198.51.100.53');
    for (const l of lines) expect(l).toMatch(/^(nameserver \d+\.\d+\.\d+\.\d+|search( [A-Za-z0-9.-]+)+)$/);
  });

  it('refuses a hostile interface name', () => {
    reset();
    expect(event('bound', { interface: 'eth0;touch PWNED', ip: '198.51.100.9', mask: '24' }).status).not.toBe(0);
    expect(addrs()).toBe('');
  });
});

describe('network options: hostile values never reach the config', () => {
  const archive = join(tmp.path, 'img.tar');
  const lxcpath = join(tmp.path, 'lxc');
  writeArchive({ images: [{ config: { Cmd: ['/bin/sh'] }, layers: [busyboxLayer()] }] }, archive);

  it.each([
    [['--ip', '198.51.100.10/24\nlxc.hook.pre-start = /bin/evil'], /--ip/],
    [['--ip', '198.51.100.10'], /prefix/],
    [['--ip', 'dhcp', '--gateway', '198.51.100.1'], /--gateway/],
    [['--ip', '198.51.100.10/24', '--gateway', '198.51.100.1 x'], /--gateway/],
    [['--dns', '198.51.100.1\nlxc.init.cmd = /evil'], /--dns/],
    [['--hostname', 'web\nlxc.init.cmd = /evil'], /--hostname/],
    [['--dns-search', 'a b'], /--dns-search/],
    [['--dns-option', 'ndots:1\nx'], /--dns-option/],
  ])('%j is a usage error, nothing created', (args, message) => {
    const r = runCli(['create', 'bad', archive, '--lxcpath', lxcpath, '--network', 'veth:lxcbr0', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(lxcpath, 'bad'))).toBe(false);
  });

  it.skipIf(!isRoot)('a container path a shell would interpret: no DHCP hook, nothing left behind', () => {
    const odd = join(tmp.path, 'lxc $(touch PWNED)');
    const r = runCli(['create', 'odd', archive, '--lxcpath', odd, '--network', 'veth:lxcbr0', '--ip', 'dhcp']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/UNSAFE_PATH/);
    expect(readdirSync(odd)).toEqual([]);
  });
});

describe.skipIf(!isRoot)('name files in an image whose /etc leads out of the rootfs', () => {
  it('a symlinked /etc is not written through: a warning, no mounts, the host side untouched', () => {
    const outside = join(tmp.path, 'host-etc');
    mkdirSync(outside);
    const archive = join(tmp.path, 'etc-link.tar');
    const layer = busyboxLayer().filter((e) => !e.path.startsWith('etc'));
    writeArchive({ images: [{ config: { Cmd: ['/bin/sh'] }, layers: [[...layer, symlink('etc', outside)]] }] }, archive);
    const before = hostFacts();
    const lxcpath = join(tmp.path, 'lxc-etc');
    const r = runCli(['create', 'c', archive, '--lxcpath', lxcpath, '--network', 'empty', '--hostname', 'evil']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\/etc\/resolv\.conf is not managed/);
    expect(readdirSync(outside)).toEqual([]);
    expect(hostFacts()).toBe(before);
    expect(readFileSync(join(lxcpath, 'c', 'config'), 'utf8')).not.toMatch(/lxc\.mount\.entry/);
  });

  it('a symlinked /etc/resolv.conf, /etc/hosts, /etc/hostname are replaced inside the rootfs, not followed', () => {
    const outside = join(tmp.path, 'host-files');
    mkdirSync(outside);
    const archive = join(tmp.path, 'file-links.tar');
    writeArchive({ images: [{ config: { Cmd: ['/bin/sh'] }, layers: [[...busyboxLayer(), symlink('etc/resolv.conf', join(outside, 'resolv.conf')), symlink('etc/hosts', '../../../../../../../..' + join(outside, 'hosts')), symlink('etc/hostname', join(outside, 'hostname'))]] }] }, archive);
    const lxcpath = join(tmp.path, 'lxc-files');
    const r = runCli(['create', 'c', archive, '--lxcpath', lxcpath, '--network', 'empty', '--dns', '198.51.100.1']);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(outside)).toEqual([]);
    const rootfs = join(lxcpath, 'c', 'rootfs');
    for (const f of ['resolv.conf', 'hosts', 'hostname']) expect(lstatSync(join(rootfs, 'etc', f)).isFile()).toBe(true);
    expect(readFileSync(join(rootfs, 'etc/resolv.conf'), 'utf8')).toBe('nameserver 198.51.100.1\n');
    expect(readFileSync(join(lxcpath, 'c', 'config'), 'utf8')).toMatch(/^lxc\.mount\.entry = \S+\/c\/oci2lxc\/resolv\.conf etc\/resolv\.conf none bind 0 0$/m);
  });
});
