// Test helpers: layer streams from fixture entries, an in-memory Image over fixture blobs, and a
// host-side tree snapshot to prove nothing outside the rootfs changed.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buildArchive, buildTar, type BuiltImage, type ImageSpec, type TarEntry } from '@oci2lxc/fixtures';
import type { Image, ImageArchive, Layer, LayerStreamOptions } from '@oci2lxc/oci-tar-image';

export const isRoot = process.getuid?.() === 0;

/** An uncompressed layer stream, delivered in chunks of `chunk` bytes. */
export function layerStream(entries: TarEntry[] | Buffer, chunk = 64 * 1024): Readable {
  const buf = Buffer.isBuffer(entries) ? entries : buildTar(entries);
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts, { objectMode: false });
}

export interface MemoryImageOptions {
  /** Replace the stored blob served for layer i (no digest is recomputed). */
  serve?: (i: number, blob: Buffer) => Readable;
}

/** The Image contract over an in-memory fixture image (not a mock of fs or tar: real bytes). */
export function memoryImage(spec: ImageSpec, opts: MemoryImageOptions = {}): { image: Image; built: BuiltImage } {
  const built = buildArchive({ images: [spec] }).images[0]!;
  const layers: Layer[] = built.layers.map((l, index) => ({
    index,
    digest: l.digest,
    diffId: l.diffId,
    mediaType: l.mediaType,
    size: l.size,
    compression: l.compression,
  }));
  const image: Image = {
    archive: undefined as unknown as ImageArchive,
    manifestDigest: built.manifestDigest,
    manifest: built.manifest as unknown as Image['manifest'],
    configDigest: built.configDigest,
    config: built.config as unknown as Image['config'],
    platform: built.platform,
    refs: [],
    layers,
    openLayer(i: number, _o?: LayerStreamOptions): Readable {
      const blob = built.layers[i]!.blob;
      if (opts.serve) return opts.serve(i, blob);
      return layerStream(blob, 256 * 1024);
    },
  };
  return { image, built };
}

export interface NodeInfo {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  size: number;
  content?: string;
  target?: string;
  rdev?: number;
}

/** Every path under `dir` with type, mode, owner, mtime and content hash (or link target). */
export function snapshot(dir: string): Map<string, NodeInfo> {
  const out = new Map<string, NodeInfo>();
  const walk = (rel: string): void => {
    const p = rel === '' ? dir : join(dir, rel);
    const st = lstatSync(p);
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other';
    const info: NodeInfo = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: Math.floor(st.mtimeMs), size: type === 'dir' ? 0 : st.size };
    if (type === 'file') info.content = createHash('sha256').update(readFileSync(p)).digest('hex');
    if (type === 'symlink') info.target = readlinkSync(p);
    if (type === 'char' || type === 'block') info.rdev = st.rdev;
    out.set(rel === '' ? '.' : rel, info);
    if (type === 'dir') for (const n of readdirSync(p).sort()) walk(rel === '' ? n : `${rel}/${n}`);
  };
  walk('');
  return out;
}

/** A sorted listing `path type` of the tree under dir (handy for equality checks). */
export function listing(dir: string): string[] {
  return [...snapshot(dir)].map(([p, i]) => `${p} ${i.type}${i.target !== undefined ? ` -> ${i.target}` : ''}`);
}
