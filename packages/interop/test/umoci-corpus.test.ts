// Interop corpus: one image made by umoci (three layers: content, `.wh.` whiteouts, an opaque
// whiteout), written as archives by GNU tar, skopeo and podman; every archive extracted by oci2lxc
// must give exactly the rootfs `umoci raw unpack` gives for the original image.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { tempDir } from '@oci2lxc/fixtures';
import type { RuntimeConfig } from '@oci2lxc/oci-tar-image';
import { buildUmociImage, type UmociImage } from '../src/umoci-image.js';
import { podmanSaves, skopeoDockerArchive, skopeoOciArchive, skopeoUncompressedLayout, tarLayout, type ArchiveCase } from '../src/archives.js';
import { hasTool, skopeo, umoci } from '../src/tools.js';
import { diffSnapshots, formatDifferences, snapshotTree, type DiffOptions, type TreeSnapshot } from '../src/tree-snapshot.js';
import { cliAvailable, extractAvailable, extractWithLibrary, openArchive, openAvailable, runCli } from '../src/oci2lxc.js';

const isRoot = process.getuid?.() === 0;
const tmp = tempDir('oci2lxc-interop-');
afterAll(() => tmp.cleanup());

// The archives, in the order they are made. podman is optional in the brief but works here
// (vfs storage in a temp dir), so it is part of the corpus.
const CASES = [
  'layout tarred with GNU tar',
  'skopeo oci-archive (gzip)',
  'skopeo oci-archive (zstd)',
  'skopeo docker-archive',
  'skopeo uncompressed layout, tarred',
  'podman save --format oci-archive',
  'podman save --format docker-archive',
] as const;

// Global paths podman uses by default; the corpus runs it so that it must not create them.
const PODMAN_GLOBALS = ['/dev/shm/libpod_lock', '/run/libpod', '/run/containers', '/var/lib/containers/storage', '/var/tmp/containers'];
const globalsBefore = PODMAN_GLOBALS.filter((p) => existsSync(p));

