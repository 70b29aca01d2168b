// Owners, modes (setuid/setgid/sticky), times, xattrs, devices, id mapping, restrictive modes.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockDevice, charDevice, dir, fifo, file, hardlink, symlink, tempDir, type TarEntry } from '@oci2lxc/fixtures';
import { applyLayer, ExtractError, parseIdMap, type ExtractWarning } from '../src/index.js';
import { isRoot, layerStream } from './helpers.js';

let work: { path: string; cleanup: () => void };
let rootfs: string;
beforeEach(() => {
  work = tempDir('oci-extract-meta-');
  rootfs = join(work.path, 'rootfs');
  mkdirSync(rootfs);
});
afterEach(() => work.cleanup());

const st = (p: string) => lstatSync(join(rootfs, p));

describe('modes and times', () => {
  const modes: [string, TarEntry, number][] = [
    ['setuid file', file('su', 'x', { mode: 0o4755, uid: 0 }), 0o4755],
    ['setgid file', file('sg', 'x', { mode: 0o2711, gid: 5 }), 0o2711],
    ['no permissions', file('none', 'x', { mode: 0o000 }), 0o000],
    ['sticky dir', dir('tmp', { mode: 0o1777 }), 0o1777],
    ['setgid dir', dir('shared', { mode: 0o2775 }), 0o2775],
  ];
  it.each(modes)('%s', async (_n, entry, mode) => {
    await applyLayer(layerStream([entry]), rootfs);
    expect(st(entry.path).mode & 0o7777).toBe(mode);
  });

  it('sets mtimes of files, symlinks and directories (after their contents)', async () => {
    await applyLayer(
      layerStream([
        dir('d', { mtime: 1_500_000_000 }),
        file('d/f', 'x', { mtime: 1_500_000_100 }),
        symlink('d/l', 'f', { mtime: 1_500_000_200 }),
        dir('d/e', { mtime: 1_500_000_300 }),
        file('d/e/g', 'y', { mtime: 1_500_000_400 }),
      ]),
      rootfs,
    );
    expect(st('d').mtimeMs).toBe(1_500_000_000_000);
    expect(st('d/f').mtimeMs).toBe(1_500_000_100_000);
    expect(st('d/l').mtimeMs).toBe(1_500_000_200_000);
    expect(st('d/e').mtimeMs).toBe(1_500_000_300_000);
    expect(st('d/e/g').mtimeMs).toBe(1_500_000_400_000);
  });

  it('takes PAX mtimes with sub-second precision', async () => {
    await applyLayer(layerStream([file('p', 'x', { pax: { mtime: '1600000000.25' } })]), rootfs);
    expect(st('p').mtimeMs).toBe(1_600_000_000_250);
  });

  it('applies restrictive directory modes only after later layers wrote into them', async () => {
    const { extractImage } = await import('../src/index.js');
    const { memoryImage } = await import('./helpers.js');
    const { image } = memoryImage({ layers: [[dir('ro', { mode: 0o500 }), dir('ro/locked', { mode: 0o000 })], [file('ro/locked/later', 'x'), file('ro/added', 'y')]] });
    const target = join(work.path, 'img');
    await extractImage(image, target);
    expect(lstatSync(join(target, 'ro')).mode & 0o7777).toBe(0o500);
    expect(lstatSync(join(target, 'ro/locked')).mode & 0o7777).toBe(0o000);
    expect(readFileSync(join(target, 'ro/locked/later'), 'utf8')).toBe('x');
  });
});

