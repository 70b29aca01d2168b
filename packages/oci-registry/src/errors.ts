// Typed errors: every failure has a stable `code` and a message naming the reference or digest.

// The class marks its prototype with a registered symbol: every copy of this package (its ESM and
// CJS builds, two versions in one tree) has its own class, so `instanceof` misses the others'
// errors, but Symbol.for() keys are shared (oci-extract, which cannot depend on this package,
// recognises a RegistryError by this key). isRegistryError checks either.
const REGISTRY_ERROR = Symbol.for('@oci2lxc/oci-registry.RegistryError');

export type RegistryErrorCode =
  /** The string is not a valid image reference. */
  | 'INVALID_REFERENCE'
  /** Plain HTTP or an unverified certificate was needed but not allowed for this registry. */
  | 'INSECURE_REGISTRY'
  /** Connection refused, reset, dropped or timed out, after the retries. */
  | 'NETWORK_ERROR'
  /** An HTTP status the protocol does not expect (after the retries for 5xx). */
  | 'HTTP_ERROR'
  /** 401: no credentials, or credentials the registry or its token server refused. */
  | 'UNAUTHORIZED'
  /** 403: authenticated, but not allowed. */
  | 'DENIED'
  /** 404: no such repository, tag, manifest or blob. */
  | 'NOT_FOUND'
  /** 429 for longer than we are willing to wait. */
  | 'RATE_LIMITED'
  | 'MANIFEST_TOO_LARGE'
  /** A blob read into memory (an image config) whose descriptor is larger than the cap: refused unread. */
  | 'BLOB_TOO_LARGE'
  /** Docker image manifest schema 1 (deprecated, unsigned content): refused. */
  | 'UNSUPPORTED_SCHEMA1'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_MANIFEST'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  /** More redirects than allowed, or a redirect from https to http. */
  | 'BAD_REDIRECT'
  /** An auth file or credential helper could not be read or run. */
  | 'CREDENTIALS_ERROR'
  /** The blob cache directory could not be used. */
  | 'CACHE_ERROR'
  | 'ABORTED';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;
  /** The reference, digest or host the error is about. */
  readonly subject: string | undefined;
  /** The HTTP status, when the error comes from a response. */
  readonly status: number | undefined;

  constructor(code: RegistryErrorCode, message: string, options: { subject?: string; status?: number; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.subject = options.subject;
    this.status = options.status;
  }
}

/**
 * The RegistryError behind `err`, following `cause`: consumers such as oci-extract wrap the
 * errors of the streams they read, keeping the original as the cause.
 */
export function registryCause(err: unknown): RegistryError | undefined {
  let e: unknown = err;
  for (let i = 0; i < 8 && e instanceof Error; i++) {
    if (isRegistryError(e)) return e;
    e = e.cause;
  }
  return undefined;
}

Object.defineProperty(RegistryError.prototype, REGISTRY_ERROR, { value: true });

/** A RegistryError of any copy of this package. */
export function isRegistryError(err: unknown): err is RegistryError {
  return err instanceof RegistryError || (err instanceof Error && (err as unknown as Record<symbol, unknown>)[REGISTRY_ERROR] === true);
}