const CONFIG_FIELDS = ['Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'User', 'StopSignal'] as const;

/**
 * What is compared: everything, with no exclusions — type, mode, owner, size, content, symlink
 * target, device numbers, xattrs (all namespaces), hardlink groups and mtimes, directories and
 * the rootfs directory itself included. umoci sets directory mtimes after applying whiteouts and
 * applies the layer's `.` entry to the rootfs, so all of these are meaningful.
 */
const DIFF: DiffOptions = {};

let image: UmociImage;
let expected: TreeSnapshot;
let umociDiffIds: string[];
const archives = new Map<string, ArchiveCase>();

function archive(name: string): ArchiveCase {
  const a = archives.get(name);
  if (!a) throw new Error(`archive ${name} was not built`);
  return a;
}

function pick(c: RuntimeConfig | undefined): Record<string, unknown> {
  return Object.fromEntries(CONFIG_FIELDS.map((f) => [f, c?.[f] ?? null]));
}

describe.skipIf(!isRoot)('interop corpus: an image made by umoci', () => {
  beforeAll(() => {
    image = buildUmociImage(join(tmp.path, 'umoci'));
    const expectedDir = join(tmp.path, 'expected');
    umoci(['raw', 'unpack', '--image', image.ref, expectedDir]);
    expected = snapshotTree(expectedDir);
    const stat = JSON.parse(umoci(['stat', '--image', image.ref, '--json'])) as { history: { layer: { digest: string } | null; diff_id: string }[] };
    umociDiffIds = stat.history.filter((h) => h.layer).map((h) => h.diff_id);

    const out = join(tmp.path, 'archives');
    mkdirSync(out);
    const src = `oci:${image.ref}`;
    const made: ArchiveCase[] = [
      tarLayout(image.layout, join(out, 'layout.tar')),
      skopeoOciArchive(src, join(out, 'skopeo-gzip.tar')),
      skopeoOciArchive(src, join(out, 'skopeo-zstd.tar'), 'zstd'),
      skopeoDockerArchive(src, join(out, 'skopeo-docker.tar')),
      skopeoUncompressedLayout(src, tmp.path, join(out, 'skopeo-uncompressed.tar')),
    ];
    if (hasTool('podman')) made.push(...podmanSaves(join(tmp.path, 'podman'), join(out, 'skopeo-gzip.tar'), out));
    for (const a of made) archives.set(a.name, a);
  }, 120_000);

  it('umoci applied what the corpus claims (the oracle is sound)', () => {
    const n = expected.nodes;
    expect(umociDiffIds).toHaveLength(3);
    // `.wh.` whiteouts of round 2 and the opaque whiteout of round 3 were applied.
    for (const gone of ['data/gone', 'empty-me/a', 'empty-me/sub', 'etc/hello-hard', 'opq/lower', 'opq/top-lower']) expect(n.has(gone), gone).toBe(false);
    expect(n.get('opq/upper')?.type).toBe('file');
    expect(n.get('empty-me')?.type).toBe('dir');
    expect(n.get('etc/replaced')?.type).toBe('dir');
    expect(n.get('usr/bin/tool')?.linkGroup).toBe('etc/tool-hard2\nusr/bin/tool\nusr/bin/tool-hard');
    expect(n.get('usr/bin/tool')?.mode).toBe(0o4755);
    expect(n.get('data/null')?.device).toBe('1:3');
    expect(n.get('data/loop9')).toMatchObject({ type: 'block', device: '7:9' });
    expect(n.get('srv/app/fifo')?.type).toBe('fifo');
    expect(Object.keys(n.get('data/xattr-file')?.xattrs ?? {}).sort()).toEqual(['trusted.overlay-like', 'user.binary', 'user.comment']);
    expect(n.get('data/keep/big-id')).toMatchObject({ uid: 100_000, gid: 100_001 });
    expect(n.get('usr/hello-abs')?.linkTarget).toBe('/etc/hello');
  });

  it('made every archive of the corpus', () => {
    const expectedNames = hasTool('podman') ? CASES : CASES.filter((c) => !c.startsWith('podman'));
    expect([...archives.keys()]).toEqual([...expectedNames]);
    // podman ran with everything under the temp dir: no global state appeared.
    expect(PODMAN_GLOBALS.filter((p) => existsSync(p))).toEqual(globalsBefore);
  });

  describe.each(CASES.map((name) => ({ name })))('$name', ({ name }) => {
    it('skopeo sees the config umoci wrote and the same diff_ids', (ctx) => {
      if (name.startsWith('podman') && !hasTool('podman')) ctx.skip();
      const a = archive(name);
      const config = JSON.parse(skopeo(['inspect', '--config', a.skopeoRef])) as { config?: RuntimeConfig; rootfs: { diff_ids: string[] } };
      expect(pick(config.config)).toEqual(pick(image.config));
      expect(config.rootfs.diff_ids).toEqual(umociDiffIds);
    });

    it.skipIf(!openAvailable)('openImageArchive + selectImage agree with skopeo inspect and umoci stat', async (ctx) => {
      if (name.startsWith('podman') && !hasTool('podman')) ctx.skip();
      const a = archive(name);
      const config = JSON.parse(skopeo(['inspect', '--config', a.skopeoRef])) as { config?: RuntimeConfig };
      const manifest = JSON.parse(skopeo(['inspect', '--raw', a.skopeoRef])) as { layers: { digest: string }[] };
      const opened = await openArchive(a.path);
      try {
        expect(opened.format).toBe(a.format);
        const img = await opened.selectImage();
        expect(pick(img.config.config)).toEqual(pick(config.config));
        expect(img.layers.map((l) => l.diffId)).toEqual(umociDiffIds);
        expect(img.layers.map((l) => l.digest)).toEqual(manifest.layers.map((l) => l.digest));
      } finally {
        await opened.close();
      }
    });

    it.skipIf(!extractAvailable)('extractImage gives exactly the rootfs umoci raw unpack gives', async (ctx) => {
      if (name.startsWith('podman') && !hasTool('podman')) ctx.skip();
      const a = archive(name);
      const rootfs = join(tmp.path, `rootfs-${CASES.indexOf(name)}`);
      await extractWithLibrary(a.path, rootfs);
      const diffs = diffSnapshots(expected, snapshotTree(rootfs), DIFF);
      expect(diffs, `${name}: rootfs differs from umoci's:\n${formatDifferences(diffs)}`).toEqual([]);
    });
  });

  describe.skipIf(!cliAvailable)('the oci2lxc CLI', () => {
    it('extract gives exactly the rootfs umoci raw unpack gives', () => {
      const a = archive('skopeo oci-archive (zstd)');
      const rootfs = join(tmp.path, 'rootfs-cli');
      const r = runCli(['extract', a.path, rootfs, '--json', '--quiet']);
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { rootfs: string; layers: number };
      expect(doc).toMatchObject({ rootfs, layers: 3 });
      const diffs = diffSnapshots(expected, snapshotTree(rootfs), DIFF);
      expect(diffs, `CLI rootfs differs from umoci's:\n${formatDifferences(diffs)}`).toEqual([]);
    });

    it.for(CASES.map((name) => ({ name })))('inspect --json of $name agrees with skopeo inspect and umoci stat', ({ name }, ctx) => {
      if (name.startsWith('podman') && !hasTool('podman')) ctx.skip();
      const a = archive(name);
      const r = runCli(['inspect', a.path, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { format: string; image: { layers: { digest: string; diffId: string }[]; config: RuntimeConfig } };
      const config = JSON.parse(skopeo(['inspect', '--config', a.skopeoRef])) as { config?: RuntimeConfig };
      const manifest = JSON.parse(skopeo(['inspect', '--raw', a.skopeoRef])) as { layers: { digest: string }[] };
      expect(doc.format).toBe(a.format);
      expect(pick(doc.image.config)).toEqual(pick(config.config));
      expect(doc.image.layers.map((l) => l.diffId)).toEqual(umociDiffIds);
      expect(doc.image.layers.map((l) => l.digest)).toEqual(manifest.layers.map((l) => l.digest));
    });
  });
});
