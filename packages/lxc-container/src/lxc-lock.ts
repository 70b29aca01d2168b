// LXC's own view of a container, taken the way LXC 5.0 takes it (src/lxc/lxclock.c,
// commands_utils.c): the container lock file that lxc-start (while it loads the config),
// lxc-destroy, lxc-copy and lxc-snapshot hold, and the command socket of a running container.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { ContainerError } from './errors.js';
import { lockFile, type HeldLock } from './file-lock.js';

/** LXC's get_rundir(): /run when we own it (root), else $XDG_RUNTIME_DIR or ~/.cache/lxc/run. */
function lxcRunDir(): string | undefined {
  try {
    const st = statSync('/run');
    if (process.geteuid?.() === st.uid || process.getegid?.() === st.gid) return '/run';
  } catch {
    // no /run: as LXC, fall through
  }
  if (process.env.XDG_RUNTIME_DIR) return process.env.XDG_RUNTIME_DIR;
  return process.env.HOME ? `${process.env.HOME}/.cache/lxc/run/` : undefined;
}

/**
 * lxclock_name(): "<rundir>/lxc/lock/<lxcpath>/.<name>". LXC joins the strings as given, so the
 * lock is shared only with LXC tools that are given the same absolute lxcpath (as `-P` or as
 * lxc.lxcpath); that is how LXC's tools share it among themselves too.
 */
export function lxcLockPath(lxcpath: string, name: string): string | undefined {
  const run = lxcRunDir();
  return run === undefined ? undefined : `${run}/lxc/lock/${lxcpath}/.${name}`;
}

/** Takes LXC's container lock, waiting up to `timeoutMs` (lxc-start holds it only briefly). */
export async function lockLxcContainer(lxcpath: string, name: string, timeoutMs: number): Promise<HeldLock | 'busy'> {
  const path = lxcLockPath(lxcpath, name);
  if (path === undefined) return { previous: '', release: async () => {} };
  // As lxclock_name(): mkdir -p with 0755.
  try {
    mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new ContainerError('LOCK_FAILED', `cannot take LXC's lock on container '${name}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return lockFile(path, { wait: true, timeoutMs });
}

/** FNV-1a, 64 bit: LXC hashes "<lxcpath>/<name>" with it when the socket name would be too long. */
function fnv1a64(bytes: Buffer): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

/** The abstract name of a container's command socket, as lxc_make_abstract_socket_name() makes it. */
export function commandSocketName(lxcpath: string, name: string): string {
  const plain = `${lxcpath}/${name}/command`;
  // sun_path is 108 bytes; LXC keeps one for the leading NUL and one for a trailing one.
  if (Buffer.byteLength(plain) < 106) return plain;
  return `lxc/${fnv1a64(Buffer.from(`${lxcpath}/${name}`)).toString(16).padStart(16, '0')}/command`;
}

/**
 * Whether the container's monitor (lxc-start) is up: its command socket is bound. Read from
 * /proc/net/unix rather than connected to, because Node pads abstract socket names to the full
 * sun_path length and so cannot reach LXC's, and because `lxc-info` would wait for the container
 * lock that the caller may be holding. /proc/net/unix shows this network namespace's sockets:
 * lxc-start's monitor runs in the host's.
 */
export function commandSocketBound(lxcpath: string, name: string): boolean {
  const want = `@${commandSocketName(lxcpath, name)}`;
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return false;
  }
  for (const line of table.split('\n')) {
    // Num RefCount Protocol Flags Type St Inode Path: the path is what follows the seventh field.
    const m = /^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s(.*)$/.exec(line);
    if (m && m[1] === want) return true;
  }
  return false;
}
