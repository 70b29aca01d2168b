// Errors with a stable `code`, so callers can tell a caller bug from a file that changed under us.

export type RangeReaderErrorCode = 'INVALID_RANGE' | 'NEGATIVE_POSITION' | 'INVALID_ARGUMENT';

/** A bad argument: a range outside the file or reader, a seek before the start, a bad buffer slice. */
export class RangeReaderError extends RangeError {
  override readonly name = 'RangeReaderError';
  readonly code: RangeReaderErrorCode;

  constructor(code: RangeReaderErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The file returned fewer bytes than the range promised (it was truncated or replaced while the
 * reader was open). Raised instead of retrying forever.
 */
export class ShortReadError extends Error {
  override readonly name = 'ShortReadError';
  readonly code = 'SHORT_READ' as const;
  /** Absolute file offset at which the file ended early. */
  readonly filePosition: number;
  /** Bytes that were still expected from that offset. */
  readonly missing: number;

  constructor(filePosition: number, missing: number) {
    super(`unexpected end of file at offset ${filePosition}: ${missing} more byte(s) expected (file truncated while reading?)`);
    this.filePosition = filePosition;
    this.missing = missing;
  }
}
