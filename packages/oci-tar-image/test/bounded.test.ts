// Work bounded by the archive's size: hostile archives that once took minutes or hours (an index
// DAG, deep paths, one blob referenced many times, many tags) must open at once. The tests assert
// results (and bytes read), not timings; their short timeouts make sure they actually finish.
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildArchive, buildTar, blobFilePath, digestOf, editJson, findFile, tempDir, writeArchive, file as tarFile, type ArchiveFile } from '@oci2lxc/fixtures';
import { openImageArchive, MediaTypes } from '../src/index.js';
import { addRefs } from '../src/candidate.js';
import { expectCode } from './helpers.js';

const tmp = tempDir('oti-bounded-');
afterAll(() => tmp.cleanup());
let n = 0;
const layers = [[tarFile('a', 'a')]];
const QUICK = { timeout: 5000 };

/** Adds a JSON blob to an OCI layout's files; returns its descriptor. */
function addBlob(files: ArchiveFile[], doc: unknown, mediaType: string): { mediaType: string; digest: string; size: number } {
  const data = Buffer.from(JSON.stringify(doc));
  const digest = digestOf(data);
  if (!files.some((f) => f.path === blobFilePath(digest))) files.push({ path: blobFilePath(digest), type: 'file', data });
  return { mediaType, digest, size: data.length };
}

function writeFiles(files: ArchiveFile[]): string {
  const path = join(tmp.path, `b${n++}.tar`);
  writeFileSync(
    path,
    buildTar(files.map((f) => ({ path: f.path + (f.type === 'dir' ? '/' : ''), type: f.type, ...(f.data ? { content: f.data } : {}), ...(f.linkname !== undefined ? { linkname: f.linkname } : {}) }))),
  );
  return path;
}

describe('nested indexes', () => {
  /** The DAG: each level lists the level below 10 times; 7 levels (10⁷ paths). */
  function dagArchive(levels: number, copies: number): { path: string; manifestDigest: string } {
    const built = buildArchive({ images: [{ layers, ref: 'dag:1' }] });
    const files = built.files;
    const index = JSON.parse(findFile(files, 'index.json').data!.toString()) as { manifests: { mediaType: string; digest: string; size: number }[] };
    const m = index.manifests[0]!;
    let d = { mediaType: m.mediaType, digest: m.digest, size: m.size };
    for (let i = 0; i < levels; i++) d = { ...addBlob(files, { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: Array(copies).fill(d) }, MediaTypes.ociIndex) };
    editJson(files, 'index.json', (doc) => void (doc.manifests = Array(copies).fill({ ...d, annotations: { 'org.opencontainers.image.ref.name': 'dag:1' } })));
    return { path: writeFiles(files), manifestDigest: built.images[0]!.manifestDigest };
  }

  it('a DAG of 10 copies × 7 levels opens at once: one image, each index read once', QUICK, async () => {
    const { path, manifestDigest } = dagArchive(7, 10);
    const archive = await openImageArchive(path);
    try {
      expect(archive.images).toHaveLength(1);
      expect(archive.images[0]!.manifestDigest).toBe(manifestDigest);
      expect(archive.images[0]!.refs).toEqual(['dag:1']);
      const image = await archive.selectImage();
      expect(image.layers).toHaveLength(1);
    } finally {
      await archive.close();
    }
  });

  it('the same DAG nested deeper than maxIndexDepth is INDEX_TOO_DEEP, also where a walked index is met again deeper', QUICK, async () => {
    const { path } = dagArchive(7, 10);
    await expectCode(openImageArchive(path, { maxIndexDepth: 6 }), 'INDEX_TOO_DEEP', 'nested more than 6');
  });

  it('more descriptors than maxDescriptors is INDEX_TOO_LARGE', QUICK, async () => {
    const { path } = dagArchive(3, 10);
    // 10 at the top + 3 × 10 in the distinct indexes + the image merged upwards 10 times per level: 70.
    await expectCode(openImageArchive(path, { maxDescriptors: 69 }), 'INDEX_TOO_LARGE', 'more than 69');
    const archive = await openImageArchive(path, { maxDescriptors: 70 });
    expect(archive.images).toHaveLength(1);
    await archive.close();
  });

  it('skipped (unsupported) descriptors merged upwards count towards maxDescriptors too', QUICK, async () => {
    const built = buildArchive({ images: [{ layers }] });
    const files = built.files;
    const index = JSON.parse(findFile(files, 'index.json').data!.toString()) as { manifests: { mediaType: string; digest: string; size: number }[] };
    const m = index.manifests[0]!;
    // 2000 artifacts of an unknown type next to the image, listed through one index 2000 times.
    const odd = Array.from({ length: 2000 }, (_, i) => ({ mediaType: `application/x-odd-${i}`, digest: m.digest, size: m.size }));
    const inner = addBlob(files, { schemaVersion: 2, manifests: [{ mediaType: m.mediaType, digest: m.digest, size: m.size }, ...odd] }, MediaTypes.ociIndex);
    editJson(files, 'index.json', (doc) => void (doc.manifests = Array(2000).fill(inner)));
    await expectCode(openImageArchive(writeFiles(files)), 'INDEX_TOO_LARGE', 'more than 100000');
  });

  it('names given at every level of a shared index reach the image once each, in order', QUICK, async () => {
    const built = buildArchive({ images: [{ layers }] });
    const files = built.files;
    const index = JSON.parse(findFile(files, 'index.json').data!.toString()) as { manifests: { mediaType: string; digest: string; size: number }[] };
    const m = { mediaType: index.manifests[0]!.mediaType, digest: index.manifests[0]!.digest, size: index.manifests[0]!.size };
    const inner = addBlob(files, { schemaVersion: 2, manifests: [{ ...m, annotations: { 'org.opencontainers.image.ref.name': 'inner' } }] }, MediaTypes.ociIndex);
    editJson(files, 'index.json', (doc) =>
      void (doc.manifests = [
        { ...inner, annotations: { 'org.opencontainers.image.ref.name': 'a' } },
        { ...inner, annotations: { 'org.opencontainers.image.ref.name': 'b' } },
        { ...inner, annotations: { 'org.opencontainers.image.ref.name': 'a' } },
      ]),
    );
    const archive = await openImageArchive(writeFiles(files));
    expect(archive.images.map((i) => i.refs)).toEqual([['a', 'inner', 'b']]);
    await archive.close();
  });
});