describe.skipIf(!isRoot)('owners (root)', () => {
  it('applies numeric uid/gid from the header; lchown for symlinks', async () => {
    await applyLayer(
      layerStream([
        file('f', 'x', { uid: 1000, gid: 1001, uname: 'ignored', gname: 'ignored', mode: 0o4755 }),
        dir('d', { uid: 33, gid: 34 }),
        symlink('l', 'f', { uid: 7, gid: 8 }),
        file('big', 'x', { pax: { uid: '3000000', gid: '3000001' } }),
      ]),
      rootfs,
    );
    expect([st('f').uid, st('f').gid]).toEqual([1000, 1001]);
    expect(st('f').mode & 0o7777).toBe(0o4755); // chown before chmod: setuid survives
    expect([st('d').uid, st('d').gid]).toEqual([33, 34]);
    expect([st('l').uid, st('l').gid]).toEqual([7, 8]);
    expect(st('f').uid).toBe(1000); // the link's owner did not go to its target
    expect([st('big').uid, st('big').gid]).toEqual([3_000_000, 3_000_001]);
  });

  it('owners are right below an existing setgid directory (no inherited group)', async () => {
    const { chmodSync, chownSync, mkdirSync: mk } = await import('node:fs');
    mk(join(rootfs, 'sg'));
    chownSync(join(rootfs, 'sg'), 0, 50);
    chmodSync(join(rootfs, 'sg'), 0o2775);
    await applyLayer(layerStream([file('sg/sub/f', 'x', { uid: 0, gid: 0 }), dir('sg/d2', { uid: 0, gid: 0 }), file('sg/d2/g', 'y', { uid: 0, gid: 0 }), file('sg/h', 'z', { uid: 0, gid: 0 })]), rootfs);
    for (const p of ['sg/sub/f', 'sg/d2/g', 'sg/h', 'sg/d2']) expect(st(p).gid, p).toBe(0);
  });

  it('maps ids through the id map, including implicit parents and the root entry', async () => {
    const idMap = parseIdMap('0:100000:65536');
    await applyLayer(layerStream([dir('.', { uid: 0, gid: 0, mode: 0o755 }), file('home/u/f', 'x', { uid: 1000, gid: 100 }), symlink('l', 'x', { uid: 5, gid: 5 })]), rootfs, { idMap });
    expect([st('home/u/f').uid, st('home/u/f').gid]).toEqual([101000, 100100]);
    expect([st('home').uid, st('home').gid]).toEqual([100000, 100000]);
    expect([st('l').uid, st('l').gid]).toEqual([100005, 100005]);
    expect([lstatSync(rootfs).uid, lstatSync(rootfs).gid]).toEqual([100000, 100000]);
  });

  it('rejects ids outside the map with ID_NOT_MAPPED naming the entry', async () => {
    const idMap = parseIdMap(['u:0:100000:1000', 'g:0:200000:65536']);
    const err = await applyLayer(layerStream([file('ok', 'x', { uid: 999, gid: 5 }), file('bad', 'x', { uid: 1000 })]), rootfs, { idMap, layerDigest: 'sha256:abc' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExtractError);
    expect((err as ExtractError).code).toBe('ID_NOT_MAPPED');
    expect((err as ExtractError).path).toBe('bad');
    expect((err as ExtractError).layer).toBe('sha256:abc');
    expect((err as ExtractError).message).toMatch(/uid 1000.*sha256:abc.*bad/);
    expect([st('ok').uid, st('ok').gid]).toEqual([100999, 200005]);
  });
});

describe.skipIf(!isRoot)('xattrs (root)', () => {
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw+ep, binary
  it('applies user.*, trusted.* and binary security.capability, after chown', async () => {
    await applyLayer(
      layerStream([
        file('bin/ping', 'x', { mode: 0o755, uid: 0, xattrs: { 'security.capability': cap, 'user.note': 'hello world', 'trusted.t': Buffer.from([0, 1, 2, 255]) } }),
        dir('d', { xattrs: { 'user.dir': 'yes' } }),
        file('weird name\nwith newline', 'x', { xattrs: { 'user.k': 'v' } }),
      ]),
      rootfs,
    );
    const dump = (p: string) => execFileSync('getfattr', ['--absolute-names', '-h', '-d', '-m', '-', '-e', 'hex', '--', join(rootfs, p)], { encoding: 'utf8' });
    const ping = dump('bin/ping');
    expect(ping).toContain(`security.capability=0x${cap.toString('hex')}`);
    expect(ping).toContain(`user.note=0x${Buffer.from('hello world').toString('hex')}`);
    expect(ping).toContain('trusted.t=0x000102ff');
    expect(dump('d')).toContain(`user.dir=0x${Buffer.from('yes').toString('hex')}`);
    expect(dump('weird name\nwith newline')).toContain('user.k=0x76');
  });

  it('a later entry at the same path drops the earlier xattrs', async () => {
    await applyLayer(layerStream([file('f', 'x', { xattrs: { 'user.old': '1' } }), file('f', 'y')]), rootfs);
    expect(execFileSync('getfattr', ['--absolute-names', '-h', '-d', '-m', '-', join(rootfs, 'f')], { encoding: 'utf8' })).toBe('');
  });
});

describe('devices and fifos', () => {
  it.skipIf(!isRoot)('creates character and block devices with their numbers, mode and owner', async () => {
    await applyLayer(layerStream([charDevice('dev/null', 1, 3, { mode: 0o666 }), blockDevice('dev/loop9', 7, 9, { uid: 6, gid: 6 }), charDevice('dev/null', 1, 5)]), rootfs);
    const n = st('dev/null');
    expect(n.isCharacterDevice()).toBe(true);
    expect(n.rdev).toBe((1 << 8) | 5); // the later entry won
    const b = st('dev/loop9');
    expect(b.isBlockDevice()).toBe(true);
    expect(b.rdev).toBe((7 << 8) | 9);
    expect(b.mode & 0o7777).toBe(0o660);
    expect([b.uid, b.gid]).toEqual([6, 6]);
  });

  it('creates FIFOs and hardlinks to them', async () => {
    await applyLayer(layerStream([fifo('run/ctl', { mode: 0o620 }), hardlink('run/ctl2', 'run/ctl'), file("it's \"quoted\"", 'x'), fifo("it's \"quoted\"")]), rootfs);
    expect(st('run/ctl').isFIFO()).toBe(true);
    expect(st('run/ctl').mode & 0o7777).toBe(0o620);
    expect(st('run/ctl2').ino).toBe(st('run/ctl').ino);
    expect(st('it\'s "quoted"').isFIFO()).toBe(true);
  });
});

describe('warnings and unsupported entries', () => {
  it('rejects GNU sparse files and unknown typeflags with UNSUPPORTED_ENTRY', async () => {
    for (const e of [file('sparse', 'x', { typeflag: 'S' }), file('multi', 'x', { typeflag: 'M' }), file('pxsparse', 'x', { pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' } })]) {
      const err = await applyLayer(layerStream([e]), rootfs).catch((x: unknown) => x);
      expect((err as ExtractError).code).toBe('UNSUPPORTED_ENTRY');
      expect((err as ExtractError).path).toBe(e.path);
    }
  });

  it('warns (once) about ignored whiteouts and keeps going', async () => {
    const warnings: ExtractWarning[] = [];
    await applyLayer(layerStream([file('.wh..'), file('a/.wh...'), file('ok', 'x')]), rootfs, { onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.code)).toEqual(['WHITEOUT_IGNORED', 'WHITEOUT_IGNORED']);
    expect(readFileSync(join(rootfs, 'ok'), 'utf8')).toBe('x');
  });
});

describe('parseIdMap', () => {
  it.each([
    ['0:100000:65536', { uid: [{ container: 0, host: 100000, count: 65536 }], gid: [{ container: 0, host: 100000, count: 65536 }] }],
    [['u:0:1000:1', 'g:0:2000:1'], { uid: [{ container: 0, host: 1000, count: 1 }], gid: [{ container: 0, host: 2000, count: 1 }] }],
    ['0:100000:1000,1000:1000:1', { uid: [{ container: 0, host: 100000, count: 1000 }, { container: 1000, host: 1000, count: 1 }], gid: [{ container: 0, host: 100000, count: 1000 }, { container: 1000, host: 1000, count: 1 }] }],
  ])('%j', (spec, expected) => {
    expect(parseIdMap(spec)).toEqual(expected);
  });
  it.each(['0:100000', 'x:1:2:3', '0:1:0', '-1:0:5', '0:100:10,5:200:10', 'u:a:b:c'])('rejects %j', (spec) => {
    expect(() => parseIdMap(spec)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
