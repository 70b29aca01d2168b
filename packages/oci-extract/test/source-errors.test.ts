// Errors of the image source (oci-tar-image's verified blob streams) keep their own code when the
// tar reader or the applier is mid-entry at the time: the source's verdict explains what they saw.
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { file, tempDir, writeArchive } from '@oci2lxc/fixtures';
import { openImageArchive } from '@oci2lxc/oci-tar-image';
import { extractImage } from '../src/index.js';

let work: { path: string; cleanup: () => void };
beforeEach(() => {
  work = tempDir('oci-extract-source-errors-');
});
afterEach(() => work.cleanup());

describe('an archive cut short after it was opened', () => {
  it.each(['none', 'gzip'] as const)('is TRUNCATED_ARCHIVE naming the layer (%s layer, cut inside a 2 MiB file)', async (compression) => {
    const path = join(work.path, 'image.tar');
    // One layer, the archive's last blob in the OCI layout written by the fixtures: cutting the
    // file's tail cuts that layer in the middle of its big file.
    const built = writeArchive({ images: [{ layers: [{ entries: [file('big', randomBytes(2 << 20))], compression }] }] }, path);
    const archive = await openImageArchive(path);
    try {
      const image = await archive.selectImage();
      truncateSync(path, statSync(path).size - (1 << 20));
      const rootfs = join(work.path, 'rootfs');
      const err = await extractImage(image, rootfs).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string },
      );
      expect(err?.code, err?.message).toBe('TRUNCATED_ARCHIVE');
      expect(err?.message).toContain(built.images[0]!.layers[0]!.digest);
      expect(existsSync(rootfs)).toBe(false);
    } finally {
      await archive.close();
    }
  });
});
