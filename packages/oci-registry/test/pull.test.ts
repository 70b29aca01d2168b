import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dir, file, hostPlatform, symlink, writeArchive, type ArchiveSpec } from '@oci2lxc/fixtures';
import { openImageArchive } from '@oci2lxc/oci-tar-image';
import { extractImage } from '@oci2lxc/oci-extract';
import { BlobCache, openRegistry, RegistryError } from '../src/index.js';
import { push, startRegistry, type TestRegistry } from './registry.js';
import { snapshot } from './tree.js';
import { pushBuilt } from './upload.js';

let reg: TestRegistry;
let work: string;
const host = hostPlatform();
const other = host.architecture === 'arm64' ? { os: 'linux', architecture: 'amd64' } : { os: 'linux', architecture: 'arm64', variant: 'v8' };

const layers = [
  [dir('etc'), file('etc/os-release', 'ID=test\n'), file('bin/tool', 'x'.repeat(300_000), { mode: 0o755 }), symlink('bin/alias', 'tool')],
  [file('etc/os-release', 'ID=test2\n'), file('data/big', Buffer.alloc(2_000_000, 7))],
  [file('data/small', 'small')],
];

async function extractFrom(source: Parameters<typeof extractImage>[0], name: string): Promise<Record<string, string>> {
  const out = join(work, name);
  await extractImage(source, out);
  return snapshot(out);
}

