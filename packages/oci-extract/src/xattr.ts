// Extended attributes. Node has no setxattr, and a native addon is not wanted, so the xattrs of
// one layer are collected and applied at the end of the layer by one `setfattr -h --restore=-`
// (package `attr`), fed a getfattr-style dump on stdin. `-h` never follows a leaf symlink. The
// batch runs after the files' chown (chown clears security.capability). Pending attributes of a
// path are dropped when the path is replaced or removed before the flush.
// A directory entry over an existing directory replaces its attributes (image-spec "changeset over
// existing files"; umoci clears them first), and a lower directory kept only as the parent of a
// layer's entries under a whiteout is a new, implicit directory: in both, the attributes already
// on disk are removed first (clearExisting: `getfattr` lists them, `setfattr -x` removes them,
// the directories passed as open file descriptors, so no image byte is ever in an argument).
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { ExtractError } from './errors.js';
import { assertByteString, bytes, display } from './paths.js';

/** Directories per getfattr/setfattr run (each an inherited file descriptor). */
const FDS_PER_RUN = 64;
/** Failures of removing an attribute that leave nothing to do (as umoci skips EPERM). */
const HARMLESS = /Operation not supported|Operation not permitted|No such attribute|No data available/;

export interface XattrWarning {
  message: string;
  path?: string;
}

/** getfattr/setfattr quoting: anything but printable ASCII, and the backslash, as \ooo. */
function quote(s: string): string {
  assertByteString(s); // a char above 0xFF would not be one \ooo byte
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x3d ? `\\${c.toString(8).padStart(3, '0')}` : s[i];
  }
  return out;
}

export class XattrBatch {
  private pending = new Map<string, Map<string, Buffer>>();
  /** Directories whose attributes on disk are removed before the pending ones are set. */
  private clearing = new Set<string>();
  /**
   * `fresh`: the rootfs was made (or found empty) by this extraction, so only paths this batch
   * gave attributes (`applied`) can have any; otherwise every path may.
   */
  private readonly applied: Set<string> | undefined;

  constructor(fresh = false) {
    this.applied = fresh ? new Set() : undefined;
  }

  get size(): number {
    return this.pending.size;
  }

  /** The attributes entry `rel` ends with (replacing any pending for it). */
  set(rel: string, attrs: Map<string, Buffer>): void {
    if (attrs.size > 0) this.pending.set(rel, attrs);
    else this.pending.delete(rel);
  }

  /** The existing directory `rel` is to lose the attributes it has now (see above). */
  clearExisting(rel: string): void {
    if (this.applied === undefined || this.applied.has(rel)) this.clearing.add(rel);
  }

  /** `rel` was removed (or replaced by a new file). */
  drop(rel: string): void {
    this.pending.delete(rel);
    this.clearing.delete(rel);
    this.applied?.delete(rel);
  }

  /** Directory `rel` was removed with everything below it. */
  dropTree(rel: string): void {
    if (rel === '') {
      this.pending.clear();
      this.clearing.clear();
      this.applied?.clear();
      return;
    }
    const prefix = `${rel}/`;
    for (const set of [this.pending, this.clearing, this.applied ?? new Set<string>()]) {
      if (set.size === 0) continue;
      for (const k of set.keys()) if (k === rel || k.startsWith(prefix)) set.delete(k);
    }
  }

  /**
   * Writes all pending attributes. `host(rel)` gives the byte-string host path. Attributes setfattr
   * reports as unsupported or not permitted become warnings; other failures throw XATTR_FAILED.
   */
  async flush(host: (rel: string) => string, warn: (w: XattrWarning) => void, layer: string | undefined): Promise<void> {
    if (this.clearing.size > 0) {
      const dirs = [...this.clearing];
      this.clearing.clear();
      for (let i = 0; i < dirs.length; i += FDS_PER_RUN) await removeAll(dirs.slice(i, i + FDS_PER_RUN).map(host), warn, layer);
    }
    if (this.pending.size === 0) return;
    const parts: Buffer[] = [];
    for (const [rel, attrs] of this.pending) {
      this.applied?.add(rel);
      let block = `# file: ${quote(host(rel))}\n`;
      for (const [name, value] of attrs) block += `${quote(name)}=0s${value.toString('base64')}\n`;
      parts.push(Buffer.from(`${block}\n`, 'latin1'));
    }
    this.pending.clear();
    const { code, stderr } = await run('setfattr', ['-h', '--restore=-'], [], Buffer.concat(parts), layer);
    if (code === 0) return;
    const fatal: string[] = [];
    for (const line of stderr.split('\n')) {
      if (line === '') continue;
      if (/Operation not supported|Operation not permitted/.test(line)) warn({ message: `xattr not applied: ${display(line)}` });
      else fatal.push(display(line));
    }
    if (fatal.length > 0 || stderr === '') {
      throw new ExtractError('XATTR_FAILED', `setfattr failed (exit ${code}): ${fatal.slice(0, 5).join('; ')}`, layer ? { layer } : {});
    }
  }
}

/** Runs an attr tool (argv only) with `fds` as its descriptors 3, 4, …; its stdout and stderr. */
async function run(cmd: string, args: string[], fds: number[], input: Buffer | undefined, layer: string | undefined): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe', ...fds] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('latin1');
    child.stderr!.on('data', (d: string) => {
      if (err.length < 1 << 20) err += d;
    });
    child.on('error', (e) => reject(new ExtractError('XATTR_FAILED', `cannot run ${cmd} (install the "attr" package): ${e.message}`, { ...(layer ? { layer } : {}), cause: e })));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    if (input) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(input);
    }
  });
}

/** Removes every extended attribute of the directories at `hosts` (byte-string host paths). */
async function removeAll(hosts: string[], warn: (w: XattrWarning) => void, layer: string | undefined): Promise<void> {
  const fds: number[] = [];
  try {
    for (const h of hosts) {
      try {
        fds.push(openSync(bytes(h), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW));
      } catch {
        // gone or not a directory any more: nothing to clear
      }
    }
    if (fds.length === 0) return;
    // In the child, descriptor 3 + i; /proc/self/fd/N leads to the directory itself.
    const paths = fds.map((_, i) => `/proc/self/fd/${i + 3}`);
    let listed;
    try {
      listed = await run('getfattr', ['--absolute-names', '-m', '-', ...paths], fds, undefined, layer);
    } catch (err) {
      // No `attr` package: then nothing here set xattrs either; a rootfs made elsewhere may keep some.
      warn({ message: `existing xattrs not checked: ${err instanceof Error ? err.message : String(err)}` });
      return;
    }
    const byName = new Map<string, string[]>();
    let current: string | undefined;
    for (const line of listed.stdout.split('\n')) {
      if (line.startsWith('# file: ')) current = line.slice('# file: '.length);
      else if (line !== '' && current !== undefined && paths.includes(current)) {
        const list = byName.get(line) ?? [];
        list.push(current);
        byName.set(line, list);
      }
    }
    for (const [name, where] of byName) {
      const { code, stderr } = await run('setfattr', ['-x', quote(name), ...where], fds, undefined, layer);
      if (code === 0) continue;
      const fatal = stderr.split('\n').filter((l) => l !== '' && !HARMLESS.test(l));
      if (fatal.length > 0) {
        throw new ExtractError('XATTR_FAILED', `setfattr -x failed (exit ${code}): ${fatal.slice(0, 5).map(display).join('; ')}`, layer ? { layer } : {});
      }
      if (stderr !== '') warn({ message: `xattr not removed: ${display(stderr.split('\n')[0]!)}` });
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
