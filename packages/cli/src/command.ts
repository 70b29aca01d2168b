/** Where a command writes, and how it learns of Ctrl-C. */
export interface Io {
  stdout: { write(chunk: string): boolean };
  stderr: { write(chunk: string): boolean; isTTY?: boolean };
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  help: string;
  /** Resolves to the exit status; throws UsageError (2) or a coded error (1). */
  run(argv: string[], io: Io): Promise<number>;
}
