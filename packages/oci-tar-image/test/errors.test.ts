import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync, readFileSync, mkdirSync, openSync, writeSync, closeSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import {
  writeArchive,
  buildTar,
  file,
  dir,
  tempDir,
  editJson,
  replaceContent,
  removeFile,
  flipByte,
  blobFilePath,
  findFile,
  type ArchiveSpec,
  type BuiltArchive,
  type WriteOptions,
} from '@oci2lxc/fixtures';
import { openImageArchive, isImageArchive, validateDigest, OciImageError, MAX_JSON_SIZE } from '../src/index.js';
import { collect, expectCode } from './helpers.js';
import { rewriteBlob } from './fixtures-util.js';

const tmp = tempDir('oti-errors-');
afterAll(() => tmp.cleanup());
let n = 0;
const layers = [[dir('etc'), file('etc/a', 'a'.repeat(3000))], [file('b', 'bbb')]];

function write(spec: Partial<ArchiveSpec> = {}, opts: WriteOptions = {}): { path: string; built: BuiltArchive } {
  const path = join(tmp.path, `e${n++}.tar`);
  return { path, built: writeArchive({ images: [{ layers, ref: 'demo:1' }], ...spec }, path, opts) };
}

async function select(path: string) {
  const archive = await openImageArchive(path);
  try {
    return await archive.selectImage();
  } finally {
    await archive.close();
  }
}

function manifestOf(b: BuiltArchive): Record<string, unknown> {
  return JSON.parse(JSON.stringify(b.images[0]!.manifest)) as Record<string, unknown>;
}