describe('each JSON blob is read, hashed and parsed once', () => {
  const BIG = 3_900_000;

  it('1000 manifest.json entries naming one 3.9 MB config: read once', QUICK, async () => {
    const path = join(tmp.path, `b${n++}.tar`);
    writeArchive({ format: 'docker', images: [{ layers, ref: 'big:1', extraConfig: { pad: 'x'.repeat(BIG) } }] }, path, {
      mutate: (files) => {
        const f = findFile(files, 'manifest.json');
        const [entry] = JSON.parse(f.data!.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
        f.data = Buffer.from(JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ ...entry, RepoTags: [`big:${i}`] }))));
      },
    });
    const archive = await openImageArchive(path);
    try {
      expect(archive.images).toHaveLength(1);
      expect(archive.images[0]!.refs).toHaveLength(1000);
      expect(archive.bytesRead).toBeGreaterThan(BIG);
      expect(archive.bytesRead).toBeLessThan(1.2 * BIG); // once, not 1000 times
    } finally {
      await archive.close();
    }
  });

  it('1000 descriptors without mediaType naming one 3.9 MB manifest: read once', QUICK, async () => {
    const path = join(tmp.path, `b${n++}.tar`);
    let digest = '';
    writeArchive({ images: [{ layers }] }, path, {
      mutate: (files, built) => {
        const img = built.images[0]!;
        const manifest = { ...img.manifest, annotations: { pad: 'x'.repeat(BIG) } };
        const d = addBlob(files, manifest, '');
        digest = d.digest;
        editJson(files, 'index.json', (doc) => void (doc.manifests = Array.from({ length: 1000 }, () => ({ digest: d.digest, size: d.size }))));
      },
    });
    const archive = await openImageArchive(path);
    try {
      expect(archive.images.map((i) => i.manifestDigest)).toEqual([digest]);
      expect(archive.bytesRead).toBeGreaterThan(BIG);
      expect(archive.bytesRead).toBeLessThan(1.2 * BIG);
    } finally {
      await archive.close();
    }
  });
});

