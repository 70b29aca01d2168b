// Where readers can disagree on what an archive holds, agree with skopeo (containers/image, the
// reference reader) or refuse clearly. skopeo is the oracle here: each test also runs it.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { archiveToTar, buildArchive, editJson, encodeEntry, file, findFile, tempDir, type ArchiveFile } from '@oci2lxc/fixtures';
import { openImageArchive } from '../src/index.js';
import { expectCode } from './helpers.js';

const tmp = tempDir('oti-skopeo-');
afterAll(() => tmp.cleanup());
let n = 0;

/** skopeo's view: the raw manifest it reads, or its error text. */
function skopeo(transport: 'docker-archive' | 'oci-archive', path: string, raw = true): { manifest?: { config: { digest: string } }; error?: string } {
  try {
    const out = execFileSync('skopeo', ['inspect', ...(raw ? ['--raw'] : []), `${transport}:${path}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    return { manifest: JSON.parse(out.toString('utf8')) as { config: { digest: string } } };
  } catch (err) {
    return { error: String((err as { stderr?: Buffer }).stderr ?? err) };
  }
}

function writeTar(data: Buffer): string {
  const path = join(tmp.path, `s${n++}.tar`);
  writeFileSync(path, data);
  return path;
}

const imageA = { layers: [[file('a', 'from A')]], ref: 'pick:a' };
const imageB = { layers: [[file('b', 'from B')]], ref: 'pick:b' };

describe('duplicated members', () => {
  it('two manifest.json members: skopeo reads the first, tar extraction keeps the last: refused as DUPLICATE_ENTRY', async () => {
    const a = buildArchive({ format: 'docker', images: [imageA] });
    const b = buildArchive({ format: 'docker', images: [imageB] });
    const path = writeTar(archiveToTar([...a.files, ...b.files]));
    // The oracle: skopeo's docker-archive reader takes the first manifest.json (image A) ...
    expect(skopeo('docker-archive', path).manifest?.config.digest).toBe(a.images[0]!.configDigest);
    // ... while `tar -x` (and docker load, which extracts first) would leave B's: we refuse.
    await expectCode(openImageArchive(path), 'DUPLICATE_ENTRY', path, "'manifest.json'", 'more than once');
  });

  it('two index.json members in an OCI archive are refused too', async () => {
    const a = buildArchive({ images: [imageA] });
    const b = buildArchive({ images: [imageB] });
    const files: ArchiveFile[] = [...a.files, ...b.files.filter((f) => f.path === 'index.json' || f.path.startsWith('blobs/sha256/'))];
    await expectCode(openImageArchive(writeTar(archiveToTar(files))), 'DUPLICATE_ENTRY', "'index.json'");
  });

  it('a blob written twice (different bytes under one name) is refused when it is used', async () => {
    const a = buildArchive({ images: [imageA] });
    const manifest = findFile(a.files, `blobs/sha256/${a.images[0]!.manifestDigest.slice(7)}`);
    const files: ArchiveFile[] = [...a.files, { path: manifest.path, type: 'file', data: Buffer.from('{}') }];
    const archive = await openImageArchive(writeTar(archiveToTar(files)));
    try {
      // The index gives the platform, so the manifest is read only when the image is selected.
      await expectCode(archive.selectImage(), 'DUPLICATE_ENTRY', manifest.path);
    } finally {
      await archive.close();
    }
  });

  it('an oci-layout member written twice is refused', async () => {
    const a = buildArchive({ images: [imageA] });
    const files: ArchiveFile[] = [...a.files, { path: 'oci-layout', type: 'file', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') }];
    await expectCode(openImageArchive(writeTar(archiveToTar(files))), 'DUPLICATE_ENTRY', "'oci-layout'");
  });
});

describe('as Go reads tar and JSON', () => {
  it('a single zero block followed by more members is INVALID_TAR (skopeo: invalid tar header)', async () => {
    const a = buildArchive({ format: 'docker', images: [imageA] });
    const tar = archiveToTar(a.files);
    const members = tar.subarray(0, tar.length - 1024);
    // Everything after one zero block: an extra member, then the real end.
    const path = writeTar(Buffer.concat([members, Buffer.alloc(512), ...encodeEntry(file('extra', 'x')), Buffer.alloc(1024)]));
    expect(skopeo('docker-archive', path).error).toMatch(/invalid tar header/i);
    await expectCode(openImageArchive(path), 'INVALID_TAR', 'single zero block');
    // Ending right after one zero block is accepted, by skopeo and by us.
    const short = writeTar(Buffer.concat([members, Buffer.alloc(512)]));
    expect(skopeo('docker-archive', short).manifest?.config.digest).toBe(a.images[0]!.configDigest);
    const archive = await openImageArchive(short);
    expect(archive.images[0]!.refs).toEqual(['pick:a']);
    await archive.close();
  });

  it("a descriptor size written 415e0 is INVALID_MANIFEST naming the archive (skopeo: cannot unmarshal)", async () => {
    const a = buildArchive({ images: [imageA] });
    const index = findFile(a.files, 'index.json');
    const size = a.images[0]!.manifestSize;
    index.data = Buffer.from(index.data!.toString().replace(`"size":${size}`, `"size":${size}e0`));
    expect(index.data.toString()).toContain(`${size}e0`);
    const path = writeTar(archiveToTar(a.files));
    expect(skopeo('oci-archive', path).error).toMatch(/cannot unmarshal number|json/i);
    await expectCode(openImageArchive(path), 'INVALID_MANIFEST', path, 'index.json', '"size" must be an integer', `${size}e0`);
  });

  it('a schemaVersion written 2.0 in a manifest is INVALID_MANIFEST (skopeo refuses it too)', async () => {
    const a = buildArchive({ images: [imageA] });
    const m = a.images[0]!;
    const blob = findFile(a.files, `blobs/sha256/${m.manifestDigest.slice(7)}`);
    const text = blob.data!.toString().replace('"schemaVersion":2', '"schemaVersion":2.0');
    expect(text).toContain('2.0');
    // Renamed to its new digest and listed with it, so only the number is wrong.
    const { createHash } = await import('node:crypto');
    const hex = createHash('sha256').update(text).digest('hex');
    blob.path = `blobs/sha256/${hex}`;
    blob.data = Buffer.from(text);
    editJson<{ manifests: { digest: string; size: number }[] }>(a.files, 'index.json', (d) => void (d.manifests[0] = { ...d.manifests[0]!, digest: `sha256:${hex}`, size: blob.data!.length }));
    const path = writeTar(archiveToTar(a.files));
    // (--raw only copies the bytes; a full inspect parses the manifest.)
    expect(skopeo('oci-archive', path, false).error).toMatch(/schemaVersion|unmarshal|json/i);
    const archive = await openImageArchive(path);
    try {
      await expectCode(archive.selectImage(), 'INVALID_MANIFEST', path, '"schemaVersion" must be an integer', '2.0');
    } finally {
      await archive.close();
    }
  });

  it('integers written plainly (and floats in fields that are not integers) pass', async () => {
    const a = buildArchive({ images: [{ ...imageA, annotations: { 'x.size': '1.5e3' } }] });
    const archive = await openImageArchive(writeTar(archiveToTar(a.files)));
    expect(archive.images).toHaveLength(1);
    await archive.close();
  });
});

