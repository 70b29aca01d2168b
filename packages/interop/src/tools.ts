// Running the real tools (umoci, skopeo, podman, tar) with errors that show their stderr.
import { execFileSync, spawnSync } from 'node:child_process';

export class ToolError extends Error {
  override readonly name = 'ToolError';
  readonly code = 'TOOL_FAILED';
  readonly status: number | null;
  readonly stderr: string;
  constructor(command: string, status: number | null, stderr: string) {
    super(`${command} failed (exit ${status}): ${stderr.trim().slice(0, 2000)}`);
    this.status = status;
    this.stderr = stderr;
  }
}

/** Runs a command, returns its stdout; throws ToolError (with stderr) on a non-zero exit. */
export function run(cmd: string, args: readonly string[], options: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  if (r.error) throw new ToolError(`${cmd} ${args.join(' ')}`, null, r.error.message);
  if (r.status !== 0) throw new ToolError(`${cmd} ${args.join(' ')}`, r.status, `${r.stderr}`);
  return r.stdout;
}

/** True when `cmd` is on PATH. */
export function hasTool(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** skopeo with a permissive policy (local files only) so no /etc/containers setup is needed. */
export function skopeo(args: readonly string[]): string {
  return run('skopeo', ['--insecure-policy', ...args]);
}

export function umoci(args: readonly string[]): string {
  return run('umoci', ['--log', 'error', ...args]);
}
