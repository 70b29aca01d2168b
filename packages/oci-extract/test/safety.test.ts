// Escape routes trusted extractors are tested against (umoci, containerd, moby, node-tar and
// tar-fs CVEs). Each case checks the host side: a sibling "host" tree and the parent directory
// are byte-for-byte, mode-for-mode and mtime-for-mtime unchanged.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dir, fifo, file, hardlink, opaque, symlink, tempDir, whiteout, type TarEntry } from '@oci2lxc/fixtures';
import { applyLayer, ExtractError } from '../src/index.js';
import { layerStream, snapshot } from './helpers.js';
import { RouteTally, strategyFor, type ModeName } from './write-modes.js';

let work: { path: string; cleanup: () => void };
let host: string;
let rootfs: string;
beforeEach(() => {
  work = tempDir('oci-extract-safety-');
  host = join(work.path, 'host');
  rootfs = join(work.path, 'rootfs');
  mkdirSync(join(host, 'dir'), { recursive: true });
  writeFileSync(join(host, 'secret'), 'do not touch\n', { mode: 0o600 });
  writeFileSync(join(host, 'dir', 'file'), 'keep me\n');
  symlinkSync('secret', join(host, 'link'));
  mkdirSync(rootfs);
});
afterEach(() => work.cleanup());

interface Case {
  name: string;
  layers: (TarEntry[] | ((hostAbs: string) => TarEntry[]))[];
  /** Expected error code, if the layer must be rejected. */
  error?: string;
  /** Paths (relative to the rootfs) that must exist afterwards: the write landed inside. */
  inside?: (hostAbs: string) => string[];
}

const long = 'x'.repeat(120);
const cases: Case[] = [
  { name: 'dot-dot file name', layers: [[file('../host/pwned', 'x'), file('a/../../../host/secret', 'x')]], inside: () => ['host/pwned', 'host/secret'] },
  { name: 'absolute file name', layers: [(h) => [file(`${h}/pwned`, 'x'), file(`${h}/secret`, 'x')]], inside: (h) => [`${h.slice(1)}/pwned`] },
  { name: 'PAX long name with dot-dot', layers: [[file(`${long}/../../host/pwned-${long}`, 'x', { longNames: 'pax' })]], inside: () => [`host/pwned-${long}`] },
  { name: 'GNU long name with dot-dot', layers: [[file(`${long}/../../host/pwned-${long}`, 'x', { longNames: 'gnu' })]], inside: () => [`host/pwned-${long}`] },
  { name: 'PAX long hardlink name climbing out', layers: [[hardlink('h', `${long}/../../../host/secret`, { longNames: 'pax' })]], error: 'HARDLINK_TARGET_MISSING' },
  { name: 'GNU long hardlink name climbing out', layers: [[hardlink('h', `${long}/../../../host/secret`, { longNames: 'gnu' })]], error: 'HARDLINK_TARGET_MISSING' },
  { name: 'GNU long symlink target climbing out', layers: [[symlink('s', `${long}/../../../../host`, { longNames: 'gnu' }), file('s/pwned', 'x')]], inside: () => ['host/pwned'] },
  { name: 'PAX path overriding a harmless ustar name', layers: [[file('harmless', 'x', { pax: { path: '../../host/pwned' } })]], inside: () => ['host/pwned'] },
  { name: 'directory named ..', layers: [[dir('..', { mode: 0o777 }), dir('../../host', { mode: 0o777 })]], inside: () => ['host'] },
  { name: 'absolute symlink parent', layers: [(h) => [symlink('esc', h), file('esc/pwned', 'x'), file('esc/secret', 'x')]], inside: (h) => [`${h.slice(1)}/pwned`] },
  {
    name: 'relative symlink parent climbing out',
    layers: [(h) => [symlink('esc', `../../../../../../../../..${h}`), file('esc/pwned', 'x')]],
    inside: (h) => [`${h.slice(1)}/pwned`],
  },
  { name: 'symlink chain', layers: [[symlink('a', 'b'), symlink('b', 'c/../../..'), dir('c'), file('a/host/pwned', 'x')]], inside: () => ['host/pwned'] },
  { name: 'symlink across layers', layers: [(h) => [symlink('esc', h)], [file('esc/pwned', 'x'), dir('esc/dir', { mode: 0o777 })]], inside: (h) => [`${h.slice(1)}/pwned`] },
  { name: 'symlink to .. then write', layers: [[symlink('up', '..'), file('up/pwned', 'x'), symlink('up2', 'up/..'), file('up2/host/pwned', 'x')]], inside: () => ['pwned', 'host/pwned'] },
  { name: 'file over a symlink leaf', layers: [(h) => [symlink('s', `${h}/secret`), file('s', 'replaced')]], inside: () => ['s'] },
  { name: 'directory over a symlink leaf', layers: [(h) => [symlink('d', h), dir('d', { mode: 0o777 }), file('d/secret', 'x')]], inside: () => ['d/secret'] },
  { name: 'symlink replaced by a directory across layers', layers: [(h) => [symlink('d', h)], [dir('d'), file('d/f', 'x')]], inside: () => ['d/f'] },
  { name: 'dead symlink parent', layers: [[symlink('dead', '/nonexistent/deeper'), file('dead/f', 'x')]], inside: () => ['nonexistent/deeper/f'] },
  { name: 'hardlink pointing out with dot-dot', layers: [[hardlink('h', '../host/secret')]], error: 'HARDLINK_TARGET_MISSING' },
  { name: 'hardlink pointing out absolutely', layers: [(h) => [hardlink('h', `${h}/secret`)]], error: 'HARDLINK_TARGET_MISSING' },
  { name: 'hardlink through a symlink', layers: [(h) => [symlink('esc', h), hardlink('h', 'esc/secret')]], error: 'HARDLINK_TARGET_MISSING' },
  { name: 'hardlink to an escaping symlink is a link to the symlink', layers: [(h) => [symlink('s', `${h}/secret`), hardlink('h', 's'), file('h2', 'x')]], inside: () => ['h'] },
  { name: 'whiteout through a symlink', layers: [(h) => [symlink('esc', h)], [whiteout('esc/secret'), whiteout('esc/dir')]] },
  { name: 'whiteout with dot-dot', layers: [[whiteout('../host/secret'), whiteout('../../host'), file('../.wh.host')]] },
  { name: 'opaque whiteout through a symlink', layers: [(h) => [symlink('esc', h)], [opaque('esc')]] },
  { name: 'opaque whiteout of dot-dot', layers: [[opaque('..'), opaque('../..'), opaque('../host')]] },
  { name: 'whiteouts of . and ..', layers: [[file('keep', 'x')], [file('.wh..'), file('.wh...'), file('sub/.wh..'), file('sub/.wh...')]], inside: () => ['keep'] },
  { name: 'symlink loop', layers: [[symlink('l1', 'l2'), symlink('l2', 'l1'), file('l1/x', 'x')]], error: 'UNSAFE_PATH' },
  { name: 'fifo through a symlink', layers: [(h) => [symlink('esc', h), fifo('esc/pipe')]], inside: (h) => [`${h.slice(1)}/pipe`] },
  { name: 'xattr on a symlink pointing out', layers: [(h) => [symlink('s', `${h}/secret`, { xattrs: { 'user.pwned': '1' } })]] },
  { name: 'entry replacing the root', layers: [[file('.', 'x')]], error: 'UNSAFE_PATH' },
  { name: 'file then directory through it', layers: [[file('f', 'x'), file('f/g', 'y')]], error: 'NOT_A_DIRECTORY' },
];

