// Layer semantics: whiteouts (only lower layers, whatever the entry order), opaque directories,
// replacement rules, later entries winning, hardlink groups.
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { buildTar, compressBuffer, dir, file, hardlink, opaque, symlink, tempDir, whiteout, type TarEntry } from '@oci2lxc/fixtures';
import { applyLayer } from '../src/index.js';
import { layerStream, listing } from './helpers.js';
import { RouteTally, strategyFor, type ModeName } from './write-modes.js';

let work: { path: string; cleanup: () => void };
let rootfs: string;
beforeEach(() => {
  work = tempDir('oci-extract-layers-');
  rootfs = join(work.path, 'rootfs');
  mkdirSync(rootfs);
});
afterEach(() => work.cleanup());

/** The write mode of the running suite; zstd modes compress the layers with zstd. */
let mode: ModeName = 'auto';
let tally = new RouteTally(mode);

async function apply(layers: TarEntry[][]): Promise<string[]> {
  const writeStrategy = strategyFor(mode);
  for (const l of layers) {
    const r = mode.startsWith('zstd')
      ? await applyLayer(Readable.from([compressBuffer(buildTar(l), 'zstd')]), rootfs, { compression: 'zstd', writeStrategy })
      : await applyLayer(layerStream(l), rootfs, { writeStrategy });
    tally.add(r.stats.routes);
  }
  return listing(rootfs).filter((l) => l !== '. dir');
}

interface Case {
  name: string;
  layers: TarEntry[][];
  tree: string[];
  contents?: Record<string, string>;
}

const base = [dir('a'), file('a/lower1', 'l1'), file('a/lower2', 'l2'), dir('a/sub'), file('a/sub/deep', 'd'), file('top', 't')];

const cases: Case[] = [
  { name: 'whiteout removes a lower file', layers: [base, [whiteout('a/lower1')]], tree: ['a dir', 'a/lower2 file', 'a/sub dir', 'a/sub/deep file', 'top file'] },
  { name: 'whiteout removes a lower directory recursively', layers: [base, [whiteout('a/sub')]], tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'top file'] },
  { name: 'whiteout of something absent is a no-op', layers: [base, [whiteout('nothing'), whiteout('no/such/dir')]], tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'a/sub dir', 'a/sub/deep file', 'top file'] },
  {
    name: 'whiteout after the same-layer entry does not hide it',
    layers: [base, [file('a/lower1', 'new'), whiteout('a/lower1'), file('fresh', 'f'), whiteout('fresh')]],
    tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'a/sub dir', 'a/sub/deep file', 'fresh file', 'top file'],
    contents: { 'a/lower1': 'new' },
  },
  {
    name: 'whiteout before the same-layer entry removes only the lower one',
    layers: [base, [whiteout('a/sub'), dir('a/sub'), file('a/sub/new', 'n')]],
    tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'a/sub dir', 'a/sub/new file', 'top file'],
  },
  {
    // Whiteouts hide lower layers only, whatever the order (OCI spec; umoci, containerd).
    name: 'whiteout after an entry below it: lower content gone, this layer\'s kept',
    layers: [base, [file('a/sub/new', 'n'), whiteout('a/sub')]],
    tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'a/sub dir', 'a/sub/new file', 'top file'],
  },
  {
    name: 'whiteout before an entry below it: the same tree',
    layers: [base, [whiteout('a/sub'), file('a/sub/new', 'n')]],
    tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'a/sub dir', 'a/sub/new file', 'top file'],
  },
  {
    name: 'opaque directory hides lower content (marker first)',
    layers: [base, [dir('a'), opaque('a'), file('a/new', 'n')]],
    tree: ['a dir', 'a/new file', 'top file'],
  },
  {
    name: 'opaque directory hides lower content (marker last)',
    layers: [base, [dir('a'), file('a/new', 'n'), file('a/sub/fresh', 'f'), opaque('a')]],
    tree: ['a dir', 'a/new file', 'a/sub dir', 'a/sub/fresh file', 'top file'],
  },
  { name: 'opaque root', layers: [base, [file('new', 'n'), opaque('')]], tree: ['new file'] },
  { name: 'whiteout files never appear', layers: [[file('.wh.x'), dir('d'), file('d/.wh..wh..opq'), file('d/.wh.y', 'body')]], tree: ['d dir'] },
  { name: 'file over a directory', layers: [base, [file('a', 'now a file')]], tree: ['a file', 'top file'], contents: { a: 'now a file' } },
  { name: 'symlink over a directory', layers: [base, [symlink('a', 'top')]], tree: ['a symlink -> top', 'top file'] },
  { name: 'directory over a file', layers: [base, [dir('top'), file('top/x', 'x')]], tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'a/sub dir', 'a/sub/deep file', 'top dir', 'top/x file'] },
  {
    name: 'directory over a directory keeps its contents',
    layers: [base, [dir('a', { mode: 0o700 })]],
    tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'a/sub dir', 'a/sub/deep file', 'top file'],
  },
  { name: 'file over a file', layers: [base, [file('top', 'T2')]], tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'a/sub dir', 'a/sub/deep file', 'top file'], contents: { top: 'T2' } },
  { name: 'later entry wins in one layer', layers: [[file('x', 'one'), file('x', 'two'), dir('y'), file('y', 'file'), file('z', 'f'), dir('z'), file('z/in', 'i')]], tree: ['x file', 'y file', 'z dir', 'z/in file'], contents: { x: 'two', y: 'file' } },
  { name: 'file over a lower symlink replaces the link, not its target', layers: [[file('t', 'target'), symlink('s', 't')], [file('s', 'own')]], tree: ['s file', 't file'], contents: { t: 'target', s: 'own' } },
  { name: 'hardlink to a lower-layer file', layers: [[file('orig', 'o')], [hardlink('copy', 'orig')]], tree: ['copy file', 'orig file'], contents: { copy: 'o' } },
  { name: 'aufs metadata whiteouts are ignored', layers: [base, [file('.wh..wh.plnk'), file('.wh..wh.aufs')]], tree: ['a dir', 'a/lower1 file', 'a/lower2 file', 'a/sub dir', 'a/sub/deep file', 'top file'] },
];

