// Stream handling: one pass, backpressure, bodies on entries that have none, compression kinds,
// memory that does not grow with layer size.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTar, compressBuffer, dir, file, symlink, tempDir } from '@oci2lxc/fixtures';
import { applyLayer, ExtractError } from '../src/index.js';
import { layerStream } from './helpers.js';

let work: { path: string; cleanup: () => void };
let rootfs: string;
beforeEach(() => {
  work = tempDir('oci-extract-streams-');
  rootfs = join(work.path, 'rootfs');
  mkdirSync(rootfs);
});
afterEach(() => work.cleanup());

describe('streams', () => {
  it.each(['gzip', 'zstd', 'none'] as const)('applies a %s layer and returns the diff_id of the tar', async (compression) => {
    const tar = buildTar([dir('d'), file('d/f', 'hello'), file('big', Buffer.alloc(3 * 1024 * 1024, 9))]);
    const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
    const res = await applyLayer(layerStream(compressBuffer(tar, compression), 7777), rootfs, { compression, expectedDiffId: diffId });
    expect(res.diffId).toBe(diffId);
    expect(res.bytesRead).toBe(compressBuffer(tar, compression).length);
    expect(readFileSync(join(rootfs, 'd/f'), 'utf8')).toBe('hello');
    expect(statSync(join(rootfs, 'big')).size).toBe(3 * 1024 * 1024);
  });

  it('rejects a wrong expected diff_id with DIFF_ID_MISMATCH', async () => {
    const err = await applyLayer(layerStream([file('a', 'x')]), rootfs, { expectedDiffId: `sha256:${'2'.repeat(64)}`, layerDigest: 'sha256:feed' }).catch((e: unknown) => e);
    expect((err as ExtractError).code).toBe('DIFF_ID_MISMATCH');
    expect((err as ExtractError).message).toContain('sha256:feed');
  });

  it('treats symlink and directory headers as header-only whatever their size field (as Go)', async () => {
    const entries = [symlink('s', 'target', { sizeOverride: 0 }), dir('d'), file('after', 'ok')];
    // A symlink and a directory claiming 100 KiB bodies: Go reads none, the next header follows.
    const tar = buildTar([
      { path: 'weird', type: 'symlink', linkname: 't', sizeOverride: 100 * 1024 },
      { path: 'wd', type: 'dir', sizeOverride: 100 * 1024 },
    ]);
    const rest = buildTar(entries);
    await applyLayer(layerStream(Buffer.concat([tar.subarray(0, tar.length - 1024), rest]), 4096), rootfs);
    expect(readFileSync(join(rootfs, 'after'), 'utf8')).toBe('ok');
    expect(readlinkSync(join(rootfs, 'weird'))).toBe('t');
  });

  it('fails with CORRUPT_LAYER when a body follows a header-only entry (Go reads it as a header)', async () => {
    const tar = buildTar([{ path: 'weird', type: 'symlink', linkname: 't', sizeOverride: 100 * 1024 }]);
    const stream = Buffer.concat([tar.subarray(0, tar.length - 1024), Buffer.alloc(100 * 1024, 0x61), buildTar([file('after', 'ok')])]);
    const err = await applyLayer(layerStream(stream, 4096), rootfs).catch((e: unknown) => e);
    expect((err as ExtractError).code).toBe('CORRUPT_LAYER');
    expect(existsSync(join(rootfs, 'after'))).toBe(false);
  });

  it.each(['thread', 'sync', 'pool', 'auto'] as const)('writes small bodies split over many chunks whole (%s writes)', async (mode) => {
    // 1000-byte chunks split most bodies into several pieces (written with one writev).
    const sizes = [0, 1, 999, 1000, 1001, 4096, 70_000, 1024 * 1024];
    const bodies = sizes.map((n, i) => Buffer.from(Array.from({ length: n }, (_, j) => (i * 31 + j * 7) & 0xff)));
    const entries = bodies.map((b, i) => file(`f${i}`, b, { mode: i % 2 ? 0o4755 : 0o600, mtime: 1_600_000_000 + i }));
    const { routes } = (await applyLayer(layerStream(entries, 1000), rootfs, { writeStrategy: { mode } })).stats;
    expect(routes.thread + routes.sync + routes.pool).toBe(sizes.length); // all ≤ 1 MiB: small files
    if (mode !== 'auto') expect(routes[mode]).toBe(sizes.length);
    else expect(routes.sync).toBe(0);
    bodies.forEach((b, i) => {
      const p = join(rootfs, `f${i}`);
      expect(readFileSync(p).equals(b)).toBe(true);
      const st = statSync(p);
      expect(st.mode & 0o7777).toBe(i % 2 ? 0o4755 : 0o600);
      expect(st.mtimeMs).toBe((1_600_000_000 + i) * 1000);
    });
  });

  it('streams a large, highly compressible layer with bounded memory', async () => {
    // 256 MiB of zeros compress to a few hundred KiB: memory must not follow the layer size.
    const size = 256 * 1024 * 1024;
    const header = buildTar([{ path: 'zeros', type: 'file', sizeOverride: size }]).subarray(0, 512);
    const tar = Buffer.concat([header, Buffer.alloc(size), Buffer.alloc(1024)]);
    for (const compression of ['zstd', 'gzip'] as const) {
      const blob = compressBuffer(tar, compression);
      const before = process.memoryUsage().rss;
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      try {
        await applyLayer(Readable.from([blob]), rootfs, { compression });
      } finally {
        clearInterval(timer);
      }
      expect(statSync(join(rootfs, 'zeros')).size).toBe(size);
      expect(peak - before).toBeLessThan(100 * 1024 * 1024);
    }
  });
});
