// Device nodes and FIFOs. Node has no mknod(2), so coreutils `mknod` is run, argv only (no shell
// ever sees a name from the layer): one process per node (a few ms each; images carry a handful of
// nodes at most). The node is made at a fresh ASCII name in the target directory, reached through
// the directory's open file descriptor (`/proc/self/fd/3/<name>` in the child), so no byte of the
// layer's names is ever on a command line; the caller then renames it to its real name by bytes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';

export type NodeKind = 'c' | 'b' | 'p';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** A temporary ASCII name for a node being made (random: never one the layer chose). */
export function tempNodeName(): string {
  return `.oci2lxc-mknod-${randomBytes(8).toString('hex')}`;
}

/**
 * Makes a node named `temp` (ASCII, must not exist) with mode 0600 in the directory `dir` (a
 * Buffer path of a real directory; never followed if it is a symlink). Resolves to undefined on
 * success, else to mknod's error text.
 */
export async function makeNode(dir: Buffer, temp: string, kind: NodeKind, major: number, minor: number): Promise<string | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(temp)) throw new Error(`internal error: temporary node name ${JSON.stringify(temp)} is not plain ASCII`);
  for (const n of [major, minor]) if (!Number.isSafeInteger(n) || n < 0) return `invalid device number ${n}`;
  const fd = openSync(dir, DIR_FLAGS);
  try {
    const args = ['-m', '600', '--', `/proc/self/fd/3/${temp}`, kind, ...(kind === 'p' ? [] : [String(major), String(minor)])];
    return await new Promise<string | undefined>((resolve) => {
      const child = spawn('mknod', args, { stdio: ['ignore', 'ignore', 'pipe', fd], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } });
      let err = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => {
        if (err.length < 4096) err += d;
      });
      child.on('error', (e) => resolve(`cannot run mknod: ${e.message}`));
      child.on('close', (code, sig) => resolve(code === 0 ? undefined : err.trim() || `mknod exited with ${code ?? sig}`));
    });
  } finally {
    closeSync(fd);
  }
}
