// What a lower directory keeps when a whiteout or an opaque marker of the next layer applies to it
// while it stays as the parent of that layer's entries — extended attributes included. The oracle
// is `umoci raw unpack` of the same layers in the order the spec recommends (whiteouts before the
// entries they sit next to); the other orders must give the same tree (whiteouts hide lower
// layers only, wherever they stand in the layer).
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dir, file, opaque, whiteout, writeLayoutDir, type ImageSpec, type TarEntry } from '@oci2lxc/fixtures';
import { applyLayer, extractImage } from '../src/index.js';
import { isRoot, layerStream, memoryImage } from './helpers.js';

/** Every path's type, mode, owner and extended attributes (all namespaces, not following links). */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const p = join(root, rel);
    const st = lstatSync(p);
    const xattrs = execFileSync('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', p], { encoding: 'latin1' })
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .sort();
    out.push(`${rel} ${st.isDirectory() ? 'dir' : 'file'} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} [${xattrs.join(' ')}]`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(rel === '.' ? n : `${rel}/${n}`);
  };
  walk('.');
  return out;
}

const lower: TarEntry[] = [
  dir('d', { mode: 0o750, uid: 7, gid: 7, xattrs: { 'user.lower': 'd', 'trusted.lower': 'd' } }),
  file('d/old', 'o'),
  dir('d/sub', { mode: 0o700, uid: 8, gid: 8, xattrs: { 'user.lower': 'sub' } }),
  file('d/sub/deep', 'x'),
];

/** Upper layers: the first of each list is the spec's recommended order (umoci is asked about it). */
const cases: { name: string; orders: TarEntry[][] }[] = [
  {
    name: 'a whited-out directory that this layer fills again',
    orders: [
      [whiteout('d'), file('d/new', 'n')],
      [file('d/new', 'n'), whiteout('d')],
    ],
  },
  {
    name: 'a lower subdirectory of an opaque directory that stays as the parent of new entries',
    orders: [
      [dir('d', { mode: 0o750, uid: 7, gid: 7 }), opaque('d'), file('d/sub/fresh', 'f')],
      [dir('d', { mode: 0o750, uid: 7, gid: 7 }), file('d/sub/fresh', 'f'), opaque('d')],
    ],
  },
  {
    name: 'a directory entry over a lower directory (its own xattrs only)',
    orders: [[dir('d', { mode: 0o755, uid: 7, gid: 7, xattrs: { 'user.upper': 'd' } })], [dir('d', { mode: 0o755, uid: 7, gid: 7 }), dir('d', { mode: 0o755, uid: 7, gid: 7, xattrs: { 'user.upper': 'd' } })]],
  },
];

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'oci-extract-wh-xattrs-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!isRoot)('whiteouts and the lower directories they keep (umoci as the oracle; root for trusted.* and owners)', () => {
  it.each(cases)('$name', async ({ orders }) => {
    const specOf = (upper: TarEntry[]): ImageSpec => ({ layers: [{ entries: lower }, { entries: upper }], ref: 'latest' });
    const layout = join(work, 'layout');
    const theirs = join(work, 'umoci');
    writeLayoutDir({ images: [specOf(orders[0]!)] }, layout);
    execFileSync('umoci', ['raw', 'unpack', '--image', `${layout}:latest`, theirs], { stdio: ['ignore', 'pipe', 'pipe'] });
    const expected = tree(theirs);
    rmSync(theirs, { recursive: true, force: true });
    rmSync(layout, { recursive: true, force: true });
    for (const upper of orders) {
      const ours = join(work, 'ours');
      await extractImage(memoryImage(specOf(upper)).image, ours);
      const got = tree(ours);
      rmSync(ours, { recursive: true, force: true });
      // umoci gives the rootfs directory its own mode; only the layers' paths are compared.
      expect(got.slice(1)).toEqual(expected.slice(1));
    }
  });
});

describe('applyLayer over a rootfs it did not make (attributes of unknown origin)', () => {
  it('a directory entry replaces the attributes a directory already had; a directory only passed through keeps them', async () => {
    const rootfs = join(work, 'given');
    mkdirSync(join(rootfs, 'd'), { recursive: true });
    mkdirSync(join(rootfs, 'e'));
    for (const p of ['d', 'e']) execFileSync('setfattr', ['-n', 'user.given', '-v', 'yes', join(rootfs, p)]);
    await applyLayer(layerStream([dir('d', { xattrs: { 'user.layer': 'd' } }), file('e/new', 'n')]), rootfs);
    const attrs = (p: string): string =>
      execFileSync('getfattr', ['-d', '-m', 'user\\.', '--absolute-names', join(rootfs, p)], { encoding: 'latin1' }).split('\n').filter((l) => l.startsWith('user.')).join(' ');
    expect(attrs('d')).toBe('user.layer="d"');
    expect(attrs('e')).toBe('user.given="yes"');
    rmSync(rootfs, { recursive: true, force: true });
  });

  it('without getfattr on PATH the check is skipped with a warning, not a failure', async () => {
    const rootfs = join(work, 'no-attr');
    mkdirSync(join(rootfs, 'd'), { recursive: true });
    const path = process.env.PATH;
    process.env.PATH = join(work, 'empty-path');
    try {
      const r = await applyLayer(layerStream([dir('d'), file('d/f', 'x')]), rootfs);
      expect(r.warnings.map((w) => w.code)).toEqual(['XATTR_SKIPPED']);
      expect(r.warnings[0]!.message).toMatch(/existing xattrs not checked/);
    } finally {
      process.env.PATH = path;
      rmSync(rootfs, { recursive: true, force: true });
    }
  });
});