describe('validateDigest', () => {
  it('accepts sha256 and sha512 by the image-spec grammar', () => {
    expect(validateDigest(`sha256:${'a'.repeat(64)}`)).toEqual({ algorithm: 'sha256', encoded: 'a'.repeat(64) });
    expect(validateDigest(`sha512:${'0'.repeat(128)}`)).toEqual({ algorithm: 'sha512', encoded: '0'.repeat(128) });
  });

  it('rejects everything else with INVALID_DIGEST', () => {
    for (const bad of [
      'sha256:../../etc/passwd',
      `sha256:${'A'.repeat(64)}`,
      `sha256:${'a'.repeat(63)}`,
      `sha256:${'a'.repeat(65)}`,
      `sha512:${'a'.repeat(64)}`,
      `blake3:${'a'.repeat(64)}`,
      `sha256+b64u:${'a'.repeat(64)}`,
      `sha256:${'a'.repeat(62)}/x`,
      'sha256',
      ':abc',
      '',
      `SHA256:${'a'.repeat(64)}`,
      `sha256:${'a'.repeat(64)}\n`,
    ]) {
      expect(() => validateDigest(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_DIGEST' }));
    }
    expect(() => validateDigest(`blake3:${'a'.repeat(64)}`)).toThrow(/unsupported digest algorithm 'blake3'/);
  });
});

describe('not an image', () => {
  it('a plain tarball is NOT_AN_IMAGE', async () => {
    const path = join(tmp.path, 'plain.tar');
    writeFileSync(path, buildTar([dir('etc'), file('etc/passwd', 'root:x:0:0::/:/bin/sh\n')]));
    await expectCode(openImageArchive(path), 'NOT_AN_IMAGE', path);
    expect(await isImageArchive(path)).toBe(false);
  });

  it('a file that is not a tar is INVALID_TAR; empty files and directories are NOT_AN_IMAGE', async () => {
    const junk = join(tmp.path, 'junk.bin');
    writeFileSync(junk, Buffer.from('this is not a tar file at all '.repeat(100)));
    await expectCode(openImageArchive(junk), 'INVALID_TAR', 'offset 0');
    const empty = join(tmp.path, 'empty.tar');
    writeFileSync(empty, '');
    await expectCode(openImageArchive(empty), 'NOT_AN_IMAGE', 'empty');
    const d = join(tmp.path, 'adir');
    mkdirSync(d);
    await expectCode(openImageArchive(d), 'NOT_AN_IMAGE', 'not a regular file');
    await expectCode(openImageArchive(join(tmp.path, 'missing.tar')), 'ARCHIVE_NOT_FOUND', 'missing.tar');
    await expectCode(openImageArchive(join(tmp.path, 'empty.tar', 'below')), 'ARCHIVE_NOT_FOUND', 'below');
  });

  it('a FIFO is NOT_AN_IMAGE at once (opening it does not wait for a writer)', async () => {
    const fifo = join(tmp.path, 'pipe.tar');
    execFileSync('mkfifo', [fifo]);
    await expectCode(openImageArchive(fifo), 'NOT_AN_IMAGE', 'not a regular file');
    expect(await isImageArchive(fifo)).toBe(false);
  });

  it('an archive with only attestations holds no runnable image', async () => {
    const { path } = write(
      { attestations: true },
      { mutate: (files) => editJson<{ manifests: { annotations?: Record<string, string> }[] }>(files, 'index.json', (d) => ({ ...d, manifests: d.manifests.filter((m) => m.annotations?.['vnd.docker.reference.type']) })) },
    );
    await expectCode(openImageArchive(path), 'NOT_AN_IMAGE', 'no runnable image');
  });
});

describe('isImageArchive', () => {
  it('is true for every format and never throws', async () => {
    for (const format of ['oci', 'docker', 'docker-skopeo', 'docker-hardlink', 'docker25'] as const) {
      expect(await isImageArchive(write({ format }).path), format).toBe(true);
    }
    const gz = join(tmp.path, 'x.tar.gz');
    writeFileSync(gz, gzipSync(buildTar([file('index.json', '{}')])));
    const fake = join(tmp.path, 'fake-manifest.tar');
    writeFileSync(fake, buildTar([file('manifest.json', '{"name":"my-web-app"}'), file('index.js', '')]));
    const big = join(tmp.path, 'big-plain.tar');
    writeFileSync(big, buildTar(Array.from({ length: 3000 }, (_, i) => file(`usr/share/f${i}`, 'x'))));
    for (const p of [gz, fake, big, join(tmp.path, 'nope.tar'), tmp.path, '/dev/null']) expect(await isImageArchive(p), p).toBe(false);
    const { path } = write();
    const size = statSync(path).size;
    for (const cut of [0, 100, 511, 700, size - 2000]) {
      const t = join(tmp.path, `probe-cut-${cut}.tar`);
      writeFileSync(t, Buffer.alloc(0));
      writeArchive({ images: [{ layers }] }, t, { truncateAt: cut });
      await expect(isImageArchive(t)).resolves.toBeTypeOf('boolean');
    }
  });
});

describe('truncated and corrupt tars', () => {
  for (const format of ['oci', 'docker-skopeo'] as const) {
    it(`${format}: truncation at many offsets is TRUNCATED_ARCHIVE, never a crash or hang`, async () => {
      const { path } = write({ format });
      const size = statSync(path).size;
      const seen = new Set<string>();
      for (let cut = 1; cut < size - 1024; cut += 211) {
        const p = join(tmp.path, `cut-${format}-${cut}.tar`);
        writeArchive({ format, images: [{ layers, ref: 'demo:1' }] }, p, { truncateAt: cut });
        const err = await openImageArchive(p).then(
          async (a) => {
            await a.close();
            return undefined;
          },
          (e: unknown) => e,
        );
        expect(err, `cut at ${cut}`).toBeInstanceOf(OciImageError);
        expect(['TRUNCATED_ARCHIVE', 'INVALID_TAR'], `cut at ${cut}: ${String(err)}`).toContain((err as OciImageError).code);
        seen.add((err as OciImageError).code);
      }
      expect(seen.has('TRUNCATED_ARCHIVE')).toBe(true);
    });
  }

  it('truncation names the entry whose data is cut', async () => {
    const { path, built } = write();
    const layerPath = blobFilePath(built.images[0]!.layers[0]!.digest);
    const data = findFile(built.files, layerPath).data!;
    const at = readFileSync(path).indexOf(data);
    const p = join(tmp.path, 'cut-named.tar');
    writeArchive({ images: [{ layers, ref: 'demo:1' }] }, p, { truncateAt: at + 10 });
    await expectCode(openImageArchive(p), 'TRUNCATED_ARCHIVE', `entry '${layerPath}'`, p);
  });

  it('a corrupted header checksum is INVALID_TAR', async () => {
    const p2 = join(tmp.path, 'badsum.tar');
    const tar = buildTar([file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'), file('index.json', '{}')]);
    tar[1026] = tar[1026]! ^ 0x20;
    writeFileSync(p2, tar);
    await expectCode(openImageArchive(p2), 'INVALID_TAR', 'checksum', 'offset 1024');
  });
});

describe('JSON', () => {
  it('invalid index.json is INVALID_JSON naming the file', async () => {
    const { path } = write({}, { mutate: (files) => replaceContent(files, 'index.json', '{"schemaVersion": 2, "manifests": [') });
    await expectCode(openImageArchive(path), 'INVALID_JSON', 'index.json');
  });

  it('invalid manifest.json is INVALID_JSON', async () => {
    const { path } = write({ format: 'docker' }, { mutate: (files) => replaceContent(files, 'manifest.json', 'not json') });
    await expectCode(openImageArchive(path), 'INVALID_JSON', 'manifest.json');
  });

  it('a blob with a correct digest but invalid JSON is INVALID_JSON naming the digest', async () => {
    let digest = '';
    const { path } = write({}, { mutate: (files, b) => void (digest = rewriteBlob(files, b.images[0]!.configDigest, Buffer.from('{"architecture": ')) ) });
    await expectCode(select(path), 'INVALID_JSON', digest);
  });

  it('JSON larger than the cap is refused unread', async () => {
    const { path } = write({}, { mutate: (files) => editJson(files, 'index.json', (d) => void (d.padding = 'x'.repeat(MAX_JSON_SIZE))) });
    await expectCode(openImageArchive(path), 'INVALID_JSON', 'index.json', 'more than');
  });
});

describe('INVALID_MANIFEST', () => {
  it('index.json without manifests', async () => {
    const { path } = write({}, { mutate: (files) => replaceContent(files, 'index.json', '{"schemaVersion":2}') });
    await expectCode(openImageArchive(path), 'INVALID_MANIFEST', 'index.json', 'manifests', `${path}: `);
  });

  it('a manifest with schemaVersion 1', async () => {
    const { path } = write({}, { mutate: (files, b) => void rewriteBlob(files, b.images[0]!.manifestDigest, Buffer.from(JSON.stringify({ ...manifestOf(b), schemaVersion: 1 }))) });
    await expectCode(select(path), 'INVALID_MANIFEST', 'schemaVersion', `${path}: `);
  });

  it('a config without rootfs', async () => {
    const { path } = write({ images: [{ layers, extraConfig: { rootfs: undefined } }] });
    await expectCode(select(path), 'INVALID_MANIFEST', 'rootfs', `${path}: `);
  });

  it('diff_ids count differs from the layer count', async () => {
    const { path } = write({
      images: [{ layers, extraConfig: { rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`] } } }],
    });
    await expectCode(select(path), 'INVALID_MANIFEST', '2 layer(s)', '1 diff_ids');
  });

  it('an unknown oci-layout version', async () => {
    const { path } = write({}, { mutate: (files) => replaceContent(files, 'oci-layout', '{"imageLayoutVersion":"2.0.0"}') });
    await expectCode(openImageArchive(path), 'INVALID_MANIFEST', 'oci-layout');
  });

  it('manifest.json that is not an array of images', async () => {
    const { path } = write({ format: 'docker' }, { mutate: (files) => replaceContent(files, 'manifest.json', '[{"Config": 1}]') });
    await expectCode(openImageArchive(path), 'INVALID_MANIFEST', 'manifest.json', `${path}: `);
  });
});

describe('digests', () => {
  it('a digest with ../ never becomes a path', async () => {
    const { path } = write({}, { mutate: (files) => editJson<{ manifests: { digest: string }[] }>(files, 'index.json', (d) => void (d.manifests[0]!.digest = 'sha256:../../../../etc/passwd')) });
    const err = await expectCode(openImageArchive(path), 'INVALID_DIGEST', 'sha256:../../../../etc/passwd');
    expect(err.message.startsWith(`${path}: `)).toBe(true); // names the archive
  });

  it('an invalid layer digest or diff_id is INVALID_DIGEST', async () => {
    const bad = `sha256:${'G'.repeat(64)}`;
    const a = write({}, {
      mutate: (files, b) => {
        const m = manifestOf(b);
        (m.layers as { digest: string }[])[1]!.digest = bad;
        rewriteBlob(files, b.images[0]!.manifestDigest, Buffer.from(JSON.stringify(m)));
      },
    });
    await expectCode(select(a.path), 'INVALID_DIGEST', bad, `${a.path}: `);
    const b2 = write({ images: [{ layers, extraConfig: { rootfs: { type: 'layers', diff_ids: [bad, bad] } } }] });
    await expectCode(select(b2.path), 'INVALID_DIGEST', bad, `${b2.path}: `);
  });

  it('a manifest or config whose bytes do not match is DIGEST_MISMATCH naming the digest', async () => {
    const m = write({}, { mutate: (files, b) => flipByte(files, blobFilePath(b.images[0]!.manifestDigest), 20) });
    await expectCode(select(m.path), 'DIGEST_MISMATCH', m.built.images[0]!.manifestDigest);
    const c = write({}, { mutate: (files, b) => flipByte(files, blobFilePath(b.images[0]!.configDigest), 5) });
    await expectCode(select(c.path), 'DIGEST_MISMATCH', c.built.images[0]!.configDigest);
  });

  it('a wrong manifest size is SIZE_MISMATCH', async () => {
    const { path, built } = write({}, { mutate: (files) => editJson<{ manifests: { size: number }[] }>(files, 'index.json', (d) => void (d.manifests[0]!.size += 1)) });
    await expectCode(select(path), 'SIZE_MISMATCH', built.images[0]!.manifestDigest);
  });

  it('a layer blob of another size is SIZE_MISMATCH before any stream', async () => {
    const { path, built } = write({}, { mutate: (files, b) => replaceContent(files, blobFilePath(b.images[0]!.layers[0]!.digest), Buffer.alloc(10)) });
    await expectCode(select(path), 'SIZE_MISMATCH', built.images[0]!.layers[0]!.digest, '10 bytes');
  });

  it('a layer with a flipped byte fails its stream with DIGEST_MISMATCH instead of ending', async () => {
    const { path, built } = write({}, { mutate: (files, b) => flipByte(files, blobFilePath(b.images[0]!.layers[0]!.digest), 30) });
    const archive = await openImageArchive(path);
    const image = await archive.selectImage();
    const stream = image.openLayer(0);
    let ended = false;
    stream.on('end', () => (ended = true));
    const err = await expectCode(collect(stream), 'DIGEST_MISMATCH', built.images[0]!.layers[0]!.digest);
    expect(err.subject).toBe(built.images[0]!.layers[0]!.digest);
    expect(ended).toBe(false);
    expect((await collect(image.openLayer(1))).equals(built.images[0]!.layers[1]!.blob)).toBe(true);
    await archive.close();
  });
});

describe('missing blobs and media types', () => {
  it('a missing layer, config or manifest is MISSING_BLOB naming the digest', async () => {
    for (const which of ['layer', 'config', 'manifest'] as const) {
      const { path, built } = write({}, {
        mutate: (files, b) => {
          const img = b.images[0]!;
          removeFile(files, blobFilePath(which === 'layer' ? img.layers[1]!.digest : which === 'config' ? img.configDigest : img.manifestDigest));
        },
      });
      const img = built.images[0]!;
      const digest = which === 'layer' ? img.layers[1]!.digest : which === 'config' ? img.configDigest : img.manifestDigest;
      const err = await expectCode(select(path), 'MISSING_BLOB', digest);
      expect(err.subject).toBe(digest);
    }
  });

  it('Docker archives: a missing layer or config is MISSING_BLOB', async () => {
    const { path, built } = write({ format: 'docker-skopeo' }, { mutate: (files, b) => removeFile(files, `${b.images[0]!.layers[0]!.diffId.slice(7)}.tar`) });
    await expectCode(select(path), 'MISSING_BLOB', built.images[0]!.layers[0]!.diffId);
    const c = write({ format: 'docker' }, { mutate: (files, b) => removeFile(files, `${b.images[0]!.configDigest.slice(7)}.json`) });
    await expectCode(openImageArchive(c.path), 'MISSING_BLOB', `${c.built.images[0]!.configDigest.slice(7)}.json`);
  });

  it('an unknown layer media type is UNSUPPORTED_MEDIA_TYPE naming the type and digest', async () => {
    const { path, built } = write({ images: [{ layers: [layers[0]!, { entries: layers[1]!, mediaType: 'application/vnd.example.layer.v1.tar+lz4' }] }] });
    await expectCode(select(path), 'UNSUPPORTED_MEDIA_TYPE', 'application/vnd.example.layer.v1.tar+lz4', built.images[0]!.layers[1]!.digest);
  });

  it('an unknown config media type is UNSUPPORTED_MEDIA_TYPE', async () => {
    const { path, built } = write({}, {
      mutate: (files, b) => {
        const m = manifestOf(b);
        (m.config as { mediaType: string }).mediaType = 'application/vnd.cncf.helm.config.v1+json';
        rewriteBlob(files, b.images[0]!.manifestDigest, Buffer.from(JSON.stringify(m)));
      },
    });
    await expectCode(select(path), 'UNSUPPORTED_MEDIA_TYPE', 'application/vnd.cncf.helm.config.v1+json', built.images[0]!.configDigest);
  });

  it('an index listing only unknown media types is UNSUPPORTED_MEDIA_TYPE', async () => {
    const { path, built } = write({}, { mutate: (files) => editJson<{ manifests: { mediaType: string }[] }>(files, 'index.json', (d) => void (d.manifests[0]!.mediaType = 'application/vnd.example.thing')) });
    await expectCode(openImageArchive(path), 'UNSUPPORTED_MEDIA_TYPE', 'application/vnd.example.thing', built.images[0]!.manifestDigest);
  });
});

describe('hostile indexes and links', () => {
  it('an index that lists itself stops (cycle or digest mismatch), never loops', async () => {
    const self = `sha256:${'c'.repeat(64)}`;
    const { path } = write({}, {
      mutate: (files) => {
        const idx = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: self, size: 0 }] }));
        const body = JSON.parse(idx.toString()) as { manifests: { size: number }[] };
        body.manifests[0]!.size = idx.length;
        const data = Buffer.from(JSON.stringify(body));
        files.push({ path: blobFilePath(self), type: 'file', data });
        editJson(files, 'index.json', (d) => void (d.manifests = [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: self, size: data.length }]));
      },
    });
    const err = await openImageArchive(path).catch((e: unknown) => e);
    expect(['INDEX_TOO_DEEP', 'DIGEST_MISMATCH']).toContain((err as OciImageError).code);
  });

  it('Docker layer symlink loops are LINK_LOOP', async () => {
    const { path } = write({ format: 'docker-skopeo' }, {
      mutate: (files) => {
        const links = files.filter((f) => f.type === 'symlink');
        links[0]!.linkname = 'layer.tar'; // points at itself
      },
    });
    await expectCode(select(path), 'LINK_LOOP', 'layer.tar');
  });

  it('Docker layer hardlink loops are LINK_LOOP', async () => {
    const { path } = write({ format: 'docker-hardlink' }, {
      mutate: (files) => {
        const links = files.filter((f) => f.type === 'hardlink');
        links[0]!.linkname = links[0]!.path;
      },
    });
    await expectCode(select(path), 'LINK_LOOP');
  });

  it('a symlink pointing outside the archive is refused and nothing outside is read', async () => {
    for (const target of ['../../../../../../etc/passwd', '/etc/passwd']) {
      const { path } = write({ format: 'docker-skopeo' }, { mutate: (files) => void (files.find((f) => f.type === 'symlink')!.linkname = target) });
      await expectCode(select(path), 'INVALID_TAR', 'outside the archive');
    }
    // a config path in manifest.json that climbs out
    const { path } = write({ format: 'docker' }, { mutate: (files) => editJson<{ Config: string }[]>(files, 'manifest.json', (d) => void (d[0]!.Config = '../../etc/passwd')) });
    await expectCode(openImageArchive(path), 'INVALID_TAR', 'outside the archive');
  });
});

describe('files that change under an open archive', () => {
  it('a layer overwritten after open is DIGEST_MISMATCH; a truncated file is TRUNCATED_ARCHIVE', async () => {
    const big = [[file('big', Buffer.alloc(200_000, 1))]];
    const { path, built } = write({ images: [{ layers: big, compression: 'none' }] });
    const archive = await openImageArchive(path);
    const image = await archive.selectImage();
    const data = findFile(built.files, blobFilePath(built.images[0]!.layers[0]!.digest)).data!;
    const at = readFileSync(path).indexOf(data);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from([0xff]), 0, 1, at + 100_000);
    closeSync(fd);
    await expectCode(collect(image.openLayer(0)), 'DIGEST_MISMATCH');
    truncateSync(path, at + 50_000);
    await expectCode(collect(image.openLayer(0)), 'TRUNCATED_ARCHIVE', built.images[0]!.layers[0]!.digest);
    await archive.close();
  });
});
