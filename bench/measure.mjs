// Runs one command and measures wall time (here, with hrtime), user+sys CPU time and peak RSS.
// CPU and RSS come from GNU time (`/usr/bin/time`, Debian package `time`): it reads the child's
// rusage from wait4(), which also covers the children it waited for (tar's gzip, the shell's
// commands). Node cannot get a child's rusage itself (process.resourceUsage() is the parent's).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';

/** True when GNU time is installed (`apt-get install time`). */
export const hasGnuTime = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;

const scratch = mkdtempSync(join(tmpdir(), 'oci2lxc-bench-time-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/**
 * Runs `cmd args` with stdout discarded. Returns { wall, user, sys, cpu, rssMiB } (seconds and
 * MiB; cpu/user/sys/rssMiB are null without GNU time). Throws when the command fails.
 */
export function measure(cmd, args, options = {}) {
  const out = join(scratch, 'time.txt');
  const argv = hasGnuTime ? ['-f', '%U %S %M', '-o', out, cmd, ...args] : args;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(hasGnuTime ? GNU_TIME : cmd, argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    ...(options.env ? { env: options.env } : {}),
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error || r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.error?.message ?? r.stderr ?? '').trim().slice(-2000)}`);
  }
  if (!hasGnuTime) return { wall, user: null, sys: null, cpu: null, rssMiB: null };
  // GNU time puts "Command exited with non-zero status" lines first; the numbers are last.
  const last = readFileSync(out, 'utf8').trim().split('\n').pop() ?? '';
  const [user, sys, rssKiB] = last.split(/\s+/).map(Number);
  return { wall, user, sys, cpu: user + sys, rssMiB: rssKiB / 1024 };
}

export function median(values) {
  const v = values.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
