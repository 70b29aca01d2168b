// The image entrypoint the LXC end-to-end tests run: it saves PID 1's exact argv, environment,
// cwd and ids under /out, then waits for a stop signal and records which one arrived.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export const recorderScript = `#!/bin/sh
B=/bin/busybox
$B cat /proc/1/cmdline > /out/cmdline
$B cat /proc/1/environ > /out/environ
$B readlink /proc/1/cwd > /out/cwd
$B id -u > /out/uid
$B id -g > /out/gid
$B id -G > /out/groups
for s in USR1 USR2 TERM QUIT HUP INT; do trap "echo $s > /out/signal; exit 0" $s; done
$B touch /out/ready
while :; do $B sleep 0.1; done
`;

export interface Recorded {
  argv: string[];
  env: string[];
  cwd: string;
  uid: string;
  gid: string;
  groups: string[];
  signal: string;
}

function waitFor(path: string, ms: number): boolean {
  const end = Date.now() + ms;
  while (Date.now() < end && !existsSync(path)) spawnSync('sleep', ['0.1']);
  return existsSync(path);
}

/** `lxc-start -d`, wait for the recorder, `lxc-stop` (delivers lxc.signal.halt), read what it saw. */
export function startAndRecord(name: string, lxcpath: string, logDir: string): Recorded {
  const rootfs = join(lxcpath, name, 'rootfs');
  const log = join(logDir, `${name}.log`);
  const start = spawnSync('lxc-start', ['-n', name, '-P', lxcpath, '-d', '-l', 'INFO', '-o', log], { encoding: 'utf8' });
  expect(start.status, `lxc-start: ${start.stderr}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`).toBe(0);
  expect(waitFor(join(rootfs, 'out/ready'), 20_000), 'entrypoint did not start').toBe(true);
  const stop = spawnSync('lxc-stop', ['-n', name, '-P', lxcpath, '-t', '20'], { encoding: 'utf8' });
  expect(stop.status, stop.stderr).toBe(0);
  const read = (f: string) => readFileSync(join(rootfs, 'out', f), 'utf8');
  return {
    argv: read('cmdline').split('\0').slice(0, -1),
    env: read('environ').split('\0').slice(0, -1),
    cwd: read('cwd').trim(),
    uid: read('uid').trim(),
    gid: read('gid').trim(),
    groups: read('groups').trim().split(' ').sort(),
    signal: existsSync(join(rootfs, 'out/signal')) ? read('signal').trim() : '(none)',
  };
}
