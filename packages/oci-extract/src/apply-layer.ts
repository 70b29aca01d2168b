// applyLayer: one tar stream into an existing rootfs (for tool authors who bring their own layers).
import type { Readable } from 'node:stream';
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Applier } from './applier.js';
import { decompressesOnThread } from './decompress.js';
import { ExtractError } from './errors.js';
import { validateIdMap } from './idmap.js';
import { writeStrategy } from './write-strategy.js';
import { runLayer } from './layer-stream.js';
import type { ApplyLayerOptions, ApplyLayerResult } from './types.js';

/**
 * Applies one layer (an uncompressed tar stream unless `options.compression` says otherwise) to
 * the existing directory `rootfs`. Whiteouts remove what is already there. Directory modes and
 * times of this layer are applied when the layer ends. On failure the rootfs is NOT rolled back
 * (it held content before); the error says which layer and entry failed.
 */
export async function applyLayer(tarStream: Readable, rootfs: string, options: ApplyLayerOptions = {}): Promise<ApplyLayerResult> {
  if (options.idMap) validateIdMap(options.idMap);
  const strategy = writeStrategy(options.writeStrategy);
  const abs = resolve(rootfs);
  const layer = options.layerDigest;
  let root: string | undefined;
  try {
    // The caller's own existing directory: a symlink to it is followed, as for any directory.
    if (statSync(abs, { throwIfNoEntry: false })?.isDirectory()) root = realpathSync(abs);
  } catch {
    // ENOTDIR, ELOOP, EACCES, …: reported below
  }
  if (root === undefined) {
    throw new ExtractError('INVALID_DESTINATION', `${abs} is not an existing directory`, { path: abs, ...(layer ? { layer } : {}) });
  }
  const applier = new Applier({
    root,
    ...(options.idMap ? { idMap: options.idMap } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    writeStrategy: strategy,
  });
  let bytesRead = 0;
  const expected = options.expectedDiffId;
  try {
    applier.beginLayer(layer, decompressesOnThread(options.compression ?? 'none'));
    const diffId = await runLayer({
      source: tarStream,
      compression: options.compression ?? 'none',
      applier,
      ...(expected ? { algorithm: expected.slice(0, expected.indexOf(':')) || 'sha256' } : {}),
      ...(layer ? { layer } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onBytes: (n) => {
        bytesRead += n;
        options.onProgress?.({ layerIndex: 0, layerCount: 1, layerDigest: layer ?? '', bytesRead, bytesTotal: 0, entries: applier.entries });
      },
    });
    if (expected !== undefined && diffId !== expected) {
      throw new ExtractError('DIFF_ID_MISMATCH', `uncompressed layer has digest ${diffId}, expected ${expected}`, layer ? { layer } : {});
    }
    await applier.endLayer();
    applier.finish();
    return { diffId, entries: applier.entries, bytesRead, warnings: applier.warnings, stats: { routes: applier.routes } };
  } catch (err) {
    await applier.dispose();
    throw applier.wrap(err);
  }
}
