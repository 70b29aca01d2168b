// Errors of the image source — @oci2lxc/oci-tar-image (a compressed digest or size that does not
// match, a truncated archive) or @oci2lxc/oci-registry (a blob that failed on the network) —
// explain whatever the reader then saw, and keep their own code.
import { isOciImageError } from '@oci2lxc/oci-tar-image';

// oci-registry depends on this package, not the other way: its RegistryError is recognised by the
// registered symbol its prototype carries (see isRegistryError there), which every copy shares.
const REGISTRY_ERROR = Symbol.for('@oci2lxc/oci-registry.RegistryError');

/** An OciImageError or RegistryError, of any copy of those packages (not instanceof: the image may
 * come from another copy of the source package — its ESM and CJS builds, or another version). */
export function isSourceError(err: unknown): err is Error & { code: string } {
  if (isOciImageError(err)) return true;
  return err instanceof Error && (err as unknown as Record<symbol, unknown>)[REGISTRY_ERROR] === true && typeof (err as { code?: unknown }).code === 'string';
}
