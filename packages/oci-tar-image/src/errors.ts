// Typed errors: every failure has a stable `code` and a message naming the digest or path.
import { capMessage } from './message.js';

// The class marks its prototype with a registered symbol: every copy of this package (its ESM and
// CJS builds, two versions in one tree) has its own class, so `instanceof` misses the others'
// errors, but Symbol.for() keys are shared. isOciImageError checks either.
const OCI_IMAGE_ERROR = Symbol.for('@oci2lxc/oci-tar-image.OciImageError');

export type OciImageErrorCode =
  | 'NOT_AN_IMAGE'
  | 'ARCHIVE_NOT_FOUND'
  | 'ARCHIVE_UNREADABLE'
  | 'TRUNCATED_ARCHIVE'
  | 'INVALID_TAR'
  | 'INVALID_JSON'
  | 'INVALID_MANIFEST'
  | 'INVALID_DIGEST'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'MISSING_BLOB'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NO_MATCHING_PLATFORM'
  | 'NO_MATCHING_REF'
  | 'AMBIGUOUS_IMAGE'
  | 'INDEX_TOO_DEEP'
  | 'LINK_LOOP'
  /** A platform string that cannot be parsed (`parsePlatform`). */
  | 'INVALID_PLATFORM'
  /** A member the image needs is in the archive more than once (readers disagree on which counts). */
  | 'DUPLICATE_ENTRY'
  /** Nested indexes list more descriptors than `OpenOptions.maxDescriptors`. */
  | 'INDEX_TOO_LARGE'
  /** The archive is compressed with something other than gzip or zstd (or not decompressible). */
  | 'UNSUPPORTED_COMPRESSION'
  /** A compressed archive decompresses to more than `OpenOptions.maxDecompressedSize`. */
  | 'ARCHIVE_TOO_LARGE'
  /** `OpenOptions.signal` was aborted while the archive was being opened. */
  | 'ABORTED';

export class OciImageError extends Error {
  override readonly name = 'OciImageError';
  readonly code: OciImageErrorCode;
  /** The digest or archive path the error is about, when there is one. */
  readonly subject: string | undefined;

  /**
   * The full list behind a message that had to leave items out (e.g. every image an archive
   * offers, for `NO_MATCHING_PLATFORM`); undefined when the message says everything.
   */
  readonly details: readonly string[] | undefined;

  /** Messages are capped at MAX_MESSAGE characters (hostile archives choose names and counts). */
  constructor(code: OciImageErrorCode, message: string, options: { subject?: string; cause?: unknown; details?: readonly string[] } = {}) {
    super(capMessage(message), options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.subject = options.subject;
    this.details = options.details;
  }
}

/** The error for an aborted open: `ABORTED`, with the signal's reason as the cause. */
export function abortedError(archivePath: string, signal: AbortSignal): OciImageError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? `: ${reason.message}` : '';
  return new OciImageError('ABORTED', `${archivePath}: opening the archive was aborted${why}`, { subject: archivePath, cause: reason });
}

/**
 * Runs `fn` (a pure check such as parseManifest or validateDigest, which know nothing of
 * archives) and prefixes the archive's path to the message of an OciImageError it throws.
 */
export function inArchive<T>(archivePath: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof OciImageError) || err.message.startsWith(`${archivePath}: `)) throw err;
    throw new OciImageError(err.code, `${archivePath}: ${err.message}`, {
      ...(err.subject !== undefined ? { subject: err.subject } : {}),
      ...(err.details !== undefined ? { details: err.details } : {}),
      cause: err,
    });
  }
}

Object.defineProperty(OciImageError.prototype, OCI_IMAGE_ERROR, { value: true });

/** An OciImageError of any copy of this package. */
export function isOciImageError(err: unknown): err is OciImageError {
  return err instanceof OciImageError || (err instanceof Error && (err as unknown as Record<symbol, unknown>)[OCI_IMAGE_ERROR] === true);
}
