import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeArchive, file, tempDir, type BuiltArchive } from '@oci2lxc/fixtures';
import { openImageArchive } from '../src/index.js';
import { collect } from './helpers.js';

const tmp = tempDir('oti-streams-');
afterAll(() => tmp.cleanup());

describe('opening a large image reads headers only', () => {
  const MB = 1024 * 1024;
  let built: BuiltArchive;
  let oci = '';
  let docker = '';
  beforeAll(() => {
    // ~150 MB of incompressible layer data, stored uncompressed.
    const layers = [0, 1, 2].map((i) => [file(`data${i}`, randomBytes(50 * MB))]);
    oci = join(tmp.path, 'big-oci.tar');
    built = writeArchive({ images: [{ layers, compression: 'none', ref: 'big:1' }] }, oci);
    docker = join(tmp.path, 'big-docker.tar');
    writeArchive({ format: 'docker', images: [{ layers, ref: 'big:1' }] }, docker);
  }, 120_000);

  for (const which of ['oci', 'docker'] as const) {
    it(`${which}: open + selectImage read well under 1 MB of ${150} MB`, async () => {
      const path = which === 'oci' ? oci : docker;
      expect(statSync(path).size).toBeGreaterThan(150 * MB);
      const archive = await openImageArchive(path);
      expect(archive.bytesRead).toBeGreaterThan(0);
      expect(archive.bytesRead).toBeLessThan(64 * 1024);
      const image = await archive.selectImage();
      expect(image.layers.length).toBe(3);
      expect(archive.bytesRead).toBeLessThan(64 * 1024);
      const before = archive.bytesRead;
      // reading a layer is counted too, once
      const stream = image.openLayer(1);
      let total = 0;
      await pipeline(
        stream,
        new Writable({
          write(chunk: Buffer, _e, cb) {
            total += chunk.length;
            cb();
          },
        }),
      );
      expect(total).toBe(built.images[0]!.layers[1]!.size);
      expect(archive.bytesRead - before).toBe(total);
      await archive.close();
    });
  }
});

describe('layer streams', () => {
  const path = join(tmp.path, 'small.tar');
  let built: BuiltArchive;
  beforeAll(() => {
    built = writeArchive({ images: [{ layers: [[file('a', randomBytes(3 * 1024 * 1024))], [file('b', 'b')]], compression: 'none' }] }, path);
  });

  it('honour highWaterMark', async () => {
    const archive = await openImageArchive(path);
    const image = await archive.selectImage();
    const stream = image.openLayer(0, { highWaterMark: 64 * 1024 });
    const sizes: number[] = [];
    for await (const c of stream) sizes.push((c as Buffer).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(built.images[0]!.layers[0]!.size);
    const big = await collect(image.openLayer(0));
    expect(big.equals(built.images[0]!.layers[0]!.blob)).toBe(true);
    await archive.close();
  });

  it('stop with an AbortError when the signal aborts', async () => {
    const archive = await openImageArchive(path);
    const image = await archive.selectImage();
    const ac = new AbortController();
    const stream = image.openLayer(0, { highWaterMark: 16 * 1024, signal: ac.signal });
    let seen = 0;
    const err = await pipeline(
      stream,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          seen += chunk.length;
          if (seen > 100_000) ac.abort();
          cb();
        },
      }),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError' });
    expect(seen).toBeLessThan(built.images[0]!.layers[0]!.size);
    await archive.close();
  });

  it('many layer streams share the one file handle concurrently', async () => {
    const archive = await openImageArchive(path);
    const image = await archive.selectImage();
    const outs = await Promise.all([0, 1, 0, 1, 0].map((i) => collect(image.openLayer(i, { highWaterMark: 8192 }))));
    outs.forEach((o, k) => expect(o.equals(built.images[0]!.layers[[0, 1, 0, 1, 0][k]!]!.blob)).toBe(true));
    await archive.close();
  });

  it('close() waits for open streams; afterwards the archive refuses new work', async () => {
    const archive = await openImageArchive(path);
    const image = await archive.selectImage();
    const stream = image.openLayer(0, { highWaterMark: 4096 });
    await archive.close();
    const bytes = await collect(stream);
    expect(bytes.equals(built.images[0]!.layers[0]!.blob)).toBe(true);
    await expect(archive.selectImage()).rejects.toThrow(/closed/);
    expect(() => image.openLayer(1)).toThrow(/closed/);
  });

  it('an out-of-range layer index is a RangeError', async () => {
    const archive = await openImageArchive(path);
    const image = await archive.selectImage();
    expect(() => image.openLayer(2)).toThrow(RangeError);
    expect(() => image.openLayer(-1)).toThrow(RangeError);
    expect(() => image.openLayer(0.5)).toThrow(RangeError);
    await archive.close();
  });
});
