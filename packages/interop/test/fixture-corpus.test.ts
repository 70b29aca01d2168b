// Interop corpus, second image: written by the fixture builder (writeLayoutDir) with what umoci's
// repack never writes — GNU and PAX long names and link names, sub-second PAX mtimes, numeric
// ids that disagree with uname/gname, a directory replaced by a file and back, an uncompressed
// layer after gzip ones — then copied by skopeo. The oracle is still `umoci raw unpack`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { blockDevice, charDevice, dir, fifo, file, hardlink, opaque, symlink, tempDir, whiteout, writeLayoutDir, type TarEntry } from '@oci2lxc/fixtures';
import { skopeoDockerArchive, skopeoOciArchive, tarLayout, type ArchiveCase } from '../src/archives.js';
import { umoci } from '../src/tools.js';
import { diffSnapshots, formatDifferences, snapshotTree, type DiffOptions, type TreeSnapshot } from '../src/tree-snapshot.js';
import { extractAvailable, extractWithLibrary } from '../src/oci2lxc.js';

const isRoot = process.getuid?.() === 0;
const tmp = tempDir('oci2lxc-interop-fx-');
afterAll(() => tmp.cleanup());

const long = (prefix: string): string => `${prefix}/${'deep-directory-name/'.repeat(6)}${'long-file-name-'.repeat(5)}end`;
/** Every directory of a long path, as explicit entries (implicit parents get "now" as mtime). */
const parents = (prefix: string, mtime: number): TarEntry[] =>
  Array.from({ length: 7 }, (_, i) => dir(`${prefix}${'/deep-directory-name'.repeat(i)}`, { mtime: mtime + i, longNames: 'gnu' }));

const layer1: TarEntry[] = [
  dir('etc', { mtime: 1_600_000_100 }),
  file('etc/os-release', 'ID=fixture\n', { mtime: 1_600_000_101 }),
  dir('srv', { mode: 0o2775, uid: 1234, gid: 5678, mtime: 1_600_000_102 }),
  file('srv/owned', 'ids win over names\n', { uid: 1234, gid: 5678, uname: 'root', gname: 'root', mtime: 1_600_000_103 }),
  file('srv/subsecond', 'pax mtime\n', { pax: { mtime: '1600000104.123456789' } }),
  dir('tmp', { mode: 0o1777, mtime: 1_600_000_105 }),
  dir('secret', { mode: 0o750, xattrs: { 'user.dir': 'on a directory' }, mtime: 1_600_000_106 }),
  file('secret/x', 'x\n', { mode: 0o640, xattrs: { 'user.a': 'alpha', 'user.b': new Uint8Array([0, 1, 2, 255]) }, mtime: 1_600_000_107 }),
  dir('usr', { mtime: 1_600_000_108 }),
  ...parents('usr/gnu', 1_600_000_150),
  ...parents('usr/pax', 1_600_000_160),
  file(long('usr/gnu'), 'gnu long name\n', { longNames: 'gnu', mtime: 1_600_000_109 }),
  file(long('usr/pax'), 'pax long name\n', { mtime: 1_600_000_110 }),
  hardlink('usr/hard-to-long', long('usr/pax'), { mtime: 1_600_000_110 }),
  symlink('usr/long-link', `../${long('usr/pax')}`, { mtime: 1_600_000_111 }),
  symlink('usr/gnu-long-link', `../${long('usr/gnu')}`, { longNames: 'gnu', mtime: 1_600_000_112 }),
  dir('dev', { mtime: 1_600_000_113 }),
  charDevice('dev/tty0', 4, 0, { mtime: 1_600_000_114 }),
  blockDevice('dev/sda1', 8, 1, { mtime: 1_600_000_115 }),
  fifo('dev/initctl', { mode: 0o600, mtime: 1_600_000_116 }),
  dir('r', { mtime: 1_600_000_117 }),
  dir('r/dir-becomes-file', { mtime: 1_600_000_118 }),
  file('r/dir-becomes-file/inner', 'inner\n', { mtime: 1_600_000_119 }),
  file('r/file-becomes-dir', 'file\n', { mtime: 1_600_000_120 }),
  symlink('r/link-becomes-file', 'nowhere', { mtime: 1_600_000_121 }),
  dir('w', { mtime: 1_600_000_122 }),
  file('w/gone', 'gone\n', { mtime: 1_600_000_123 }),
  dir('w/gone-dir', { mtime: 1_600_000_124 }),
  file('w/gone-dir/f', 'f\n', { mtime: 1_600_000_125 }),
  dir('w/opaque', { mtime: 1_600_000_126 }),
  file('w/opaque/lower', 'lower\n', { mtime: 1_600_000_127 }),
  dir('w/recreated', { mtime: 1_600_000_128 }),
  file('w/recreated/old', 'old\n', { mtime: 1_600_000_129 }),
];

