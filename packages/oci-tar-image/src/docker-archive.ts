// Docker archives (`docker save` before Docker 25, skopeo's docker-archive): manifest.json names
// a config file and layer paths (`<id>/layer.tar`, often a symlink or hardlink to `<hex>.tar`).
// There are no descriptors: digests come from the config's diff_ids and from hashing.
import { addRefs, type Candidate, type LayerSource, type ResolvedImage } from './candidate.js';
import { validateDigest } from './digest.js';
import { abortedError, inArchive, OciImageError } from './errors.js';
import { shorten } from './message.js';
import { readJsonFile, type ArchiveContext } from './json-blob.js';
import { dockerLayerType, MediaTypes, sniffCompression } from './media-types.js';
import { normalizePlatform } from './platform.js';
import { parseConfig } from './schema.js';
import type { ImageConfig, ImageManifest, Layer } from './types.js';

export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** Checks the shape of manifest.json: an array of `{ Config, RepoTags, Layers }`. */
export function parseDockerManifest(value: unknown, archivePath: string): DockerManifestEntry[] {
  const bad = (what: string): OciImageError => new OciImageError('INVALID_MANIFEST', `${archivePath}: manifest.json ${what}`, { subject: 'manifest.json' });
  if (!Array.isArray(value)) throw bad('must be a JSON array');
  return value.map((v: unknown, i) => {
    if (typeof v !== 'object' || v === null) throw bad(`entry ${i} must be an object`);
    const o = v as Record<string, unknown>;
    if (typeof o.Config !== 'string' || o.Config === '') throw bad(`entry ${i} has no Config path`);
    if (!Array.isArray(o.Layers) || o.Layers.some((l) => typeof l !== 'string' || l === '')) throw bad(`entry ${i} has no Layers array of paths`);
    const tags = o.RepoTags;
    if (tags !== undefined && tags !== null && (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string'))) throw bad(`entry ${i} RepoTags must be an array of strings`);
    return { Config: o.Config, RepoTags: (tags as string[] | null | undefined) ?? [], Layers: o.Layers as string[] };
  });
}

/** A digest spelled by a file name: `<hex>.json` (docker save) or `blobs/<alg>/<hex>` (Docker 25). */
function digestFromName(path: string): string | undefined {
  const base = /(?:^|\/)([a-f0-9]{64})\.json$/.exec(path);
  if (base) return `sha256:${base[1]}`;
  const blob = /(?:^|\/)blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(path);
  return blob ? `${blob[1]}:${blob[2]}` : undefined;
}

/** The legacy `repositories` file: `{ repo: { tag: topLayerId } }`, used when RepoTags is empty. */
async function legacyNames(ctx: ArchiveContext): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const file = await readJsonFile(ctx, 'repositories');
  if (!file || typeof file.value !== 'object' || file.value === null) return out;
  for (const [repo, tags] of Object.entries(file.value as Record<string, unknown>)) {
    if (typeof tags !== 'object' || tags === null) continue;
    for (const [tag, id] of Object.entries(tags as Record<string, unknown>)) {
      if (typeof id !== 'string') continue;
      const list = out.get(id) ?? [];
      list.push(`${repo}:${tag}`);
      out.set(id, list);
    }
  }
  return out;
}

async function resolveDockerImage(ctx: ArchiveContext, entry: DockerManifestEntry, config: ImageConfig, configDigest: string, configSize: number): Promise<ResolvedImage> {
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== entry.Layers.length) {
    throw new OciImageError('INVALID_MANIFEST', `${ctx.path}: manifest.json lists ${entry.Layers.length} layer(s) for ${shorten(entry.Config)} but its config has ${diffIds.length} diff_ids`, {
      subject: configDigest,
    });
  }
  const layers: Layer[] = [];
  const sources: LayerSource[] = [];
  const head = Buffer.alloc(4);
  for (const [index, path] of entry.Layers.entries()) {
    const diffId = diffIds[index]!;
    const parsed = inArchive(ctx.path, () => validateDigest(diffId, `rootfs.diff_ids[${index}] of ${shorten(entry.Config)}`));
    const file = ctx.index.resolveFile(path);
    if (!file) {
      throw new OciImageError('MISSING_BLOB', `${ctx.path}: layer ${index} (${shorten(path)}, diff_id ${diffId}) is missing from the archive`, { subject: diffId });
    }
    // manifest.json does not say how a layer is stored: look at its first bytes.
    const n = await ctx.index.reader(ctx.file, file).readAt(0, head);
    const compression = sniffCompression(head.subarray(0, n));
    layers.push({
      index,
      // An uncompressed layer's stored digest is its diff_id. A compressed one's is only known after
      // hashing it: empty until openLayer() has streamed it to the end once.
      digest: compression === 'none' ? diffId : '',
      diffId,
      mediaType: dockerLayerType(compression),
      size: file.size,
      compression,
    });
    sources.push({ entry: file, expectedDigest: compression === 'none' ? diffId : undefined, algorithm: parsed.algorithm });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: { mediaType: MediaTypes.dockerConfig, digest: configDigest, size: configSize },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  return { manifestDigest: configDigest, manifest, configDigest, config, layers, sources };
}

/** A config file of a Docker archive, read, hashed and parsed once however many entries name it. */
interface DockerConfig {
  digest: string;
  config: ImageConfig;
  platform: ReturnType<typeof normalizePlatform>;
  size: number;
}

/** Reads manifest.json's images (and their configs, for the platform). */
export async function readDockerArchive(ctx: ArchiveContext, manifestJson: unknown, signal?: AbortSignal): Promise<Candidate[]> {
  const entries = inArchive(ctx.path, () => parseDockerManifest(manifestJson, ctx.path));
  const names = entries.some((e) => e.RepoTags.length === 0) ? await legacyNames(ctx) : new Map<string, string[]>();
  const out = new Map<string, Candidate>();
  // By tar member (offset): entries naming one config by different paths share the work too.
  const configs = new Map<number, DockerConfig>();
  for (const [i, entry] of entries.entries()) {
    if (signal?.aborted) throw abortedError(ctx.path, signal);
    const file = await readJsonFile(ctx, entry.Config);
    if (!file) {
      throw new OciImageError('MISSING_BLOB', `${ctx.path}: config ${shorten(entry.Config)} of image ${i} in manifest.json is missing from the archive`, {
        subject: entry.Config,
      });
    }
    let cfg = configs.get(file.entry.offset);
    if (cfg === undefined) {
      const configDigest = `sha256:${file.hash('sha256')}`;
      const config = inArchive(ctx.path, () => parseConfig(file.value, `config ${shorten(entry.Config)}`));
      const platform = normalizePlatform(config.variant ? { os: config.os, architecture: config.architecture, variant: config.variant } : { os: config.os, architecture: config.architecture });
      cfg = { digest: configDigest, config, platform, size: file.bytes.length };
      configs.set(file.entry.offset, cfg);
    }
    const named = digestFromName(entry.Config);
    if (named !== undefined) {
      const alg = named.slice(0, named.indexOf(':')) === 'sha512' ? 'sha512' : 'sha256';
      const actual = `${alg}:${file.hash(alg)}`;
      if (actual !== named) {
        throw new OciImageError('DIGEST_MISMATCH', `${ctx.path}: config ${shorten(entry.Config)} (${named}) has digest ${actual}`, { subject: named });
      }
    }
    const refs: string[] = [];
    addRefs(refs, entry.RepoTags);
    if (refs.length === 0) {
      // The legacy id of an image's top layer is the directory of its last layer path.
      const top = entry.Layers[entry.Layers.length - 1]?.split('/').filter((c) => c !== '' && c !== '.')[0];
      addRefs(refs, (top && names.get(top)) || []);
    }
    const existing = out.get(cfg.digest);
    if (existing) {
      addRefs(existing.refs, refs);
      continue;
    }
    const { digest, config, platform, size } = cfg;
    out.set(digest, {
      refs,
      platform,
      manifestDigest: digest,
      mediaType: MediaTypes.dockerManifest,
      resolve: () => resolveDockerImage(ctx, entry, config, digest, size),
      configDigest: () => Promise.resolve(digest),
    });
  }
  return [...out.values()];
}
