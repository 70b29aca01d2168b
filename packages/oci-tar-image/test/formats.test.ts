import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  writeArchive,
  file,
  dir,
  tempDir,
  editJson,
  hostPlatform,
  digestOf,
  MediaTypes as FixtureTypes,
  type ArchiveSpec,
  type BuiltArchive,
  type BuiltImage,
  type WriteOptions,
} from '@oci2lxc/fixtures';
import { openImageArchive, isImageArchive, MediaTypes, type Image, type ImageArchive } from '../src/index.js';
import { collect, expectCode } from './helpers.js';
import { longDockerPaths, rewriteBlob, writeGnuArchive } from './fixtures-util.js';

const tmp = tempDir('oti-formats-');
afterAll(() => tmp.cleanup());
let n = 0;
const tarPath = (name = 'a'): string => join(tmp.path, `${name}-${n++}.tar`);

const layersA = [[dir('etc'), file('etc/hello', 'hi\n')], [file('bin/app', 'binary', { mode: 0o755 })], [file('data', Buffer.alloc(70_000, 3))]];

function write(spec: ArchiveSpec, opts: WriteOptions = {}): { path: string; built: BuiltArchive } {
  const path = tarPath(spec.format ?? 'oci');
  return { path, built: writeArchive(spec, path, opts) };
}

/** Checks a resolved image against what the fixture builder made, including every layer's bytes. */
async function checkImage(img: Image, b: BuiltImage, docker: boolean): Promise<void> {
  expect(img.configDigest).toBe(b.configDigest);
  expect(img.config).toEqual(b.config);
  if (!docker) {
    expect(img.manifestDigest).toBe(b.manifestDigest);
    expect(img.manifest).toEqual(b.manifest);
  }
  expect(img.layers.length).toBe(b.layers.length);
  for (const [i, l] of b.layers.entries()) {
    const got = img.layers[i]!;
    expect(got.index).toBe(i);
    expect(got.diffId).toBe(l.diffId);
    expect(got.size).toBe(l.blob.length);
    expect(got.compression).toBe(l.compression);
    if (!docker) {
      expect(got.digest).toBe(l.digest);
      expect(got.mediaType).toBe(l.mediaType);
    }
    const before = got.digest;
    const reported: string[] = [];
    const bytes = await collect(img.openLayer(i, { onDigest: (d) => reported.push(d) }));
    expect(bytes.equals(l.blob)).toBe(true);
    expect(reported).toEqual([l.digest]); // the stream reports the stored digest, always
    expect(got.digest).toBe(before); // and the layer never changes
    expect(Object.isFrozen(got)).toBe(true);
    if (got.digest !== '') expect(got.digest).toBe(l.digest);
  }
}

async function openOne(path: string): Promise<{ archive: ImageArchive; image: Image }> {
  const archive = await openImageArchive(path);
  return { archive, image: await archive.selectImage() };
}

