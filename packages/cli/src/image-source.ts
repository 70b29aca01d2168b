// Opens an archive and selects one image: the first step of every command.
import { openImageArchive, parsePlatform, type Image, type ImageArchive } from '@oci2lxc/oci-tar-image';
import { UsageError } from './errors.js';

export interface Selection {
  platform?: string | undefined;
  ref?: string | undefined;
  /** Ctrl-C / SIGTERM: aborts opening the archive too (a hostile archive may take a while). */
  signal?: AbortSignal | undefined;
}

/** Runs `fn` with the selected image and always closes the archive afterwards. */
export async function withImage<T>(path: string, sel: Selection, fn: (image: Image, archive: ImageArchive) => Promise<T>): Promise<T> {
  if (sel.platform !== undefined) checkPlatform(sel.platform);
  const archive = await openImageArchive(path, sel.signal !== undefined ? { signal: sel.signal } : {});
  try {
    const image = await archive.selectImage({
      ...(sel.platform !== undefined ? { platform: sel.platform } : {}),
      ...(sel.ref !== undefined ? { ref: sel.ref } : {}),
    });
    return await fn(image, archive);
  } finally {
    await archive.close();
  }
}

/** A malformed --platform is the user's typo, not a broken archive: a usage error. */
export function checkPlatform(value: string): void {
  try {
    parsePlatform(value);
  } catch (err) {
    throw new UsageError(`--platform: ${err instanceof Error ? err.message : String(err)} (expected os/arch[/variant], e.g. linux/arm64/v8)`);
  }
}
