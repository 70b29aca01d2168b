// Test-side helpers over @oci2lxc/fixtures: rewriting blobs with fixed-up references, and
// writing archives with GNU long names.
import { writeFileSync } from 'node:fs';
import { buildArchive, buildTar, digestOf, type ArchiveFile, type ArchiveSpec, type BuiltArchive, type TarEntry } from '@oci2lxc/fixtures';

/**
 * Replaces a blob's content, renames it to its new digest and rewrites every mention of the old
 * digest (and, for descriptors naming it, its size) in index.json and other JSON blobs.
 */
export function rewriteBlob(files: ArchiveFile[], oldDigest: string, data: Buffer): string {
  const alg = oldDigest.slice(0, oldDigest.indexOf(':')) as 'sha256' | 'sha512';
  const newDigest = digestOf(data, alg);
  const oldPath = `blobs/${oldDigest.replace(':', '/')}`;
  const f = files.find((x) => x.path === oldPath);
  if (!f) throw new Error(`no blob ${oldDigest}`);
  const oldSize = f.data?.length ?? 0;
  f.path = `blobs/${newDigest.replace(':', '/')}`;
  f.data = data;
  for (const g of files) {
    if (g.type !== 'file' || !g.data || g === f) continue;
    if (g.path !== 'index.json' && !g.path.startsWith('blobs/')) continue;
    const text = g.data.toString('utf8');
    if (!text.includes(oldDigest)) continue;
    const doc = JSON.parse(text) as unknown;
    const fix = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(fix);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (o.digest === oldDigest) {
          o.digest = newDigest;
          if (o.size === oldSize) o.size = data.length;
        }
        Object.values(o).forEach(fix);
      }
    };
    fix(doc);
    const updated = Buffer.from(JSON.stringify(doc));
    if (g.path.startsWith('blobs/')) {
      // The referring blob changed too: rename it and fix its referrers in turn.
      const [, a, hex] = g.path.split('/');
      rewriteBlob(files, `${a}:${hex}`, updated);
    } else g.data = updated;
  }
  return newDigest;
}

/** Like writeArchive, but every long member name is written as a GNU `L`/`K` record. */
export function writeGnuArchive(spec: ArchiveSpec, path: string, mutate?: (files: ArchiveFile[], built: BuiltArchive) => void): BuiltArchive {
  const built = buildArchive(spec);
  mutate?.(built.files, built);
  const entries: TarEntry[] = built.files.map((f) => ({
    path: f.path + (f.type === 'dir' ? '/' : ''),
    type: f.type,
    longNames: 'gnu',
    ...(f.data ? { content: f.data } : {}),
    ...(f.linkname !== undefined ? { linkname: f.linkname } : {}),
  }));
  writeFileSync(path, buildTar(entries));
  return built;
}

/** Moves Docker layer directories under a long directory name and fixes manifest.json. */
export function longDockerPaths(files: ArchiveFile[]): string {
  const long = `${'l'.repeat(110)}/${'m'.repeat(60)}`;
  const manifest = files.find((f) => f.path === 'manifest.json')!;
  const doc = JSON.parse(manifest.data!.toString()) as { Layers: string[] }[];
  for (const f of files) {
    if (/^[a-f0-9]{64}(\/|$)/.test(f.path)) f.path = `${long}/${f.path}`;
    if (f.type === 'hardlink' && f.linkname && /^[a-f0-9]{64}\//.test(f.linkname)) f.linkname = `${long}/${f.linkname}`;
  }
  for (const e of doc) e.Layers = e.Layers.map((l) => `${long}/${l}`);
  manifest.data = Buffer.from(JSON.stringify(doc));
  return long;
}