describe('path resolution is linear', () => {
  it('a Docker Config path of 80 000 components resolves', QUICK, async () => {
    const path = join(tmp.path, `b${n++}.tar`);
    let cfgName = '';
    writeArchive({ format: 'docker', images: [{ layers, ref: 'deep:1' }] }, path, {
      mutate: (files) =>
        editJson<{ Config: string }[]>(files, 'manifest.json', (doc) => {
          cfgName = doc[0]!.Config;
          doc[0]!.Config = `${'x/../'.repeat(20_000)}${'./'.repeat(40_000)}${cfgName}`;
        }),
    });
    const archive = await openImageArchive(path);
    expect(archive.images[0]!.refs).toEqual(['deep:1']);
    await archive.close();
    // A missing config behind such a path: the message is short, not the whole path.
    const missing = join(tmp.path, `b${n++}.tar`);
    writeArchive({ format: 'docker', images: [{ layers }] }, missing, {
      mutate: (files) => editJson<{ Config: string }[]>(files, 'manifest.json', (doc) => void (doc[0]!.Config = `${'y/'.repeat(80_000)}none.json`)),
    });
    const err = await expectCode(openImageArchive(missing), 'MISSING_BLOB');
    expect(err.message.length).toBeLessThan(1100);
    expect(err.message).toContain('more characters');
  });

  it('an index.json symlink with a PAX linkpath of 60 000 components resolves', QUICK, async () => {
    const built = buildArchive({ images: [{ layers, ref: 'linked:1' }] });
    const files = built.files;
    findFile(files, 'index.json').path = 'real-index.json';
    files.push({ path: 'index.json', type: 'symlink', linkname: `${'d/../'.repeat(30_000)}real-index.json` });
    const archive = await openImageArchive(writeFiles(files));
    expect(archive.images[0]!.refs).toEqual(['linked:1']);
    await archive.close();
  });

  it('a symlink climbing out names its target', QUICK, async () => {
    const built = buildArchive({ images: [{ layers }] });
    const files = built.files;
    findFile(files, 'index.json').path = 'real-index.json';
    files.push({ path: 'index.json', type: 'symlink', linkname: '../outside/index.json' });
    await expectCode(openImageArchive(writeFiles(files)), 'INVALID_TAR', "index.json -> ../outside/index.json");
  });
});

describe('names', () => {
  it('80 000 RepoTags are merged in linear time, duplicates dropped', QUICK, async () => {
    const path = join(tmp.path, `b${n++}.tar`);
    writeArchive({ format: 'docker', images: [{ layers, ref: 'tags:0' }] }, path, {
      mutate: (files) =>
        editJson<{ RepoTags: string[] }[]>(files, 'manifest.json', (doc) => {
          const tags = Array.from({ length: 80_000 }, (_, i) => `tags:${i}`);
          doc[0]!.RepoTags = [...tags, ...tags];
        }),
    });
    const archive = await openImageArchive(path);
    expect(archive.images[0]!.refs).toHaveLength(80_000);
    expect(archive.images[0]!.refs[79_999]).toBe('tags:79999');
    await archive.close();
  });

  it('addRefs keeps order, drops empties and duplicates, and notices lists changed behind its back', () => {
    const refs = ['a'];
    addRefs(refs, ['b', 'a', '', 'c', 'b']);
    expect(refs).toEqual(['a', 'b', 'c']);
    refs.push('d');
    addRefs(refs, ['d', 'e']);
    expect(refs).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('bounded messages', () => {
  it('NO_MATCHING_REF / NO_MATCHING_PLATFORM with many images are capped at 1 KiB', QUICK, async () => {
    const images = Array.from({ length: 40 }, (_, i) => ({ layers: [[tarFile('n', String(i))]], ref: `img-${'n'.repeat(30)}:${i}`, platform: { os: 'linux', architecture: 's390x' } }));
    const path = join(tmp.path, `b${n++}.tar`);
    writeArchive({ images }, path);
    const archive = await openImageArchive(path);
    try {
      const err = await expectCode(archive.selectImage({ platform: 'linux/riscv64' }), 'NO_MATCHING_PLATFORM', path);
      expect(err.message.length).toBeLessThanOrEqual(1024 + 40);
      expect(err.message).toMatch(/… and \d+ more/);
      expect(err.details).toHaveLength(40);
      const ref = await expectCode(archive.selectImage({ ref: 'nope' }), 'NO_MATCHING_REF', "'nope'");
      expect(ref.message.length).toBeLessThanOrEqual(1024 + 40);
      expect(ref.details).toHaveLength(40);
    } finally {
      await archive.close();
    }
  });
});