// Every mode (see write-modes.ts) runs these, and only uses the routes it may.
describe.each<{ mode: ModeName }>([{ mode: 'auto' }, { mode: 'mixed' }, { mode: 'thread' }, { mode: 'sync' }, { mode: 'pool' }])('no entry reaches outside the rootfs (small files written $mode)', ({ mode }) => {
  const writeStrategy = strategyFor(mode);
  const tally = new RouteTally(mode);
  afterAll(() => tally.expectUsed());

  it.each(cases)('$name', async (c) => {
    const before = snapshot(work.path);
    const hostBefore = snapshot(host);
    const xattrsBefore = execFileSync('getfattr', ['--absolute-names', '-R', '-d', '-h', '-m', '-', host], { encoding: 'utf8' });
    let error: unknown;
    try {
      for (const l of c.layers) tally.add((await applyLayer(layerStream(typeof l === 'function' ? l(host) : l), rootfs, { writeStrategy })).stats.routes);
    } catch (err) {
      error = err;
    }
    if (c.error) {
      expect(error).toBeInstanceOf(ExtractError);
      expect((error as ExtractError).code).toBe(c.error);
    } else {
      expect(error).toBeUndefined();
    }
    // The host tree: unchanged in every respect.
    expect(snapshot(host)).toEqual(hostBefore);
    expect(execFileSync('getfattr', ['--absolute-names', '-R', '-d', '-h', '-m', '-', host], { encoding: 'utf8' })).toBe(xattrsBefore);
    // The work dir: only the rootfs may have changed.
    const after = snapshot(work.path);
    for (const [p, info] of before) {
      if (p === 'rootfs' || p.startsWith('rootfs/')) continue;
      expect(after.get(p), p).toEqual(info);
    }
    for (const p of after.keys()) if (!(p === 'rootfs' || p.startsWith('rootfs/'))) expect(before.has(p), `new host path ${p}`).toBe(true);
    for (const p of c.inside?.(host) ?? []) expect(existsSync(join(rootfs, p)) || lstatSync(join(rootfs, p), { throwIfNoEntry: false }) !== undefined, p).toBe(true);
  });

  it('a hardlink to an escaping symlink stays a symlink', async () => {
    await applyLayer(layerStream([symlink('s', `${host}/secret`), hardlink('h', 's')]), rootfs, { writeStrategy });
    expect(lstatSync(join(rootfs, 'h')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(rootfs, 'h'))).toBe(`${host}/secret`);
    expect(readFileSync(join(host, 'secret'), 'utf8')).toBe('do not touch\n');
  });

  it('writes through a symlinked parent land inside the rootfs', async () => {
    tally.add((await applyLayer(layerStream([symlink('etc', '/real/etc'), file('etc/passwd', 'root')]), rootfs, { writeStrategy })).stats.routes);
    expect(readFileSync(join(rootfs, 'real/etc/passwd'), 'utf8')).toBe('root');
    expect(readdirSync(rootfs).sort()).toEqual(['etc', 'real']);
  });
});
