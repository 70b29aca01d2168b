// Archives written by real tools (skopeo, umoci), checked against what those tools report.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeLayoutDir, file, dir, symlink, tempDir, type BuiltArchive } from '@oci2lxc/fixtures';
import { openImageArchive, isImageArchive, MediaTypes, type Image, type ImageArchive } from '../src/index.js';
import { collect } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const tmp = tempDir('oti-interop-');
afterAll(() => tmp.cleanup());

function run(cmd: string, args: string[]): Buffer {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}
function json<T>(cmd: string, args: string[]): { value: T; raw: Buffer } {
  const raw = run(cmd, args);
  return { value: JSON.parse(raw.toString('utf8')) as T, raw };
}
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface RawManifest {
  config: { digest: string; size: number };
  layers: { digest: string; size: number; mediaType: string }[];
}

let layoutDir = '';
let built: BuiltArchive;
function layout(): string {
  if (layoutDir) return layoutDir;
  layoutDir = join(tmp.path, 'layout');
  built = writeLayoutDir(
    {
      images: [
        {
          ref: 'demo:1',
          config: { Cmd: ['/bin/sh', '-c', 'echo hi'], Env: ['A=1'], WorkingDir: '/srv' },
          layers: [[dir('etc'), file('etc/hello', 'hi\n'), symlink('etc/link', 'hello')], [file('srv/data', Buffer.alloc(50_000, 9))]],
        },
      ],
    },
    layoutDir,
  );
  return layoutDir;
}

/** Every layer streams with its digest verified, and its size is what the manifest says. */
async function streamAll(image: Image): Promise<void> {
  for (const l of image.layers) {
    const bytes = await collect(image.openLayer(l.index));
    expect(bytes.length).toBe(l.size);
  }
}

async function withArchive(path: string, fn: (a: ImageArchive) => Promise<void>): Promise<void> {
  expect(await isImageArchive(path)).toBe(true);
  const a = await openImageArchive(path);
  try {
    await fn(a);
  } finally {
    await a.close();
  }
}

describe('skopeo', () => {
  it('oci-archive: manifest, config and layers match skopeo inspect', async () => {
    const out = join(tmp.path, 'skopeo-oci.tar');
    run('skopeo', ['--insecure-policy', 'copy', `oci:${layout()}:demo:1`, `oci-archive:${out}:demo:1`]);
    const { value: manifest, raw } = json<RawManifest>('skopeo', ['inspect', '--raw', `oci-archive:${out}`]);
    const { value: config, raw: rawConfig } = json<Record<string, unknown>>('skopeo', ['inspect', '--config', '--raw', `oci-archive:${out}`]);
    expect(sha256(rawConfig)).toBe(manifest.config.digest);
    await withArchive(out, async (a) => {
      expect(a.format).toBe('oci-layout');
      expect(a.images.map((i) => i.refs)).toEqual([['demo:1']]);
      const image = await a.selectImage({ ref: 'demo:1' });
      expect(image.manifestDigest).toBe(sha256(raw));
      expect(image.manifest).toEqual(manifest);
      expect(image.configDigest).toBe(manifest.config.digest);
      expect(image.config).toEqual(config);
      expect(image.layers.map((l) => [l.digest, l.size, l.mediaType])).toEqual(manifest.layers.map((l) => [l.digest, l.size, l.mediaType]));
      expect(image.layers.map((l) => l.diffId)).toEqual(built.images[0]!.layers.map((l) => l.diffId));
      await streamAll(image);
    });
  });

  it('oci-archive with zstd layers', async () => {
    const out = join(tmp.path, 'skopeo-zstd.tar');
    run('skopeo', ['--insecure-policy', 'copy', '--dest-compress-format', 'zstd', `oci:${layout()}:demo:1`, `oci-archive:${out}:demo:1`]);
    const { value: manifest } = json<RawManifest>('skopeo', ['inspect', '--raw', `oci-archive:${out}`]);
    expect(manifest.layers.every((l) => l.mediaType === MediaTypes.ociLayerZstd)).toBe(true);
    await withArchive(out, async (a) => {
      const image = await a.selectImage();
      expect(image.layers.map((l) => l.compression)).toEqual(['zstd', 'zstd']);
      expect(image.layers.map((l) => l.digest)).toEqual(manifest.layers.map((l) => l.digest));
      expect(image.layers.map((l) => l.diffId)).toEqual(built.images[0]!.layers.map((l) => l.diffId));
      await streamAll(image);
    });
  });

  it('docker-archive: config digest, diff_ids and RepoTags match skopeo inspect', async () => {
    const out = join(tmp.path, 'skopeo-docker.tar');
    run('skopeo', ['--insecure-policy', 'copy', `oci:${layout()}:demo:1`, `docker-archive:${out}:demo:1`]);
    const { value: manifest } = json<RawManifest>('skopeo', ['inspect', '--raw', `docker-archive:${out}`]);
    const { value: config, raw: rawConfig } = json<Record<string, unknown>>('skopeo', ['inspect', '--config', '--raw', `docker-archive:${out}`]);
    expect(sha256(rawConfig)).toBe(manifest.config.digest);
    await withArchive(out, async (a) => {
      expect(a.format).toBe('docker-archive');
      expect(a.images[0]!.refs).toEqual(['docker.io/library/demo:1']);
      const image = await a.selectImage({ ref: 'demo:1' });
      expect(image.configDigest).toBe(manifest.config.digest);
      expect(image.config).toEqual(config);
      // skopeo names uncompressed docker-archive layers by their diff_id, as we do
      expect(image.layers.map((l) => l.digest)).toEqual(manifest.layers.map((l) => l.digest));
      expect(image.layers.map((l) => l.size)).toEqual(manifest.layers.map((l) => l.size));
      expect(image.layers.every((l) => l.compression === 'none' && l.digest === l.diffId)).toBe(true);
      await streamAll(image);
    });
  });
});

