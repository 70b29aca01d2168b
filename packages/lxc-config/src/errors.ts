// The class marks its prototype with a registered symbol: every copy of this package (its ESM and
// CJS builds, two versions in one tree) has its own class, so `instanceof` misses the others'
// errors, but Symbol.for() keys are shared. isLxcConfigError checks either.
const LXC_CONFIG_ERROR = Symbol.for('@oci2lxc/lxc-config.LxcConfigError');

/** Stable error codes of {@link LxcConfigError}. */
export type LxcConfigErrorCode =
  | 'EMPTY_COMMAND'
  | 'UNREPRESENTABLE_ARGV'
  | 'NO_SHELL'
  | 'UNSUPPORTED_SHELL'
  | 'UNKNOWN_USER'
  | 'UNKNOWN_GROUP'
  | 'UNKNOWN_SIGNAL'
  /** An argument (an image-config field, an override, an option; `field` names it) is malformed or
   * cannot be written as LXC config. */
  | 'INVALID_ARGUMENT'
  | 'INVALID_KEY'
  /** A path inside the rootfs cannot be used safely (a symlink loop, not a regular file or directory,
   * changed while being opened): the same code as oci-extract's for an entry path. */
  | 'UNSAFE_PATH'
  | 'LXC_NOT_FOUND';

/** Every error this package throws on bad input. `field` names the image-config field (e.g. `Cmd[2]`, `Env[0]`, `User`). */
export class LxcConfigError extends Error {
  override readonly name = 'LxcConfigError';
  readonly code: LxcConfigErrorCode;
  readonly field: string | undefined;

  constructor(code: LxcConfigErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.field = field;
  }
}

/** Quote a value for an error message so control characters and spaces are visible. */
export function show(value: string): string {
  return JSON.stringify(value);
}

Object.defineProperty(LxcConfigError.prototype, LXC_CONFIG_ERROR, { value: true });

/** An LxcConfigError of any copy of this package. */
export function isLxcConfigError(err: unknown): err is LxcConfigError {
  return err instanceof LxcConfigError || (err instanceof Error && (err as unknown as Record<symbol, unknown>)[LXC_CONFIG_ERROR] === true);
}