// Every mode (see write-modes.ts) runs these, and only uses the routes it may.
describe.each<{ mode: ModeName }>([{ mode: 'auto' }, { mode: 'mixed' }, { mode: 'zstd' }, { mode: 'zstd-mixed' }, { mode: 'thread' }, { mode: 'sync' }, { mode: 'pool' }])('layer semantics (small files written $mode)', (m) => {
  beforeAll(() => {
    mode = m.mode;
    tally = new RouteTally(m.mode);
  });
  afterAll(() => {
    tally.expectUsed();
    mode = 'auto';
  });

  it.each(cases)('$name', async (c) => {
    const tree = await apply(c.layers);
    expect(tree).toEqual(c.tree);
    for (const [p, content] of Object.entries(c.contents ?? {})) expect(readFileSync(join(rootfs, p), 'utf8')).toBe(content);
  });

  it('directory over directory takes the new metadata', async () => {
    await apply([base, [dir('a', { mode: 0o710, mtime: 1_600_000_000 })]]);
    const st = lstatSync(join(rootfs, 'a'));
    expect(st.mode & 0o7777).toBe(0o710);
    expect(Math.floor(st.mtimeMs / 1000)).toBe(1_600_000_000);
  });

  it('hardlink groups share one inode', async () => {
    await apply([[file('bin/busybox', 'bb', { mode: 0o755 }), hardlink('bin/sh', 'bin/busybox'), hardlink('bin/ls', 'bin/sh'), hardlink('/bin/cat', '/bin/busybox')]]);
    const ino = lstatSync(join(rootfs, 'bin/busybox')).ino;
    for (const n of ['sh', 'ls', 'cat']) expect(lstatSync(join(rootfs, 'bin', n)).ino).toBe(ino);
    expect(lstatSync(join(rootfs, 'bin/busybox')).nlink).toBe(4);
  });

  it('hardlinks right after their targets, many, some over lower-layer files: each shares its target inode', async () => {
    // Files may still be queued for writing when the link comes: the link must wait for them.
    const lower = Array.from({ length: 50 }, (_, i) => file(`d/link${i}`, `old ${i}`));
    const upper = Array.from({ length: 200 }, (_, i) => [file(`d/f${i}`, `body ${i}`), hardlink(`d/link${i}`, `d/f${i}`), hardlink(`e/l${i}`, `d/link${i}`)]).flat();
    await apply([lower, upper]);
    for (let i = 0; i < 200; i++) {
      const ino = lstatSync(join(rootfs, `d/f${i}`)).ino;
      expect(lstatSync(join(rootfs, `d/link${i}`)).ino).toBe(ino);
      expect(lstatSync(join(rootfs, `e/l${i}`)).ino).toBe(ino);
      expect(readFileSync(join(rootfs, `e/l${i}`), 'utf8')).toBe(`body ${i}`);
    }
  });

  it('a hardlink named after its own target changes nothing', async () => {
    await apply([[file('f', 'x'), hardlink('f', 'f'), hardlink('./f', '/f')]]);
    expect(readFileSync(join(rootfs, 'f'), 'utf8')).toBe('x');
  });
});