describe('umoci', () => {
  it('a layout made by umoci init/new and tarred with ./ names', async () => {
    const u = join(tmp.path, 'umoci-layout');
    run('umoci', ['init', '--layout', u]);
    run('umoci', ['new', '--image', `${u}:base`]);
    const out = join(tmp.path, 'umoci.tar');
    run('tar', ['-C', u, '-cf', out, '.']);
    expect(run('tar', ['-tf', out]).toString()).toContain('./index.json');
    const { value: manifest, raw } = json<RawManifest>('skopeo', ['inspect', '--raw', `oci:${u}:base`]);
    await withArchive(out, async (a) => {
      const image = await a.selectImage({ ref: 'base' });
      expect(image.manifestDigest).toBe(sha256(raw));
      expect(image.configDigest).toBe(manifest.config.digest);
      expect(image.layers).toEqual([]);
    });
  });

  it.skipIf(!isRoot)('umoci repack layers, manifests without mediaType, descriptors without platform', async () => {
    const u = join(tmp.path, 'umoci-repack');
    const bundle = join(tmp.path, 'umoci-bundle');
    run('umoci', ['init', '--layout', u]);
    run('umoci', ['new', '--image', `${u}:base`]);
    run('umoci', ['unpack', '--image', `${u}:base`, bundle]);
    mkdirSync(join(bundle, 'rootfs/etc'), { recursive: true });
    writeFileSync(join(bundle, 'rootfs/etc/greeting'), 'hello\n');
    run('umoci', ['repack', '--image', `${u}:v1`, bundle]);
    run('umoci', ['config', '--image', `${u}:v1`, '--config.cmd', '/bin/true']);
    const out = join(tmp.path, 'umoci-repack.tar');
    run('tar', ['-C', u, '-cf', out, '.']);
    const { value: manifest, raw } = json<RawManifest>('skopeo', ['inspect', '--raw', `oci:${u}:v1`]);
    const stat = json<{ history: { layer: { digest: string } | null; diff_id: string }[] }>('umoci', ['stat', '--image', `${u}:v1`, '--json']).value;
    await withArchive(out, async (a) => {
      expect(a.images.map((i) => i.refs).sort()).toEqual([['base'], ['v1']]);
      await expect(a.selectImage()).rejects.toMatchObject({ code: 'AMBIGUOUS_IMAGE' });
      const image = await a.selectImage({ ref: 'v1' });
      expect(image.manifestDigest).toBe(sha256(raw));
      expect(image.config.config?.Cmd).toEqual(['/bin/true']);
      const layers = stat.history.filter((h) => h.layer !== null);
      expect(image.layers.map((l) => [l.digest, l.diffId])).toEqual(layers.map((h) => [h.layer!.digest, h.diff_id]));
      expect(image.layers.map((l) => l.digest)).toEqual(manifest.layers.map((l) => l.digest));
      await streamAll(image);
    });
  });
});
