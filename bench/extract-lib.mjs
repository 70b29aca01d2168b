#!/usr/bin/env node
// Fallback for the benchmark while the CLI has no `extract`: openImageArchive → selectImage →
// extractImage, exactly what `oci2lxc extract` does, without the CLI around it.
// Usage: [OCI_EXTRACT_WRITE_MODE=auto|thread|pool|sync] node bench/extract-lib.mjs <archive> <rootfs>
// (the environment is read here, at the edge: the library takes the `writeStrategy` option)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { openImageArchive } = await import(join(root, 'packages/oci-tar-image/dist/index.js'));
const { extractImage } = await import(join(root, 'packages/oci-extract/dist/index.js'));
const [archivePath, rootfs] = process.argv.slice(2);
if (!archivePath || !rootfs) {
  process.stderr.write('usage: extract-lib.mjs <archive> <rootfs>\n');
  process.exit(2);
}
const archive = await openImageArchive(archivePath);
try {
  const mode = process.env.OCI_EXTRACT_WRITE_MODE;
  await extractImage(await archive.selectImage(), rootfs, mode ? { writeStrategy: { mode } } : {});
} finally {
  await archive.close();
}
