// Errors of @oci2lxc/oci-tar-image (a compressed digest or size that does not match, a truncated
// archive) explain whatever the reader then saw, and keep their own code.

/** An OciImageError. By name and code, not instanceof: the image may come from another copy of
 * @oci2lxc/oci-tar-image (its ESM and CJS builds, or another version), whose class is not ours. */
export function isOciImageError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && err.name === 'OciImageError' && typeof (err as { code?: unknown }).code === 'string';
}
