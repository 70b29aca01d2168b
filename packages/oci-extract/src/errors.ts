// Typed errors: every failure has a stable `code`, the layer digest and the entry path it is about.

// The class marks its prototype with a registered symbol: every copy of this package (its ESM and
// CJS builds, two versions in one tree) has its own class, so `instanceof` misses the others'
// errors, but Symbol.for() keys are shared. isExtractError checks either.
const EXTRACT_ERROR = Symbol.for('@oci2lxc/oci-extract.ExtractError');

export type ExtractErrorCode =
  /** The uncompressed layer does not hash to the config's diff_id (a stored blob that does not hash
   * to its descriptor's digest is oci-tar-image's / oci-registry's DIGEST_MISMATCH). */
  | 'DIFF_ID_MISMATCH'
  /** A symlink loop, an entry replacing the rootfs, or a name the host cannot hold (NAME_MAX, PATH_MAX). */
  | 'UNSAFE_PATH'
  /** GNU sparse files, multi-volume parts, unknown typeflags, hardlinks to directories. */
  | 'UNSUPPORTED_ENTRY'
  /** An owner id outside the configured id map. */
  | 'ID_NOT_MAPPED'
  /** The destination exists and is not an empty directory. */
  | 'DESTINATION_NOT_EMPTY'
  /** The destination is a symlink, or its parent does not exist or is not a directory. */
  | 'INVALID_DESTINATION'
  /** ENOSPC or EDQUOT while writing. */
  | 'NO_SPACE'
  /** The AbortSignal fired. */
  | 'ABORTED'
  /** The layer is not a valid (compressed) tar: bad header, truncated, not the declared gzip/zstd, NUL in a name. */
  | 'CORRUPT_LAYER'
  /** A hardlink names a file that does not exist (in this or a lower layer). */
  | 'HARDLINK_TARGET_MISSING'
  /** An entry needs a parent directory, but a lower entry of that name is not a directory. */
  | 'NOT_A_DIRECTORY'
  /** setfattr failed for another reason than "not supported". */
  | 'XATTR_FAILED'
  /** A caller's argument or option is malformed (an `--idmap` spec, `writeStrategy`, `expectedDiffId`'s algorithm). */
  | 'INVALID_ARGUMENT'
  /** Any other file system error (EACCES, EIO, …). */
  | 'IO_ERROR';

export interface ExtractErrorOptions {
  /** Digest of the layer being applied (compressed digest, as in the manifest). */
  layer?: string;
  /** The entry path (as named in the layer) the error is about. */
  path?: string;
  cause?: unknown;
}

export class ExtractError extends Error {
  override readonly name = 'ExtractError';
  readonly code: ExtractErrorCode;
  readonly layer: string | undefined;
  readonly path: string | undefined;

  constructor(code: ExtractErrorCode, message: string, options: ExtractErrorOptions = {}) {
    const where = [options.layer ? `layer ${options.layer}` : '', options.path !== undefined ? `entry ${JSON.stringify(options.path)}` : '']
      .filter(Boolean)
      .join(', ');
    super(capMessage(where ? `${message} (${where})` : message), options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.layer = options.layer;
    this.path = options.path;
  }
}

/** The errno code (ENOENT, …) of a Node system error; undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errno?: unknown };
  return typeof e.code === 'string' && typeof e.errno === 'number' ? e.code : undefined;
}

/** A worker thread failing (crashed, terminated, exited): not the layer's fault, so the applier
 * reports it as IO_ERROR, never CORRUPT_LAYER. */
export class ThreadFailure extends Error {
  override readonly name = 'ThreadFailure';
}

export function threadFailure(message: string, cause?: unknown): ThreadFailure {
  return new ThreadFailure(message, cause === undefined ? undefined : { cause });
}

/** Longest error message kept: names from a layer can be a megabyte long (PAX). */
export const MAX_MESSAGE = 1024;

/** `message` cut to MAX_MESSAGE characters, saying how many were left out. */
export function capMessage(message: string): string {
  if (message.length <= MAX_MESSAGE) return message;
  return `${message.slice(0, MAX_MESSAGE)}… (${message.length - MAX_MESSAGE} more characters left out)`;
}

Object.defineProperty(ExtractError.prototype, EXTRACT_ERROR, { value: true });

/** An ExtractError of any copy of this package. */
export function isExtractError(err: unknown): err is ExtractError {
  return err instanceof ExtractError || (err instanceof Error && (err as unknown as Record<symbol, unknown>)[EXTRACT_ERROR] === true);
}
