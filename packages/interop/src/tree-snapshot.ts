// Snapshot of a directory tree (lstat only, symlinks never followed) and a differ, so a rootfs
// made by oci2lxc can be compared with one made by umoci, field by field.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readlinkSync, openSync, readSync, closeSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

export type NodeType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** What is known about one path of the tree. Relative paths; the root is `.`. */
export interface TreeNode {
  path: string;
  type: NodeType;
  /** Permission bits including setuid, setgid and sticky (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Regular files only (directory sizes depend on the file system). */
  size?: number;
  /** sha256 of a regular file's content. */
  sha256?: string;
  /** Symlink target, verbatim. */
  linkTarget?: string;
  /** `major:minor` of a device node. */
  device?: string;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Extended attributes, name → base64 value (empty when none, or when not read). */
  xattrs: Record<string, string>;
  /**
   * Non-directories with several names in the tree: every name of the inode, sorted, joined by
   * `\n`. Equal on two trees exactly when the hardlink groups are the same sets of paths.
   */
  linkGroup?: string;
}

export interface TreeSnapshot {
  root: string;
  /** Sorted by path; `.` first. */
  nodes: Map<string, TreeNode>;
}

export interface SnapshotOptions {
  /** Read extended attributes with getfattr (package `attr`). Default true. */
  xattrs?: boolean;
}

function typeOf(st: BigIntStats): NodeType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

