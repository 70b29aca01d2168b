// Extended attributes. Node has no setxattr, and a native addon is not wanted, so the xattrs of
// one layer are collected and applied at the end of the layer by one `setfattr -h --restore=-`
// (package `attr`), fed a getfattr-style dump on stdin. `-h` never follows a leaf symlink. The
// batch runs after the files' chown (chown clears security.capability). Pending attributes of a
// path are dropped when the path is replaced or removed before the flush.
import { spawn } from 'node:child_process';
import { ExtractError } from './errors.js';
import { assertByteString, display } from './paths.js';

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

  get size(): number {
    return this.pending.size;
  }

  set(rel: string, attrs: Map<string, Buffer>): void {
    if (attrs.size > 0) this.pending.set(rel, attrs);
    else this.pending.delete(rel);
  }

  drop(rel: string): void {
    this.pending.delete(rel);
  }

  dropTree(rel: string): void {
    if (this.pending.size === 0) return;
    if (rel === '') {
      this.pending.clear();
      return;
    }
    const prefix = `${rel}/`;
    for (const k of this.pending.keys()) if (k === rel || k.startsWith(prefix)) this.pending.delete(k);
  }

  /**
   * Writes all pending attributes. `host(rel)` gives the byte-string host path. Attributes setfattr
   * reports as unsupported or not permitted become warnings; other failures throw XATTR_FAILED.
   */
  async flush(host: (rel: string) => string, warn: (w: XattrWarning) => void, layer: string | undefined): Promise<void> {
    if (this.pending.size === 0) return;
    const parts: Buffer[] = [];
    for (const [rel, attrs] of this.pending) {
      let block = `# file: ${quote(host(rel))}\n`;
      for (const [name, value] of attrs) block += `${quote(name)}=0s${value.toString('base64')}\n`;
      parts.push(Buffer.from(`${block}\n`, 'latin1'));
    }
    this.pending.clear();
    const input = Buffer.concat(parts);
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn('setfattr', ['-h', '--restore=-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('latin1');
      child.stderr.on('data', (d: string) => {
        if (err.length < 1 << 20) err += d;
      });
      child.on('error', (e) =>
        reject(new ExtractError('XATTR_FAILED', `cannot run setfattr (install the "attr" package): ${e.message}`, { ...(layer ? { layer } : {}), cause: e })),
      );
      child.on('close', (c) => resolve({ code: c, stderr: err }));
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    });
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