describe('OCI image layout', () => {
  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    it(`reads a ${compression} image`, async () => {
      const { path, built } = write({ images: [{ layers: layersA, compression, ref: 'demo:1', config: { Cmd: ['/bin/app'] } }] });
      const { archive, image } = await openOne(path);
      expect(archive.format).toBe('oci-layout');
      expect(archive.hasDockerManifest).toBe(false);
      expect(archive.images).toEqual([{ refs: ['demo:1'], platform: hostPlatform(), manifestDigest: built.images[0]!.manifestDigest, mediaType: MediaTypes.ociManifest }]);
      expect(image.refs).toEqual(['demo:1']);
      expect(image.platform).toEqual(hostPlatform());
      expect(image.config.config?.Cmd).toEqual(['/bin/app']);
      await checkImage(image, built.images[0]!, false);
      expect(await isImageArchive(path)).toBe(true);
      await archive.close();
    });
  }

  it('mixes layer compressions and non-distributable media types', async () => {
    const { path, built } = write({
      images: [
        {
          layers: [
            { entries: layersA[0]!, compression: 'zstd' },
            { entries: layersA[1]!, compression: 'gzip', mediaType: MediaTypes.ociLayerNondistributableGzip },
            { entries: layersA[2]!, compression: 'none', mediaType: MediaTypes.ociLayerNondistributable },
            { entries: [file('z', 'z')], compression: 'zstd', mediaType: MediaTypes.ociLayerNondistributableZstd },
          ],
        },
      ],
    });
    const { archive, image } = await openOne(path);
    expect(image.layers.map((l) => l.compression)).toEqual(['zstd', 'gzip', 'none', 'zstd']);
    await checkImage(image, built.images[0]!, false);
    await archive.close();
  });

  it('reads an OCI layout that uses Docker media types', async () => {
    const { path, built } = write({ dockerMediaTypes: true, images: [{ layers: layersA }] });
    const { archive, image } = await openOne(path);
    expect(archive.images[0]!.mediaType).toBe(MediaTypes.dockerManifest);
    expect(image.layers[0]!.mediaType).toBe(MediaTypes.dockerLayerGzip);
    await checkImage(image, built.images[0]!, false);
    await archive.close();
  });

  it('reads sha512 digests (blob names too long for ustar: PAX path records)', async () => {
    const { path, built } = write({ algorithm: 'sha512', images: [{ layers: layersA }] });
    expect(built.images[0]!.layers[0]!.digest).toMatch(/^sha512:[a-f0-9]{128}$/);
    const { archive, image } = await openOne(path);
    await checkImage(image, built.images[0]!, false);
    await archive.close();
  });

  it('reads sha512 archives whose long names are GNU records', async () => {
    const path = tarPath('gnu');
    const built = writeGnuArchive({ algorithm: 'sha512', images: [{ layers: layersA }] }, path);
    const { archive, image } = await openOne(path);
    await checkImage(image, built.images[0]!, false);
    await archive.close();
  });

  it('reads member names with a ./ prefix', async () => {
    const { path, built } = write({ images: [{ layers: layersA, ref: 'latest' }] }, { prefix: './' });
    const { archive, image } = await openOne(path);
    await checkImage(image, built.images[0]!, false);
    expect(await isImageArchive(path)).toBe(true);
    await archive.close();
  });

  it('uses the config platform when the descriptor has none', async () => {
    const platform = { os: 'linux', architecture: 'arm', variant: 'v7' };
    const { path } = write({ images: [{ layers: layersA, platform }] }, { mutate: (files) => editJson<{ manifests: { platform?: unknown }[] }>(files, 'index.json', (d) => void d.manifests.forEach((m) => delete m.platform)) });
    const archive = await openImageArchive(path);
    expect(archive.images[0]!.platform).toEqual(platform);
    const image = await archive.selectImage({ platform: 'linux/arm/v7' });
    expect(image.platform).toEqual(platform);
    await archive.close();
  });

  it('infers media types missing from descriptors and manifests', async () => {
    const { path, built } = write(
      { images: [{ layers: layersA, ref: 'x' }] },
      {
        mutate: (files, b) => {
          const img = b.images[0]!;
          const manifest = { ...img.manifest };
          delete manifest.mediaType;
          rewriteBlob(files, img.manifestDigest, Buffer.from(JSON.stringify(manifest)));
          editJson<{ manifests: { mediaType?: string }[] }>(files, 'index.json', (d) => void d.manifests.forEach((m) => delete m.mediaType));
        },
      },
    );
    const archive = await openImageArchive(path);
    expect(archive.images[0]!.mediaType).toBe(MediaTypes.ociManifest);
    const image = await archive.selectImage();
    expect(image.manifest.mediaType).toBeUndefined();
    expect(image.layers.map((l) => l.digest)).toEqual(built.images[0]!.layers.map((l) => l.digest));
    await archive.close();
  });

  it('merges names of one manifest listed twice', async () => {
    const { path } = write(
      { images: [{ layers: layersA, ref: 'demo:1' }] },
      {
        mutate: (files) =>
          editJson<{ manifests: Record<string, unknown>[] }>(files, 'index.json', (d) => {
            d.manifests.push({ ...d.manifests[0]!, annotations: { 'org.opencontainers.image.ref.name': 'demo:latest', 'io.containerd.image.name': 'docker.io/library/demo:latest' } });
          }),
      },
    );
    const archive = await openImageArchive(path);
    expect(archive.images.length).toBe(1);
    expect(archive.images[0]!.refs).toEqual(['demo:1', 'docker.io/library/demo:latest', 'demo:latest']);
    await archive.close();
  });
});