function hashFile(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

// Linux dev_t encoding (glibc's gnu_dev_major / gnu_dev_minor).
function major(dev: bigint): bigint {
  return ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
}
function minor(dev: bigint): bigint {
  return (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
}

/** getfattr escapes unusual bytes in names as `\ooo` octal. */
function unescapeOctal(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else {
      bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * All extended attributes under `root` (one getfattr process for the whole tree), keyed by
 * absolute path. `-h`: a symlink's own attributes; `-m -`: every namespace, not only user.*.
 */
export function readAllXattrs(root: string): Map<string, Record<string, string>> {
  const out = execFileSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', root], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const result = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      result.set(unescapeOctal(line.slice(8)), current);
    } else if (current && line.length > 0) {
      const eq = line.indexOf('=');
      const name = unescapeOctal(eq < 0 ? line : line.slice(0, eq));
      let value = eq < 0 ? '' : line.slice(eq + 1);
      // getfattr prints base64 as 0s…, and short printable values may still come quoted.
      if (value.startsWith('0s')) value = value.slice(2);
      else if (value.startsWith('"')) value = Buffer.from(JSON.parse(value) as string, 'utf8').toString('base64');
      current[name] = value;
    }
  }
  return result;
}

/** Walks `root` with lstat (never following symlinks) and records every path's metadata. */
export function snapshotTree(root: string, options: SnapshotOptions = {}): TreeSnapshot {
  const nodes = new Map<string, TreeNode>();
  const inodes = new Map<string, string[]>();
  const xattrs = options.xattrs === false ? new Map<string, Record<string, string>>() : readAllXattrs(root);
  const rootXattrKey = root.replace(/\/+$/, '');

  const visit = (rel: string): void => {
    const abs = rel === '.' ? root : join(root, rel);
    const st = lstatSync(abs, { bigint: true });
    const type = typeOf(st);
    const node: TreeNode = {
      path: rel,
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtimeNs: st.mtimeNs,
      xattrs: xattrs.get(rel === '.' ? rootXattrKey : join(rootXattrKey, rel)) ?? {},
    };
    if (type === 'file') {
      node.size = Number(st.size);
      node.sha256 = hashFile(abs);
    } else if (type === 'symlink') {
      node.linkTarget = readlinkSync(abs, { encoding: 'buffer' }).toString('utf8');
    } else if (type === 'char' || type === 'block') {
      node.device = `${major(st.rdev)}:${minor(st.rdev)}`;
    }
    if (type !== 'dir' && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const names = inodes.get(key);
      if (names) names.push(rel);
      else inodes.set(key, [rel]);
    }
    nodes.set(rel, node);
    if (type === 'dir') {
      const names = readdirSync(abs, { encoding: 'buffer' }).map((n) => n.toString('utf8'));
      names.sort();
      for (const name of names) visit(rel === '.' ? name : `${rel}/${name}`);
    }
  };
  visit('.');

  for (const names of inodes.values()) {
    if (names.length < 2) continue;
    const group = [...names].sort().join('\n');
    for (const n of names) nodes.get(n)!.linkGroup = group;
  }
  return { root, nodes };
}

export type CompareField = 'type' | 'mode' | 'owner' | 'size' | 'content' | 'linkTarget' | 'device' | 'xattrs' | 'linkGroup' | 'mtime';

export const ALL_FIELDS: readonly CompareField[] = ['type', 'mode', 'owner', 'size', 'content', 'linkTarget', 'device', 'xattrs', 'linkGroup', 'mtime'];

export interface DiffOptions {
  /** Fields to compare (default: all). */
  fields?: readonly CompareField[];
  /** Skip a field for some nodes (e.g. directory mtimes); return true to skip. */
  skip?: (field: CompareField, node: TreeNode) => boolean;
  /** Paths left out on both sides (exact relative paths). */
  ignorePaths?: readonly string[];
  /**
   * Compare mtimes truncated to this many nanoseconds (default 1: exact). Node's utimes takes
   * seconds as a double, so a Node extractor cannot set every nanosecond a PAX header names.
   */
  mtimeResolutionNs?: number;
}

export interface Difference {
  path: string;
  field: CompareField | 'missing' | 'extra';
  expected?: string;
  actual?: string;
}

function fieldValue(field: CompareField, n: TreeNode, mtimeResolutionNs: bigint): string {
  switch (field) {
    case 'type':
      return n.type;
    case 'mode':
      return `0${n.mode.toString(8)}`;
    case 'owner':
      return `${n.uid}:${n.gid}`;
    case 'size':
      return n.size === undefined ? '-' : String(n.size);
    case 'content':
      return n.sha256 ?? '-';
    case 'linkTarget':
      return n.linkTarget ?? '-';
    case 'device':
      return n.device ?? '-';
    case 'xattrs':
      return JSON.stringify(Object.fromEntries(Object.entries(n.xattrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    case 'linkGroup':
      return n.linkGroup === undefined ? '-' : n.linkGroup.split('\n').join(', ');
    case 'mtime':
      return ((n.mtimeNs / mtimeResolutionNs) * mtimeResolutionNs).toString();
  }
}

/** Every difference between two snapshots, in path order; empty when the trees are identical. */
export function diffSnapshots(expected: TreeSnapshot, actual: TreeSnapshot, options: DiffOptions = {}): Difference[] {
  const fields = options.fields ?? ALL_FIELDS;
  const ignored = new Set(options.ignorePaths ?? []);
  const res = BigInt(options.mtimeResolutionNs ?? 1);
  const diffs: Difference[] = [];
  const paths = [...new Set([...expected.nodes.keys(), ...actual.nodes.keys()])].sort((a, b) => (a === '.' ? -1 : b === '.' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  for (const path of paths) {
    if (ignored.has(path)) continue;
    const e = expected.nodes.get(path);
    const a = actual.nodes.get(path);
    if (!a) {
      diffs.push({ path, field: 'missing', expected: e!.type });
      continue;
    }
    if (!e) {
      diffs.push({ path, field: 'extra', actual: a.type });
      continue;
    }
    for (const field of fields) {
      if (options.skip?.(field, e)) continue;
      const ev = fieldValue(field, e, res);
      const av = fieldValue(field, a, res);
      if (ev !== av) diffs.push({ path, field, expected: ev, actual: av });
    }
  }
  return diffs;
}

/** The first `max` differences, one per line, for a test failure message. */
export function formatDifferences(diffs: readonly Difference[], max = 25): string {
  const lines = diffs.slice(0, max).map((d) => {
    if (d.field === 'missing') return `  ${d.path}: missing (expected ${d.expected})`;
    if (d.field === 'extra') return `  ${d.path}: unexpected ${d.actual}`;
    return `  ${d.path}: ${d.field} expected ${d.expected}, got ${d.actual}`;
  });
  if (diffs.length > max) lines.push(`  … and ${diffs.length - max} more`);
  return lines.join('\n');
}
