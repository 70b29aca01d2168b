// Errors with a stable `code`, so callers can tell a caller bug from a file that changed under us.

// Each class marks its prototype with a registered symbol: every copy of this package (its ESM and
// CJS builds, two versions in one tree) has its own classes, so `instanceof` misses the others'
// errors, but Symbol.for() keys are shared. The guards below check either.
const RANGE_READER_ERROR = Symbol.for('@oci2lxc/range-reader.RangeReaderError');
const SHORT_READ_ERROR = Symbol.for('@oci2lxc/range-reader.ShortReadError');

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

Object.defineProperty(RangeReaderError.prototype, RANGE_READER_ERROR, { value: true });
Object.defineProperty(ShortReadError.prototype, SHORT_READ_ERROR, { value: true });

/** A RangeReaderError of any copy of this package. */
export function isRangeReaderError(err: unknown): err is RangeReaderError {
  return err instanceof RangeReaderError || (err instanceof Error && (err as unknown as Record<symbol, unknown>)[RANGE_READER_ERROR] === true);
}

/** A ShortReadError of any copy of this package. */
export function isShortReadError(err: unknown): err is ShortReadError {
  return err instanceof ShortReadError || (err instanceof Error && (err as unknown as Record<symbol, unknown>)[SHORT_READ_ERROR] === true);
}
