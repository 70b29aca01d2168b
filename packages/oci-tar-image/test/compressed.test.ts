// Compressed archives (`docker save | gzip`, zstd): decompressed once to an anonymous temporary
// file, then read as usual; nothing is left in the temp directory on any exit path.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { archiveToTar, buildArchive, file, tempDir, type ArchiveSpec } from '@oci2lxc/fixtures';
import { openImageArchive } from '../src/index.js';
import { collect, expectCode } from './helpers.js';

const tmp = tempDir('oti-compressed-');
afterAll(() => tmp.cleanup());
let n = 0;

const spec = (format: ArchiveSpec['format']): ArchiveSpec => ({
  format,
  images: [{ layers: [[file('etc/hello', 'hello\n')], [file('big', Buffer.alloc(300_000, 7))]], ref: 'zipped:1', config: { Entrypoint: ['/bin/hello'] } }],
});

/** A fresh, empty temp dir for the decompressed copy, so leftovers can be seen. */
function scratch(): string {
  const d = join(tmp.path, `scratch${n++}`);
  mkdirSync(d);
  return d;
}

function zstd(data: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 64 * 1024 * 1024 });
}

describe('gzip and zstd archives', () => {
  for (const format of ['docker', 'oci', 'docker25'] as const) {
    for (const kind of ['gzip', 'zstd'] as const) {
      it(`${format} archive, ${kind}-compressed: same images and verified layers as the plain tar`, async () => {
        const built = buildArchive(spec(format));
        const tar = archiveToTar(built.files);
        const path = join(tmp.path, `a${n++}.tar.${kind === 'gzip' ? 'gz' : 'zst'}`);
        writeFileSync(path, kind === 'gzip' ? gzipSync(tar) : zstd(tar));
        const temp = scratch();
        const plainPath = join(tmp.path, `a${n++}.tar`);
        writeFileSync(plainPath, tar);
        const plain = await openImageArchive(plainPath);
        const archive = await openImageArchive(path, { tempDir: temp });
        try {
          // The decompressed copy is unlinked at once: nothing in the temp dir even while open.
          expect(readdirSync(temp)).toEqual([]);
          expect(archive.compression).toBe(kind);
          expect(plain.compression).toBe('none');
          expect(archive.images).toEqual(plain.images);
          const image = await archive.selectImage({ ref: 'zipped:1' });
          expect(image.config.config?.Entrypoint).toEqual(['/bin/hello']);
          const b = built.images[0]!;
          for (const l of image.layers) {
            const bytes = await collect(image.openLayer(l.index));
            expect(bytes.equals(b.layers[l.index]!.blob)).toBe(true);
          }
        } finally {
          await archive.close();
          await plain.close();
        }
        expect(readdirSync(temp)).toEqual([]);
      });
    }
  }

  it('a truncated gzip archive is TRUNCATED_ARCHIVE, and nothing is left behind', async () => {
    const tar = archiveToTar(buildArchive(spec('docker')).files);
    const gz = gzipSync(tar);
    const path = join(tmp.path, `t${n++}.tar.gz`);
    writeFileSync(path, gz.subarray(0, gz.length >> 1));
    const temp = scratch();
    await expectCode(openImageArchive(path, { tempDir: temp }), 'TRUNCATED_ARCHIVE', path, 'gzip');
    expect(readdirSync(temp)).toEqual([]);
  });

  it('a truncated zstd archive is TRUNCATED_ARCHIVE', async () => {
    const tar = archiveToTar(buildArchive(spec('docker')).files);
    const z = zstd(tar);
    const path = join(tmp.path, `t${n++}.tar.zst`);
    writeFileSync(path, z.subarray(0, z.length >> 1));
    await expectCode(openImageArchive(path, { tempDir: scratch() }), 'TRUNCATED_ARCHIVE', path, 'zstd');
  });

  it('corrupt gzip data is INVALID_TAR naming the compression', async () => {
    const gz = gzipSync(archiveToTar(buildArchive(spec('docker')).files));
    const mid = gz.length >> 1;
    gz[mid] = gz[mid]! ^ 0xff;
    gz[mid + 1] = gz[mid + 1]! ^ 0xff;
    const path = join(tmp.path, `c${n++}.tar.gz`);
    writeFileSync(path, gz);
    const err = (await openImageArchive(path, { tempDir: scratch() }).then(
      () => ({ code: 'none', message: '' }),
      (e: unknown) => e,
    )) as { code: string; message: string };
    expect(['INVALID_TAR', 'TRUNCATED_ARCHIVE']).toContain(err.code);
    expect(err.message).toContain('gzip');
  });

  it('a decompression bomb stops at maxDecompressedSize (ARCHIVE_TOO_LARGE), nothing left behind', async () => {
    const path = join(tmp.path, `bomb${n++}.gz`);
    writeFileSync(path, gzipSync(Buffer.alloc(20 * 1024 * 1024)));
    const temp = scratch();
    await expectCode(openImageArchive(path, { tempDir: temp, maxDecompressedSize: 4 * 1024 * 1024 }), 'ARCHIVE_TOO_LARGE', path, 'more than 4194304');
    expect(readdirSync(temp)).toEqual([]);
  });

  it('an aborted signal stops decompression with ABORTED', async () => {
    const path = join(tmp.path, `abort${n++}.tar.gz`);
    writeFileSync(path, gzipSync(archiveToTar(buildArchive(spec('docker')).files)));
    const ac = new AbortController();
    const p = openImageArchive(path, { tempDir: scratch(), signal: ac.signal });
    ac.abort(new Error('stop'));
    await expectCode(p, 'ABORTED', path);
  });

  for (const [name, tool] of [
    ['xz', ['xz', '-c']],
    ['bzip2', ['bzip2', '-c']],
  ] as const) {
    it(`an ${name}-compressed archive is UNSUPPORTED_COMPRESSION naming the command that fixes it`, async (ctx) => {
      const tar = archiveToTar(buildArchive(spec('docker')).files);
      let data: Buffer;
      try {
        data = execFileSync(tool[0], tool.slice(1), { input: tar, maxBuffer: 64 * 1024 * 1024 });
      } catch {
        ctx.skip(); // the tool is not installed here
        return;
      }
      const path = join(tmp.path, `u${n++}.tar.${name}`);
      writeFileSync(path, data);
      await expectCode(openImageArchive(path), 'UNSUPPORTED_COMPRESSION', path, `${name}-compressed`, `${name} -dc`);
    });
  }

  it('the plain tar is not copied: opening reads a few KB of it', async () => {
    const path = join(tmp.path, `p${n++}.tar`);
    const noise = createHash('sha512');
    const big = Buffer.concat(Array.from({ length: 5000 }, (_, i) => noise.copy().update(String(i)).digest())); // 320 KB that gzip cannot shrink
    writeFileSync(path, archiveToTar(buildArchive({ images: [{ layers: [[file('noise', big)]] }] }).files));
    const archive = await openImageArchive(path, { tempDir: scratch() });
    expect(archive.compression).toBe('none');
    expect(archive.bytesRead).toBeLessThan(readFileSync(path).length / 10);
    await archive.close();
  });
});