async function fromArchive(path: string, platform?: string): Promise<Record<string, string>> {
  const a = await openImageArchive(path);
  try {
    return await extractFrom(await a.selectImage(platform ? { platform } : {}), `archive-${Math.random().toString(36).slice(2)}`);
  } finally {
    await a.close();
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'oci2lxc-pull-test-'));
  reg = await startRegistry();
  writeArchive({ images: [{ ref: 'latest', layers, config: { Cmd: ['/bin/tool'] } }] }, join(work, 'oci.tar'));
  writeArchive({ images: [{ ref: 'latest', layers, compression: 'zstd' }] }, join(work, 'zstd.tar'));
  writeArchive({ dockerMediaTypes: true, images: [{ ref: 'latest', layers }] }, join(work, 'docker.tar'));
  writeArchive(
    {
      multiPlatformRef: 'multi',
      attestations: true,
      images: [
        { platform: host, layers: [[file('which', 'host')]] },
        { platform: other, layers: [[file('which', 'other')]] },
      ],
    },
    join(work, 'multi.tar'),
  );
  await push(reg, `oci-archive:${join(work, 'oci.tar')}`, 'app:1');
  await push(reg, `oci-archive:${join(work, 'zstd.tar')}`, 'app:zstd');
  await push(reg, `oci-archive:${join(work, 'docker.tar')}`, 'app:docker');
  await push(reg, `oci-archive:${join(work, 'multi.tar')}:multi`, 'multi:1', { all: true });
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('pull from a local Distribution registry', () => {
  it('extracts the same tree as the archive it was pushed from (OCI, gzip)', async () => {
    const archive = await openRegistry(`${reg.host}/app:1`);
    try {
      expect(archive.format).toBe('registry');
      const image = await archive.selectImage();
      expect(image.layers.map((l) => l.compression)).toEqual(['gzip', 'gzip', 'gzip']);
      expect(image.config.config?.Cmd).toEqual(['/bin/tool']);
      const pulled = await extractFrom(image, 'pulled-oci');
      expect(pulled).toEqual(await fromArchive(join(work, 'oci.tar')));
      expect(pulled['data/big']).toMatch(/^file /);
      expect(archive.bytesRead).toBe(image.layers.reduce((n, l) => n + l.size, 0) + image.manifest.config.size);
    } finally {
      await archive.close();
    }
  });

  it('zstd layers and Docker v2 manifests', async () => {
    for (const [tag, compression, mediaType] of [
      ['zstd', 'zstd', 'application/vnd.oci.image.manifest.v1+json'],
      ['docker', 'gzip', 'application/vnd.docker.distribution.manifest.v2+json'],
    ] as const) {
      const archive = await openRegistry(`docker://${reg.host}/app:${tag}`);
      try {
        const image = await archive.selectImage();
        expect(image.layers[0]!.compression).toBe(compression);
        expect(archive.images[0]!.mediaType).toBe(mediaType);
        expect(await extractFrom(image, `pulled-${tag}`)).toEqual(await fromArchive(join(work, `${tag === 'zstd' ? 'zstd' : 'docker'}.tar`)));
      } finally {
        await archive.close();
      }
    }
  });

  it('multi-platform index by tag and by digest; attestations skipped; platform selection as for archives', async () => {
    const archive = await openRegistry(`${reg.host}/multi:1`);
    let digest: string;
    try {
      expect(archive.images.length).toBe(2);
      const mine = await archive.selectImage();
      expect((await extractFrom(mine, 'multi-host'))['which']).toMatch(/^file /);
      const theirs = await archive.selectImage({ platform: `${other.os}/${other.architecture}` });
      expect(theirs.platform.architecture).toBe(other.architecture);
      await expect(archive.selectImage({ platform: 'linux/s390x' })).rejects.toMatchObject({ code: 'NO_MATCHING_PLATFORM' });
      digest = archive.digest;
    } finally {
      await archive.close();
    }
    const byDigest = await openRegistry(`${reg.host}/multi@${digest}`);
    try {
      expect(byDigest.digest).toBe(digest);
      const image = await byDigest.selectImage({ platform: `${other.os}/${other.architecture}` });
      const tree = await extractFrom(image, 'multi-other');
      const theirs = await fromArchive(join(work, 'multi.tar'), `${other.os}/${other.architecture}`);
      expect(tree).toEqual(theirs);
    } finally {
      await byDigest.close();
    }
  });

  it('Docker v2 manifest list (Docker-typed manifests, pushed as built) by tag and by digest, platform chosen', async () => {
    const spec: ArchiveSpec = {
      multiPlatformRef: 'dlist',
      dockerMediaTypes: true,
      images: [
        { platform: host, layers: [[file('which', 'host')], [dir('etc'), file('etc/os-release', 'ID=host\n')]], config: { Cmd: ['/which-host'] } },
        { platform: other, layers: [[file('which', 'other')], [file('only-other', 'o')]], config: { Cmd: ['/which-other'] } },
      ],
    };
    const built = writeArchive(spec, join(work, 'dlist.tar'));
    const { indexDigest, indexType } = await pushBuilt(`http://${reg.host}`, 'dlist', '1', built);
    expect(indexType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    const hostDigest = built.images[0]!.manifestDigest;
    const otherDigest = built.images[1]!.manifestDigest;
    for (const ref of [`${reg.host}/dlist:1`, `${reg.host}/dlist@${indexDigest}`]) {
      const archive = await openRegistry(ref);
      try {
        expect(archive.digest).toBe(indexDigest);
        // What the registry serves for the reference is the Docker list itself, not a conversion.
        expect((await archive.client.fetchManifest(indexDigest)).mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
        expect(archive.images.map((i) => [i.manifestDigest, i.mediaType])).toEqual([
          [hostDigest, 'application/vnd.docker.distribution.manifest.v2+json'],
          [otherDigest, 'application/vnd.docker.distribution.manifest.v2+json'],
        ]);
        const mine = await archive.selectImage();
        expect(mine.manifestDigest).toBe(hostDigest);
        expect(mine.manifestMediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
        expect(mine.layers.map((l) => l.mediaType)).toEqual(['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip']);
        expect(mine.config.config?.Cmd).toEqual(['/which-host']);
        const mineTree = await extractFrom(mine, `dlist-host-${Math.random().toString(36).slice(2)}`);
        expect(mineTree).toEqual(await fromArchive(join(work, 'dlist.tar'), `${host.os}/${host.architecture}`));
        expect(mineTree['etc/os-release']).toMatch(/^file /);
        expect(mineTree['only-other']).toBeUndefined();
        const theirs = await archive.selectImage({ platform: `${other.os}/${other.architecture}` });
        expect(theirs.manifestDigest).toBe(otherDigest);
        expect(theirs.config.config?.Cmd).toEqual(['/which-other']);
        const theirTree = await extractFrom(theirs, `dlist-other-${Math.random().toString(36).slice(2)}`);
        expect(theirTree).toEqual(await fromArchive(join(work, 'dlist.tar'), `${other.os}/${other.architecture}`));
        expect(theirTree['only-other']).toMatch(/^file /);
      } finally {
        await archive.close();
      }
    }
  });

  it('a by-digest pull whose digest the registry does not have: NOT_FOUND naming it', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const err = await openRegistry(`${reg.host}/app@${wrong}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect((err as Error).message).toContain(wrong);
  });

  it('an unknown repository or tag: NOT_FOUND', async () => {
    await expect(openRegistry(`${reg.host}/nope:1`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(openRegistry(`${reg.host}/app:nope`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a warm cache fetches 0 blob bytes and gives the same tree', async () => {
    const cacheDir = join(work, 'cache');
    const cold = await openRegistry(`${reg.host}/app:1`, { cache: cacheDir });
    let first: Record<string, string>;
    try {
      const image = await cold.selectImage();
      first = await extractFrom(image, 'cache-cold');
      expect(cold.bytesRead).toBe(image.layers.reduce((n, l) => n + l.size, 0) + image.manifest.config.size);
    } finally {
      await cold.close();
    }
    const entries = await new BlobCache(cacheDir).list();
    expect(entries.length).toBe(4); // 3 layers + config
    expect(readdirSync(join(cacheDir, 'tmp'))).toEqual([]);
    const warm = await openRegistry(`${reg.host}/app:1`, { cache: cacheDir });
    try {
      expect(await extractFrom(await warm.selectImage(), 'cache-warm')).toEqual(first);
      expect(warm.bytesRead).toBe(0);
    } finally {
      await warm.close();
    }
  });

  it('without a cache, layers fetched ahead go to a temp dir that is removed on close', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('oci2lxc-pull-') && !work.endsWith(n));
    const archive = await openRegistry(`${reg.host}/app:1`, { concurrency: 3 });
    await extractFrom(await archive.selectImage(), 'nocache');
    await archive.close();
    const after = readdirSync(tmpdir()).filter((n) => n.startsWith('oci2lxc-pull-') && !work.endsWith(n));
    expect(after.sort()).toEqual(before.sort());
    expect(existsSync(join(work, 'nocache', 'data', 'small'))).toBe(true);
  });
});