describe('multi-platform, nested indexes, attestations', () => {
  const platforms = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
  ];
  const spec = (extra: Partial<ArchiveSpec> = {}): ArchiveSpec => ({
    multiPlatformRef: 'multi:1',
    images: platforms.map((platform, i) => ({ platform, layers: [[file('which', platform.architecture)], [file(`only-${i}`, String(i))]] })),
    ...extra,
  });

  it('lists every platform under the index ref and selects each', async () => {
    const { path, built } = write(spec({ attestations: true }));
    const archive = await openImageArchive(path);
    expect(archive.images.map((i) => i.platform)).toEqual(platforms);
    expect(archive.images.every((i) => i.refs.join() === 'multi:1')).toBe(true);
    for (const [i, p] of platforms.entries()) {
      const image = await archive.selectImage({ platform: p, ref: 'multi:1' });
      expect(image.manifestDigest).toBe(built.images[i]!.manifestDigest);
      await checkImage(image, built.images[i]!, false);
    }
    const byString = await archive.selectImage({ platform: 'linux/aarch64' });
    expect(byString.manifestDigest).toBe(built.images[1]!.manifestDigest);
    const host = await archive.selectImage();
    expect(host.platform).toEqual(hostPlatform());
    await archive.close();
  });

  it('skips attestation manifests (unknown/unknown, vnd.docker.reference.type)', async () => {
    const { path } = write({ attestations: true, images: [{ layers: layersA, ref: 'a' }] });
    const archive = await openImageArchive(path);
    expect(archive.images.length).toBe(1);
    expect(archive.images[0]!.platform).toEqual(hostPlatform());
    await archive.selectImage();
    await archive.close();
  });

  it('follows nested indexes up to the depth bound', async () => {
    const { path, built } = write(spec({ nestingDepth: 5, dockerMediaTypes: true }));
    const archive = await openImageArchive(path);
    expect(archive.images.length).toBe(3);
    const image = await archive.selectImage({ platform: 'linux/arm/v7' });
    await checkImage(image, built.images[2]!, false);
    await archive.close();
    await expectCode(openImageArchive(path, { maxIndexDepth: 4 }), 'INDEX_TOO_DEEP', 'nested more than 4');
  });

  it('an index nested too deep is INDEX_TOO_DEEP naming its digest', async () => {
    const { path } = write(spec({ nestingDepth: 9 }));
    const err = await expectCode(openImageArchive(path), 'INDEX_TOO_DEEP', 'nested more than 8');
    expect(err.subject).toMatch(/^sha256:[a-f0-9]{64}$/);
  });
});

