// Opens an archive and selects one image: the first step of every command.
import { openImageArchive, type Image, type ImageArchive } from '@oci2lxc/oci-tar-image';

export interface Selection {
  platform?: string | undefined;
  ref?: string | undefined;
}

/** Runs `fn` with the selected image and always closes the archive afterwards. */
export async function withImage<T>(path: string, sel: Selection, fn: (image: Image, archive: ImageArchive) => Promise<T>): Promise<T> {
  const archive = await openImageArchive(path);
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
