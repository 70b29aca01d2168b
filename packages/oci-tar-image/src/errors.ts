// Typed errors: every failure has a stable `code` and a message naming the digest or path.

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
  | 'INVALID_PLATFORM';

export class OciImageError extends Error {
  override readonly name = 'OciImageError';
  readonly code: OciImageErrorCode;
  /** The digest or archive path the error is about, when there is one. */
  readonly subject: string | undefined;

  constructor(code: OciImageErrorCode, message: string, options: { subject?: string; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.subject = options.subject;
  }
}