describe('Docker archives', () => {
  for (const format of ['docker', 'docker-skopeo', 'docker-hardlink'] as const) {
    for (const prefix of ['', './']) {
      it(`reads ${format}${prefix ? ' with ./ names' : ''}`, async () => {
        const { path, built } = write({ format, images: [{ layers: layersA, ref: 'demo:1', config: { Entrypoint: ['/bin/app'] } }] }, { prefix });
        const { archive, image } = await openOne(path);
        expect(archive.format).toBe('docker-archive');
        expect(archive.hasDockerManifest).toBe(false);
        const b = built.images[0]!;
        expect(archive.images).toEqual([{ refs: ['demo:1'], platform: hostPlatform(), manifestDigest: b.configDigest, mediaType: MediaTypes.dockerManifest }]);
        expect(image.manifestDigest).toBe(b.configDigest);
        expect(image.layers.every((l) => l.compression === 'none' && l.digest === l.diffId && l.mediaType === MediaTypes.dockerLayer)).toBe(true);
        expect(image.manifest.layers.map((l) => l.digest)).toEqual(b.layers.map((l) => l.diffId));
        expect(image.manifest.config).toEqual({ mediaType: MediaTypes.dockerConfig, digest: b.configDigest, size: Buffer.byteLength(JSON.stringify(b.config)) });
        await checkImage(image, b, true);
        expect(await isImageArchive(path)).toBe(true);
        await archive.close();
      });
    }
  }

  it('detects gzip and zstd layers by their magic bytes and computes their digest while streaming', async () => {
    const { path, built } = write({ format: 'docker-skopeo', images: [{ layers: [{ entries: layersA[0]!, compression: 'gzip' }, { entries: layersA[1]!, compression: 'zstd' }, layersA[2]!] }] });
    const { archive, image } = await openOne(path);
    expect(image.layers.map((l) => l.compression)).toEqual(['gzip', 'zstd', 'none']);
    expect(image.layers.map((l) => l.mediaType)).toEqual([MediaTypes.dockerLayerGzip, MediaTypes.dockerLayerZstd, MediaTypes.dockerLayer]);
    expect(image.layers[0]!.digest).toBe(''); // not named by the archive
    expect(image.layers[2]!.digest).toBe(image.layers[2]!.diffId);
    await checkImage(image, built.images[0]!, true); // onDigest reports the computed digests
    expect(image.layers.map((l) => l.digest)).toEqual(['', '', image.layers[2]!.diffId]); // nothing filled in afterwards
    expect(image.manifest.layers[1]!.digest).toBe('');
    await archive.close();
  });

  it('several images and legacy names from the repositories file', async () => {
    const { path, built } = write(
      { format: 'docker', images: [{ layers: layersA, ref: 'one:1' }, { layers: [layersA[0]!], ref: 'two:2' }] },
      { mutate: (files) => editJson<{ RepoTags: unknown }[]>(files, 'manifest.json', (d) => void d.forEach((e) => (e.RepoTags = null))) },
    );
    const archive = await openImageArchive(path);
    expect(archive.images.map((i) => i.refs)).toEqual([['one:1'], ['two:2']]);
    const two = await archive.selectImage({ ref: 'two:2' });
    await checkImage(two, built.images[1]!, true);
    await archive.close();
  });

  it('reads long layer paths (PAX and GNU long names)', async () => {
    const spec: ArchiveSpec = { format: 'docker', images: [{ layers: layersA }] };
    const { path, built } = write(spec, { mutate: (files) => void longDockerPaths(files) });
    const a = await openOne(path);
    await checkImage(a.image, built.images[0]!, true);
    await a.archive.close();
    const gnuPath = tarPath('gnu-docker');
    const gnuBuilt = writeGnuArchive(spec, gnuPath, (files) => void longDockerPaths(files));
    const b = await openOne(gnuPath);
    await checkImage(b.image, gnuBuilt.images[0]!, true);
    await b.archive.close();
  });

  it('Docker 25+ archives (OCI layout + manifest.json) prefer the OCI index', async () => {
    const { path, built } = write({ format: 'docker25', images: [{ layers: layersA, ref: 'demo:25' }] });
    const { archive, image } = await openOne(path);
    expect(archive.format).toBe('oci-layout');
    expect(archive.hasDockerManifest).toBe(true);
    expect(archive.images[0]!.manifestDigest).toBe(built.images[0]!.manifestDigest);
    expect(image.refs).toEqual(['demo:25']);
    await checkImage(image, built.images[0]!, false);
    await archive.close();
  });

  it('Docker 25+: RepoTags of manifest.json name the OCI image', async () => {
    const { path } = write(
      { format: 'docker25', images: [{ layers: layersA, ref: 'demo:25' }] },
      { mutate: (files) => editJson<{ manifests: { annotations?: unknown }[] }>(files, 'index.json', (d) => void d.manifests.forEach((m) => delete m.annotations)) },
    );
    const archive = await openImageArchive(path);
    expect(archive.images[0]!.refs).toEqual(['demo:25']);
    await archive.selectImage({ ref: 'demo:25' });
    await archive.close();
  });

  it('a docker config named by a digest it does not have is DIGEST_MISMATCH', async () => {
    const { path, built } = write({ format: 'docker', images: [{ layers: layersA }] }, { mutate: (files, b) => editJson(files, `${b.images[0]!.configDigest.slice(7)}.json`, (c) => void (c.author = 'x')) });
    await expectCode(openImageArchive(path), 'DIGEST_MISMATCH', built.images[0]!.configDigest);
  });

  it('a docker layer whose bytes do not match its diff_id fails the stream', async () => {
    const { path, built } = write(
      { format: 'docker-skopeo', images: [{ layers: layersA }] },
      {
        mutate: (files, b) => {
          const f = files.find((x) => x.path === `${b.images[0]!.layers[1]!.diffId.slice(7)}.tar`)!;
          const data = Buffer.from(f.data!);
          data[600] = data[600]! ^ 1;
          f.data = data;
        },
      },
    );
    const { archive, image } = await openOne(path);
    await expectCode(collect(image.openLayer(1)), 'DIGEST_MISMATCH', built.images[0]!.layers[1]!.diffId);
    await archive.close();
  });

  it('docker layer counts must match diff_ids', async () => {
    const { path } = write({ format: 'docker', images: [{ layers: layersA }] }, { mutate: (files) => editJson<{ Layers: string[] }[]>(files, 'manifest.json', (d) => void d[0]!.Layers.pop()) });
    const archive = await openImageArchive(path);
    await expectCode(archive.selectImage(), 'INVALID_MANIFEST', '2 layer(s)', '3 diff_ids');
    await archive.close();
  });

  it('the digest helper agrees with the fixtures', () => {
    expect(digestOf(Buffer.from('x'))).toMatch(/^sha256:/);
    expect(FixtureTypes.dockerLayer).toBe(MediaTypes.dockerLayer);
  });
});

describe('Docker 25+ with a broken manifest.json', () => {
  it('still opens from the OCI index', async () => {
    const path = join(tmp.path, 'd25-broken.tar');
    writeArchive({ format: 'docker25', images: [{ layers: layersA, ref: 'demo:25' }] }, path, {
      mutate: (files) => {
        const f = files.find((x) => x.path === 'manifest.json')!;
        f.data = Buffer.from('[{');
      },
    });
    const archive = await openImageArchive(path);
    expect(archive.hasDockerManifest).toBe(true);
    expect(archive.images[0]!.refs).toEqual(['demo:25']);
    await archive.close();
  });
});
