// Runs the built oci2lxc binary as a user would: a child process, real files.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dir, file, type TarEntry } from '@oci2lxc/fixtures';

export const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const templateBin = fileURLToPath(new URL('../dist/lxc-template.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--', bin, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    input: opts.input ?? '',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI without waiting, for signal tests. */
export function startCli(args: string[]) {
  return spawn(process.execPath, ['--', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), returning everything it printed. */
export function runCliOnTty(args: string[]): CliResult {
  const cmd = [process.execPath, '--', bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qefc', cmd, '/dev/null'], { encoding: 'utf8', input: '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const isRoot = process.getuid?.() === 0;

/** Six layers of 4,000 small files: an extraction that takes long enough to be interrupted. */
export function slowLayers(): TarEntry[][] {
  return Array.from({ length: 6 }, (_, l) => [dir(`d${l}`), ...Array.from({ length: 4000 }, (_, i) => file(`d${l}/f${i}`, `${l}-${i}`))]);
}

/** Starts the CLI, sends SIGINT once the first layer's progress line appears; resolves to its exit status and stderr. */
export async function interruptCli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = startCli(args);
  let stderr = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) =>
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('layer 1/')) resolve();
    }),
  );
  child.kill('SIGINT');
  const status = await exit;
  return { status, stderr };
}
