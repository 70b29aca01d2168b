// A cheap "is this an image archive?" check: a bounded scan of the first tar headers.
import { CountingFile } from './file-source.js';
import { readJsonFile } from './json-blob.js';
import { openArchiveFile } from './open-file.js';
import { indexTar, type TarEntry } from './tar-index.js';

/** Headers scanned at most (docker archives put manifest.json after all layers: ~4 entries per layer). */
const MAX_HEADERS = 20_000;
/** Members that no image archive has; this many of them and it is a plain tarball. */
const MAX_STRANGERS = 8;

const IMAGE_MEMBER =
  /^(?:oci-layout|index\.json|manifest\.json|repositories|blobs(?:\/[a-z0-9+._-]+(?:\/[a-zA-Z0-9=_-]+)?)?|[a-f0-9]{64}(?:\.json|\.tar|\/(?:layer\.tar|VERSION|json))?|)$/;

/**
 * True when `path` looks like an OCI image layout tar or a Docker archive. Reads only headers
 * (up to a bound) and the small index.json / manifest.json; never throws (false on any error,
 * a plain tarball or a file that is not a tar at all).
 */
export async function isImageArchive(path: string): Promise<boolean> {
  let handle;
  let size: number;
  try {
    ({ handle, size } = await openArchiveFile(path));
  } catch {
    return false;
  }
  try {
    const file = new CountingFile(handle);
    let strangers = 0;
    let found: string | undefined;
    const index = await indexTar(file, size, {
      archivePath: path,
      maxEntries: MAX_HEADERS,
      onEntry: (e: TarEntry) => {
        if (e.path === 'index.json' || e.path === 'manifest.json') {
          found = e.path;
          return false;
        }
        if (!IMAGE_MEMBER.test(e.path)) strangers++;
        return strangers < MAX_STRANGERS;
      },
    });
    if (found === undefined) return false;
    const json = await readJsonFile({ path, file, index }, found);
    const v = json?.value;
    if (found === 'manifest.json') return Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'object' && e !== null && 'Config' in e && 'Layers' in e);
    return typeof v === 'object' && v !== null && Array.isArray((v as { manifests?: unknown }).manifests);
  } catch {
    return false;
  } finally {
    await handle.close().catch(() => undefined);
  }
}
