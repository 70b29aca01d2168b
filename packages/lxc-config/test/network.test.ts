import { describe, expect, it } from 'vitest';
import {
  bindMountLine,
  containerResolvers,
  hostsText,
  interfaceLines,
  isStrictIPv4,
  isStrictIPv6,
  LxcConfigError,
  parseGateway,
  parseHostname,
  parseInterfaceAddress,
  parseIpSetting,
  resolvConfText,
} from '../src/index.js';
import { parseConfigText } from '../src/confvalue.js';

const invalid = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LxcConfigError);
    expect((err as LxcConfigError).code).toBe('INVALID_ARGUMENT');
    return;
  }
  throw new Error('expected INVALID_ARGUMENT');
};

describe('addresses', () => {
  it('accepts dotted quads only, without leading zeros', () => {
    for (const ok of ['0.0.0.0', '198.51.100.10', '255.255.255.255']) expect(isStrictIPv4(ok)).toBe(true);
    for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-4', '0x1.2.3.4', '1.2.3.4\n', '', '1..2.3']) expect(isStrictIPv4(bad), bad).toBe(false);
  });

  it('accepts IPv6 without zone ids or junk', () => {
    for (const ok of ['::1', '2001:db8::10', '::ffff:198.51.100.1', 'fe80::1']) expect(isStrictIPv6(ok), ok).toBe(true);
    for (const bad of ['fe80::1%eth0', '2001:db8::g', '::ffff:01.2.3.4', '2001:db8::1 ', '']) expect(isStrictIPv6(bad), bad).toBe(false);
  });

  it('parses ADDR/PREFIX and needs the prefix', () => {
    expect(parseInterfaceAddress('198.51.100.10/24')).toEqual({ family: 4, address: '198.51.100.10', prefix: 24 });
    expect(parseInterfaceAddress('2001:db8::10/64')).toEqual({ family: 6, address: '2001:db8::10', prefix: 64 });
    for (const bad of ['198.51.100.10', '198.51.100.10/33', '198.51.100.10/0', '198.51.100.10/024', '2001:db8::1/129', '198.51.100.10/24\nlxc.hook.pre-start = /bin/evil', 'x/24']) invalid(() => parseInterfaceAddress(bad));
  });

  it('--ip: dhcp, manual, or one static address per family', () => {
    expect(parseIpSetting([])).toBeUndefined();
    expect(parseIpSetting(['dhcp'])).toEqual({ mode: 'dhcp' });
    expect(parseIpSetting(['manual'])).toEqual({ mode: 'manual' });
    expect(parseIpSetting(['198.51.100.10/24', '2001:db8::10/64'])).toMatchObject({ mode: 'static', addresses: [{ family: 4 }, { family: 6 }] });
    invalid(() => parseIpSetting(['198.51.100.10/24', '198.51.100.11/24']));
    invalid(() => parseIpSetting(['dhcp', '198.51.100.10/24']));
  });

  it('host names are DNS names of at most 64 characters', () => {
    expect(parseHostname('web-1.example.test')).toBe('web-1.example.test');
    for (const bad of ['', '-web', 'web-', 'we_b', 'a'.repeat(65), 'web\n', 'a..b', 'web name']) invalid(() => parseHostname(bad));
  });
});

describe('interfaceLines', () => {
  it('writes ipv4/ipv6 address and gateway keys that LXC reads back exactly', () => {
    const ip = parseIpSetting(['198.51.100.10/24', '2001:db8::10/64']);
    if (ip?.mode !== 'static') throw new Error('static expected');
    const lines = interfaceLines(0, { addresses: ip.addresses, gateways: [parseGateway('auto'), parseGateway('198.51.100.1')] });
    const text = lines.map((l) => `${l.key} = ${l.value}`).join('\n');
    expect(parseConfigText(text)).toEqual([
      { key: 'lxc.net.0.ipv4.address', value: '198.51.100.10/24' },
      { key: 'lxc.net.0.ipv6.address', value: '2001:db8::10/64' },
      { key: 'lxc.net.0.ipv4.gateway', value: '198.51.100.1' },
      { key: 'lxc.net.0.ipv6.gateway', value: 'auto' },
    ]);
  });

  it('refuses gateways without an address of their family, and hostile values', () => {
    const v4 = [parseInterfaceAddress('198.51.100.10/24')];
    invalid(() => interfaceLines(0, { addresses: v4, gateways: [parseGateway('2001:db8::1')] }));
    invalid(() => interfaceLines(0, { addresses: v4, gateways: [parseGateway('198.51.100.1'), parseGateway('198.51.100.2')] }));
    invalid(() => interfaceLines(0, { addresses: [{ family: 4, address: '198.51.100.10\nlxc.hook.pre-start=/x', prefix: 24 }] }));
    invalid(() => parseGateway('198.51.100.1 # x'));
  });
});

describe('name files', () => {
  it('host resolvers minus loopback ones, search and options kept (Docker)', () => {
    const r = containerResolvers('# c\nnameserver 127.0.0.53\nnameserver 198.51.100.53\nnameserver ::1\nnameserver 2001:db8::53\nsearch a.test b.test\noptions ndots:2 edns0\nnameserver bogus\n');
    expect(r).toMatchObject({ nameservers: ['198.51.100.53', '2001:db8::53'], search: ['a.test', 'b.test'], options: ['ndots:2', 'edns0'], fallback: false, dropped: ['127.0.0.53', '::1'] });
    expect(resolvConfText(r)).toBe('nameserver 198.51.100.53\nnameserver 2001:db8::53\nsearch a.test b.test\noptions ndots:2 edns0\n');
  });

  it('only loopback resolvers: Docker falls back to public ones, and says so', () => {
    const r = containerResolvers('nameserver 127.0.0.1\n');
    expect(r.fallback).toBe(true);
    expect(r.nameservers).toEqual(['8.8.8.8', '8.8.4.4']);
    expect(containerResolvers('nameserver 127.0.0.1\n', { keepLoopback: true }).nameservers).toEqual(['127.0.0.1']);
  });

  it('/etc/hosts: localhost entries and the name on each address', () => {
    const text = hostsText('web.example.test', ['198.51.100.10']);
    expect(text.split('\n')).toContain('127.0.0.1\tlocalhost');
    expect(text.split('\n')).toContain('198.51.100.10\tweb.example.test web');
    expect(() => hostsText('web', ['198.51.100.10 evil'])).toThrow(LxcConfigError);
  });
});

describe('bindMountLine', () => {
  it('escapes blanks so getmntent reads the path back, target relative to the rootfs', () => {
    const l = bindMountLine({ source: '/srv/my data\\x', target: '/var/lib/app data', readOnly: true });
    expect(l).toEqual({ key: 'lxc.mount.entry', value: '/srv/my\\040data\\134x var/lib/app\\040data none bind,ro 0 0' });
  });

  it('refuses relative, root and dot-dot targets and relative sources', () => {
    for (const target of ['relative', '/', '/a/../../etc', '/a/./b']) invalid(() => bindMountLine({ source: '/srv', target }));
    invalid(() => bindMountLine({ source: 'srv', target: '/srv' }));
  });
});
