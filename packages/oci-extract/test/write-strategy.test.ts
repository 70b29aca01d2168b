// The write strategy is an option, checked before anything is touched.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { file, tempDir } from '@oci2lxc/fixtures';
import { applyLayer, ExtractError, extractImage, type WriteStrategy } from '../src/index.js';
import { layerStream, memoryImage } from './helpers.js';

let work: { path: string; cleanup: () => void };
beforeEach(() => {
  work = tempDir('oci-extract-strategy-');
});
afterEach(() => work.cleanup());

describe('writeStrategy', () => {
  it.each<[string, WriteStrategy]>([
    ['an unknown mode', { mode: 'jobs' as WriteStrategy['mode'] }],
    ['a negative slowFileNs', { slowFileNs: -1 }],
    ['a NaN slowFileNs', { slowFileNs: Number.NaN }],
  ])('%s is INVALID_ARGUMENT, nothing created', async (_what, writeStrategy) => {
    const { image } = memoryImage({ layers: [[file('a', 'x')]] });
    const rootfs = join(work.path, 'rootfs');
    const err = await extractImage(image, rootfs, { writeStrategy }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExtractError);
    expect((err as ExtractError).code).toBe('INVALID_ARGUMENT');
    expect(readdirSync(work.path)).toEqual([]);
    mkdirSync(rootfs);
    const err2 = await applyLayer(layerStream([file('a', 'x')]), rootfs, { writeStrategy }).catch((e: unknown) => e);
    expect((err2 as ExtractError).code).toBe('INVALID_ARGUMENT');
    expect(readdirSync(rootfs)).toEqual([]);
  });

  it('reports the routes of an extraction: one layer of small files on the main thread (sync)', async () => {
    const { image } = memoryImage({ layers: [[file('a', 'x'), file('b', 'y')], [file('c', 'z')]] });
    const r = await extractImage(image, join(work.path, 'rootfs'), { writeStrategy: { mode: 'sync' } });
    expect(r.stats.routes).toEqual({ sync: 3, thread: 0, pool: 0 });
  });
});