const layer2: TarEntry[] = [
  dir('r', { mtime: 1_600_000_200 }),
  file('r/dir-becomes-file', 'now a file\n', { mtime: 1_600_000_201 }),
  dir('r/file-becomes-dir', { mtime: 1_600_000_202 }),
  file('r/file-becomes-dir/inner', 'inner\n', { mtime: 1_600_000_203 }),
  file('r/link-becomes-file', 'a file\n', { mtime: 1_600_000_204 }),
  dir('w', { mtime: 1_600_000_205 }),
  whiteout('w/gone'),
  whiteout('w/gone-dir'),
  dir('w/opaque', { mtime: 1_600_000_206 }),
  opaque('w/opaque'),
  file('w/opaque/upper', 'upper\n', { mtime: 1_600_000_207 }),
  whiteout('w/recreated'),
  dir('w/recreated', { mode: 0o700, mtime: 1_600_000_208 }),
  file('w/recreated/new', 'new\n', { mtime: 1_600_000_209 }),
  file('secret/x', 'x\n', { mode: 0o600, xattrs: { 'user.a': 'changed' }, mtime: 1_600_000_210 }),
];

// Uncompressed, after two gzip layers.
const layer3: TarEntry[] = [dir('etc', { mtime: 1_600_000_300 }), file('etc/motd', 'uncompressed layer\n', { mtime: 1_600_000_301 })];

const CASES = ['layout tarred with GNU tar', 'skopeo oci-archive (zstd)', 'skopeo docker-archive'] as const;

/**
 * Compared: everything, with two documented exclusions.
 * - The rootfs directory's mtime: this image has no `.` entry, so no tool is told one; umoci sets
 *   the epoch (0), oci2lxc leaves the directory's own time.
 * - Nanoseconds below 1 µs of mtimes: the PAX header of srv/subsecond names 123456789 ns; Node's
 *   utimes takes seconds as a double, so oci2lxc sets …123456000 where umoci (Go) sets all nine
 *   digits.
 */
const DIFF: DiffOptions = { mtimeResolutionNs: 1000, skip: (field, node) => field === 'mtime' && node.path === '.' };

let expected: TreeSnapshot;
const archives = new Map<string, ArchiveCase>();

describe.skipIf(!isRoot)('interop corpus: an image from the fixture builder, copied by skopeo', () => {
  beforeAll(() => {
    const layout = join(tmp.path, 'layout');
    writeLayoutDir(
      {
        images: [
          {
            layers: [layer1, layer2, { entries: layer3, compression: 'none' }],
            ref: 'latest',
            config: { Entrypoint: ['/bin/true'], Env: ['A=1'], WorkingDir: '/srv', User: '1234:5678', StopSignal: 'SIGINT' },
          },
        ],
      },
      layout,
    );
    const expectedDir = join(tmp.path, 'expected');
    umoci(['raw', 'unpack', '--image', `${layout}:latest`, expectedDir]);
    expected = snapshotTree(expectedDir);
    const out = join(tmp.path, 'archives');
    mkdirSync(out);
    const src = `oci:${layout}:latest`;
    for (const a of [
      tarLayout(layout, join(out, 'layout.tar')),
      skopeoOciArchive(src, join(out, 'zstd.tar'), 'zstd'),
      skopeoDockerArchive(src, join(out, 'docker.tar')),
    ]) archives.set(a.name, a);
  }, 60_000);

  it('umoci applied the layers as the corpus intends (the oracle is sound)', () => {
    const n = expected.nodes;
    expect(n.get('r/dir-becomes-file')?.type).toBe('file');
    expect(n.get('r/file-becomes-dir')?.type).toBe('dir');
    expect(n.get('r/link-becomes-file')?.type).toBe('file');
    for (const gone of ['w/gone', 'w/gone-dir', 'w/opaque/lower', 'w/recreated/old']) expect(n.has(gone), gone).toBe(false);
    expect(n.get('w/recreated')?.mode).toBe(0o700);
    expect(n.get('srv/owned')).toMatchObject({ uid: 1234, gid: 5678 });
    expect(n.get(long('usr/gnu'))?.type).toBe('file');
    expect(n.get('usr/hard-to-long')?.linkGroup).toBe(`usr/hard-to-long\n${long('usr/pax')}`);
    expect(n.get('dev/sda1')).toMatchObject({ type: 'block', device: '8:1' });
    expect(n.get('etc/motd')?.type).toBe('file');
    expect(n.get('secret/x')?.xattrs['user.a']).toBe(Buffer.from('changed').toString('base64'));
    expect(n.get('srv/subsecond')?.mtimeNs).toBe(1_600_000_104_123_456_789n);
    expect(n.get('.')?.mtimeNs).toBe(0n);
  });

  describe.each(CASES.map((name) => ({ name })))('$name', ({ name }) => {
    it.skipIf(!extractAvailable)('extractImage gives exactly the rootfs umoci raw unpack gives', async () => {
      const a = archives.get(name)!;
      const rootfs = join(tmp.path, `rootfs-${CASES.indexOf(name)}`);
      await extractWithLibrary(a.path, rootfs);
      const diffs = diffSnapshots(expected, snapshotTree(rootfs), DIFF);
      expect(diffs, `${name}: rootfs differs from umoci's:\n${formatDifferences(diffs)}`).toEqual([]);
    });
  });
});
