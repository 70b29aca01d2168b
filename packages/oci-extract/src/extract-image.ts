// extractImage: every layer of an image, in rootfs.diff_ids order, into an absent or empty
// directory; on any failure the directory is left as it was found.
import type { Image } from '@oci2lxc/oci-tar-image';
import { Applier } from './applier.js';
import { decompressesOnThread } from './decompress.js';
import { prepareDestination, releaseClaim, restoreDestination } from './cleanup.js';
import { ExtractError } from './errors.js';
import { validateIdMap } from './idmap.js';
import { writeStrategy } from './write-strategy.js';
import { runLayer } from './layer-stream.js';
import type { ExtractedLayer, ExtractOptions, ExtractResult } from './types.js';

/**
 * Applies all layers of `image` into `rootfs`, which must be absent (it is created; its parent
 * must exist) or an empty directory. Each layer's stored bytes are read once: the compressed
 * digest is checked by `image.openLayer`, the uncompressed digest against the config's diff_id.
 */
export async function extractImage(image: Image, rootfs: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  if (options.idMap) validateIdMap(options.idMap);
  const strategy = writeStrategy(options.writeStrategy);
  const { signal } = options;
  if (signal?.aborted) throw new ExtractError('ABORTED', 'extraction aborted before it started', { path: rootfs });
  const layers = [...image.layers].sort((a, b) => a.index - b.index);
  const bytesTotal = layers.reduce((n, l) => n + l.size, 0);

  const dest = prepareDestination(rootfs);
  const applier = new Applier({
    root: dest.root,
    ...(options.idMap ? { idMap: options.idMap } : {}),
    ...(signal ? { signal } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    writeStrategy: strategy,
    freshRoot: true,
  });
  let bytesRead = 0;
  const done: ExtractedLayer[] = [];
  try {
    applier.ownRoot();
    for (const [i, layer] of layers.entries()) {
      const expected = layer.diffId; // the config's rootfs.diff_ids[i]
      applier.beginLayer(layer.digest, decompressesOnThread(layer.compression));
      const entriesBefore = applier.entries;
      const progress = (): void =>
        options.onProgress?.({ layerIndex: i, layerCount: layers.length, layerDigest: layer.digest, bytesRead, bytesTotal, entries: applier.entries });
      progress();
      // A Docker archive's compressed layer has no digest until its bytes were read: the stream
      // reports it (the image's Layer never changes).
      let stored = layer.digest;
      const source = image.openLayer(layer.index, { ...(signal ? { signal } : {}), onDigest: (d) => void (stored = d) });
      const actual = await runLayer({
        source,
        compression: layer.compression,
        applier,
        algorithm: expected.slice(0, expected.indexOf(':')) || 'sha256',
        layer: layer.digest,
        ...(signal ? { signal } : {}),
        onBytes: (n) => {
          bytesRead += n;
          progress();
        },
      });
      if (actual !== expected) {
        throw new ExtractError('DIFF_ID_MISMATCH', `uncompressed layer has digest ${actual}, but the image config's diff_id is ${expected}`, {
          layer: stored,
        });
      }
      await applier.endLayer();
      done.push({ index: layer.index, digest: stored, diffId: actual, entries: applier.entries - entriesBefore });
      progress();
    }
    if (signal?.aborted) throw new ExtractError('ABORTED', 'extraction aborted', { path: rootfs });
    // Before finish(): it sets the directories' times, which removing a file would change.
    releaseClaim(dest);
    applier.finish();
  } catch (err) {
    await applier.dispose();
    restoreDestination(dest);
    throw applier.wrap(err);
  }
  return { rootfs: dest.root, layers: done, entries: applier.entries, bytesRead, warnings: applier.warnings, stats: { routes: applier.routes } };
}
