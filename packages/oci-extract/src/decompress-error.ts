// Errors of the decompression stages, told apart from file system errors: they mean the layer's
// bytes are not what its media type says (CORRUPT_LAYER), never an I/O problem.

import type { Compression } from '@oci2lxc/oci-tar-image';

export type { Compression }; // declared once, by the image's Layer type

/** The stream is not valid gzip/zstd data (bad header, corrupt, empty or truncated stream). */
export class DecompressError extends Error {
  override readonly name = 'DecompressError';
  constructor(
    readonly compression: Compression,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** zlib's errors carry `Z_DATA_ERROR`, `Z_BUF_ERROR` (truncated), … as their code. */
export function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('Z_');
}
