// Errors of the image source — @oci2lxc/oci-tar-image (a compressed digest or size that does not
// match, a truncated archive) or @oci2lxc/oci-registry (a blob that failed on the network) —
// explain whatever the reader then saw, and keep their own code.

/** An OciImageError or RegistryError. By name and code, not instanceof: the image may come from
 * another copy of the source package (its ESM and CJS builds, or another version), whose class is not ours. */
export function isOciImageError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && (err.name === 'OciImageError' || err.name === 'RegistryError') && typeof (err as { code?: unknown }).code === 'string';
}
