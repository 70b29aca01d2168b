import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeArchive, file, tempDir, hostPlatform, type ArchiveSpec } from '@oci2lxc/fixtures';
import { openImageArchive, parsePlatform, formatPlatform, normalizePlatform, hostPlatform as ourHost, OciImageError } from '../src/index.js';
import { refMatches } from '../src/select.js';
import { expectCode, otherArch } from './helpers.js';

const tmp = tempDir('oti-select-');
afterAll(() => tmp.cleanup());
let n = 0;
function write(spec: ArchiveSpec): string {
  const p = join(tmp.path, `s${n++}.tar`);
  writeArchive(spec, p);
  return p;
}
const layer = [file('x', 'y')];

describe('parsePlatform / formatPlatform', () => {
  it('parses and normalises the usual spellings', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/amd64/v1')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/amd64/v3')).toEqual({ os: 'linux', architecture: 'amd64', variant: 'v3' });
    expect(parsePlatform('linux/aarch64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/armhf')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/arm/6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(parsePlatform('linux/armel')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(parsePlatform('Linux/i686')).toEqual({ os: 'linux', architecture: '386' });
    expect(parsePlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/ppc64le')).toEqual({ os: 'linux', architecture: 'ppc64le' });
  });

  it('rejects malformed strings with INVALID_PLATFORM', () => {
    for (const bad of ['', 'linux/', 'a/b/c/d', 'linux/amd 64', 'notanarch', '../x']) {
      expect(() => parsePlatform(bad), bad).toThrow(OciImageError);
      expect(() => parsePlatform(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_PLATFORM' }));
    }
  });

  it('formats os/arch[/variant] and round-trips', () => {
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
    expect(formatPlatform({ os: 'linux', architecture: 'amd64' })).toBe('linux/amd64');
    for (const s of ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v6', 'linux/s390x']) expect(formatPlatform(parsePlatform(s))).toBe(s);
  });

  it('the host platform matches what the fixtures build by default', () => {
    expect(ourHost()).toEqual(normalizePlatform(hostPlatform()));
  });
});

describe('refMatches', () => {
  it('matches full names, tags and Docker short names', () => {
    expect(refMatches('demo:1', 'demo:1')).toBe(true);
    expect(refMatches('latest', 'demo:latest')).toBe(true);
    expect(refMatches('1', 'registry.example.com:5000/team/demo:1')).toBe(true);
    expect(refMatches('demo', 'docker.io/library/demo:latest')).toBe(true);
    expect(refMatches('demo:1', 'docker.io/library/demo:1')).toBe(true);
    expect(refMatches('me/app:2', 'docker.io/me/app:2')).toBe(true);
    expect(refMatches('demo:1.0', '1.0')).toBe(true); // OCI ref.name holding only a tag
    expect(refMatches('1.0', '1.0')).toBe(true);
    expect(refMatches('demo:2', 'demo:1')).toBe(false);
    expect(refMatches('other', 'demo:latest')).toBe(false);
    expect(refMatches('2', 'demo:1')).toBe(false);
    expect(refMatches('registry.example.com:5000/demo', 'registry.example.com:5000/demo:latest')).toBe(true);
    expect(refMatches('quay.io/demo:1', 'docker.io/library/demo:1')).toBe(false);
  });
});

describe('selectImage', () => {
  const other = otherArch();

  it('defaults to the host platform and refuses a single image for another one', async () => {
    const path = write({ images: [{ layers: [layer], platform: other, ref: 'demo:1' }] });
    const archive = await openImageArchive(path);
    const err = await expectCode(archive.selectImage(), 'NO_MATCHING_PLATFORM', formatPlatform(normalizePlatform(hostPlatform())), formatPlatform(normalizePlatform(other)), 'demo:1');
    expect(err.message).toContain('(the host');
    const img = await archive.selectImage({ platform: other });
    expect(img.platform).toEqual(normalizePlatform(other));
    await archive.close();
  });

  it('Docker archives are matched on their config platform too', async () => {
    const path = write({ format: 'docker', images: [{ layers: [layer], platform: other, ref: 'demo:1' }] });
    const archive = await openImageArchive(path);
    await expectCode(archive.selectImage(), 'NO_MATCHING_PLATFORM', formatPlatform(normalizePlatform(other)));
    await archive.selectImage({ platform: formatPlatform(other) });
    await archive.close();
  });

  it('selects by ref (full name or tag) among several images', async () => {
    const path = write({
      images: [
        { layers: [[file('a', '1')]], ref: 'app:1' },
        { layers: [[file('b', '2')]], ref: 'app:2' },
      ],
    });
    const archive = await openImageArchive(path);
    const err = await expectCode(archive.selectImage(), 'AMBIGUOUS_IMAGE', 'app:1', 'app:2');
    expect(err.message).toMatch(/2 images match/);
    expect((await archive.selectImage({ ref: 'app:2' })).refs).toEqual(['app:2']);
    expect((await archive.selectImage({ ref: '1' })).refs).toEqual(['app:1']);
    expect((await archive.selectImage({ ref: 'docker.io/library/app:1' })).refs).toEqual(['app:1']);
    await expectCode(archive.selectImage({ ref: 'app:3' }), 'NO_MATCHING_REF', "'app:3'", "'app:1'", "'app:2'");
    await archive.close();
  });

  it('combines ref and platform', async () => {
    const platforms = [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }];
    const path = write({ multiPlatformRef: 'multi:1', images: platforms.map((platform) => ({ platform, layers: [[file('p', platform.architecture)]] })) });
    const archive = await openImageArchive(path);
    expect((await archive.selectImage({ ref: 'multi:1', platform: 'linux/arm64' })).platform).toEqual(platforms[1]);
    expect((await archive.selectImage({ ref: 'docker.io/library/multi:1', platform: 'linux/amd64' })).platform).toEqual(platforms[0]);
    // like Docker, a bare name means its 'latest' tag
    await expectCode(archive.selectImage({ ref: 'multi', platform: 'linux/amd64' }), 'NO_MATCHING_REF', "offers 'multi:1':");
    await expectCode(archive.selectImage({ ref: 'multi:1', platform: 'linux/s390x' }), 'NO_MATCHING_PLATFORM', 'linux/s390x', 'linux/amd64', 'linux/arm64/v8', "named 'multi:1'");
    await expectCode(archive.selectImage({ ref: 'nope', platform: 'linux/arm64' }), 'NO_MATCHING_REF', "'multi:1'");
    await expectCode(archive.selectImage({ platform: 'bad/plat/form/x' }), 'INVALID_PLATFORM');
    await archive.close();
  });

  it('a wanted platform without variant takes an image with one; an exact match wins', async () => {
    const path = write({
      images: [
        { layers: [[file('a', '1')]], platform: { os: 'linux', architecture: 'amd64', variant: 'v3' }, ref: 'v3' },
        { layers: [[file('b', '2')]], platform: { os: 'linux', architecture: 'amd64' }, ref: 'v1' },
      ],
    });
    const archive = await openImageArchive(path);
    expect((await archive.selectImage({ platform: 'linux/amd64' })).refs).toEqual(['v1']);
    expect((await archive.selectImage({ platform: 'linux/amd64/v3' })).refs).toEqual(['v3']);
    await expectCode(archive.selectImage({ platform: 'linux/amd64/v2' }), 'NO_MATCHING_PLATFORM');
    await archive.close();
  });

  it('arm variants are matched after normalisation', async () => {
    const path = write({
      images: [
        { layers: [[file('a', '1')]], platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
        { layers: [[file('b', '2')]], platform: { os: 'linux', architecture: 'arm' } },
        { layers: [[file('c', '3')]], platform: { os: 'linux', architecture: 'arm64' } },
      ],
    });
    const archive = await openImageArchive(path);
    expect((await archive.selectImage({ platform: 'linux/armhf' })).platform).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect((await archive.selectImage({ platform: 'linux/armel' })).platform).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect((await archive.selectImage({ platform: { os: 'linux', architecture: 'aarch64' } })).platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    await archive.close();
  });

  it('unnamed images are listed as such', async () => {
    const path = write({ images: [{ layers: [layer], platform: other }] });
    const archive = await openImageArchive(path);
    await expectCode(archive.selectImage({ ref: 'x' }), 'NO_MATCHING_REF', 'only unnamed images');
    await archive.close();
  });
});
