/** A command-line usage error: exit status 2, with a hint to the command's help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** The CLI's own codes (the packages' codes pass through unchanged, lxc-container's container,
 * lock and network codes among them; see DEVELOPERS.md "Error codes"). */
export type CliErrorCode =
  /** The image argument is neither a file nor an image reference. */
  'NO_SUCH_IMAGE';

/** A failure of the CLI's own (not a package's) with a stable code: exit status 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The stable code of any error the packages throw, if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** Longest error message printed on the error line, in characters (hostile archives choose names and counts). */
export const MAX_ERROR_MESSAGE = 1024;

/** An error message as one line of at most MAX_ERROR_MESSAGE characters, saying how much was cut. */
export function errorLine(message: string): string {
  const line = message.replace(/\s*\n\s*/g, '; ').replace(/\t/g, ' ');
  if (line.length <= MAX_ERROR_MESSAGE) return line;
  return `${line.slice(0, MAX_ERROR_MESSAGE)}… (${line.length - MAX_ERROR_MESSAGE} more characters)`;
}

/** The full list an error carries when its message had to leave items out (`OciImageError.details`). */
export function errorDetails(err: unknown): { details?: string[] } {
  if (err && typeof err === 'object' && 'details' in err && Array.isArray(err.details) && err.details.every((d) => typeof d === 'string')) {
    return { details: err.details as string[] };
  }
  return {};
}
