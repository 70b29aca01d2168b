// OCI image layout: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`. Walks index.json and nested
// indexes down to the image manifests, skipping attestations.
import { addRefs, type Candidate, type LayerSource, type ResolvedImage } from './candidate.js';
import { validateDigest } from './digest.js';
import { OciImageError } from './errors.js';
import { findBlob, readJsonBlob, readJsonFile, type ArchiveContext } from './json-blob.js';
import { isConfigType, isIndexType, isManifestType, layerCompression, MediaTypes } from './media-types.js';
import { normalizePlatform } from './platform.js';
import { parseConfig, parseIndex, parseManifest, type ImageIndex } from './schema.js';
import type { Descriptor, ImageConfig, ImageManifest, Layer, Platform } from './types.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME = 'io.containerd.image.name';
const REFERENCE_TYPE = 'vnd.docker.reference.type';

/** Default bound on nested indexes below index.json. */
export const MAX_INDEX_DEPTH = 8;

function refsOf(d: Descriptor): string[] {
  const out: string[] = [];
  const a = d.annotations ?? {};
  for (const key of [CONTAINERD_NAME, REF_NAME]) {
    const v = a[key];
    if (v !== undefined && v !== '') out.push(v);
  }
  return out;
}

/** BuildKit attestation manifests (SBOM, provenance) sit in the index next to the image. */
function isAttestation(d: Descriptor): boolean {
  if (d.annotations?.[REFERENCE_TYPE] !== undefined) return true;
  return d.platform?.os === 'unknown' && d.platform.architecture === 'unknown';
}

/** Manifests and configs are read at most once per archive. */
export class OciBlobCache {
  readonly #ctx: ArchiveContext;
  readonly #manifests = new Map<string, Promise<{ manifest: ImageManifest; mediaType: string }>>();
  readonly #configs = new Map<string, Promise<ImageConfig>>();

  constructor(ctx: ArchiveContext) {
    this.#ctx = ctx;
  }

  /** A manifest, verified; its media type taken from the descriptor, else the blob, else OCI. */
  manifest(d: Descriptor): Promise<{ manifest: ImageManifest; mediaType: string }> {
    let p = this.#manifests.get(d.digest);
    if (!p) {
      p = (async () => {
        const { value } = await readJsonBlob(this.#ctx, d.digest, d.size, 'manifest');
        const manifest = parseManifest(value, `manifest ${d.digest}`);
        const mediaType = d.mediaType || manifest.mediaType || MediaTypes.ociManifest;
        if (!isManifestType(mediaType)) {
          throw new OciImageError('UNSUPPORTED_MEDIA_TYPE', `${this.#ctx.path}: manifest ${d.digest} has unsupported media type ${mediaType}`, { subject: d.digest });
        }
        if (manifest.mediaType !== undefined && d.mediaType !== '' && manifest.mediaType !== d.mediaType) {
          throw new OciImageError('INVALID_MANIFEST', `${this.#ctx.path}: manifest ${d.digest} says media type ${manifest.mediaType}, its descriptor ${d.mediaType}`, {
            subject: d.digest,
          });
        }
        return { manifest, mediaType };
      })();
      this.#manifests.set(d.digest, p);
    }
    return p;
  }

  config(manifestDigest: string, d: Descriptor): Promise<ImageConfig> {
    let p = this.#configs.get(d.digest);
    if (!p) {
      p = (async () => {
        const mediaType = d.mediaType || MediaTypes.ociConfig;
        if (!isConfigType(mediaType)) {
          throw new OciImageError('UNSUPPORTED_MEDIA_TYPE', `${this.#ctx.path}: config ${d.digest} of manifest ${manifestDigest} has unsupported media type ${mediaType}`, {
            subject: d.digest,
          });
        }
        const { value } = await readJsonBlob(this.#ctx, d.digest, d.size, 'config');
        return parseConfig(value, `config ${d.digest}`);
      })();
      this.#configs.set(d.digest, p);
    }
    return p;
  }
}

function configPlatform(c: ImageConfig): Platform {
  return normalizePlatform(c.variant ? { os: c.os, architecture: c.architecture, variant: c.variant } : { os: c.os, architecture: c.architecture });
}

export async function resolveOciImage(ctx: ArchiveContext, cache: OciBlobCache, d: Descriptor): Promise<ResolvedImage> {
  const { manifest } = await cache.manifest(d);
  const config = await cache.config(d.digest, manifest.config);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new OciImageError(
      'INVALID_MANIFEST',
      `${ctx.path}: manifest ${d.digest} lists ${manifest.layers.length} layer(s) but config ${manifest.config.digest} has ${diffIds.length} diff_ids`,
      { subject: d.digest },
    );
  }
  const layers: Layer[] = [];
  const sources: LayerSource[] = [];
  manifest.layers.forEach((l, index) => {
    const what = `layer ${index} of manifest ${d.digest}`;
    const parsed = validateDigest(l.digest, what);
    const compression = layerCompression(l.mediaType);
    if (compression === undefined) {
      throw new OciImageError('UNSUPPORTED_MEDIA_TYPE', `${ctx.path}: ${what} (${l.digest}) has unsupported media type ${l.mediaType || '(none)'}`, { subject: l.digest });
    }
    const { entry } = findBlob(ctx, l.digest, what);
    if (entry.size !== l.size) {
      throw new OciImageError('SIZE_MISMATCH', `${ctx.path}: ${what} ${l.digest} is ${entry.size} bytes, the manifest says ${l.size}`, { subject: l.digest });
    }
    layers.push({ index, digest: l.digest, diffId: diffIds[index]!, mediaType: l.mediaType, size: l.size, compression });
    sources.push({ entry, expectedDigest: l.digest, algorithm: parsed.algorithm });
  });
  return { manifestDigest: d.digest, manifest, configDigest: manifest.config.digest, config, layers, sources };
}

interface WalkState {
  ctx: ArchiveContext;
  cache: OciBlobCache;
  maxDepth: number;
  out: Candidate[];
  /** Descriptors skipped for their media type, for the error when nothing runnable is left. */
  skipped: string[];
}

async function walk(state: WalkState, index: ImageIndex, where: string, inherited: string[], depth: number, ancestors: string[]): Promise<void> {
  const { ctx, cache } = state;
  for (const d of index.manifests) {
    if (isAttestation(d)) continue;
    const refs = [...inherited];
    addRefs(refs, refsOf(d));
    let mediaType = d.mediaType;
    if (mediaType === '') {
      // No media type on the descriptor: look at the blob itself.
      const { value } = await readJsonBlob(ctx, d.digest, d.size, `blob listed in ${where}`);
      const o = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
      mediaType = typeof o.mediaType === 'string' ? o.mediaType : Array.isArray(o.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
    }
    if (isIndexType(mediaType)) {
      if (ancestors.includes(d.digest)) {
        throw new OciImageError('INDEX_TOO_DEEP', `${ctx.path}: image index ${d.digest} refers to itself (via ${where})`, { subject: d.digest });
      }
      if (depth + 1 > state.maxDepth) {
        throw new OciImageError('INDEX_TOO_DEEP', `${ctx.path}: image index ${d.digest} is nested more than ${state.maxDepth} levels deep`, { subject: d.digest });
      }
      const { value } = await readJsonBlob(ctx, d.digest, d.size, 'image index');
      const child = parseIndex(value, `image index ${d.digest}`);
      await walk(state, child, `image index ${d.digest}`, refs, depth + 1, [...ancestors, d.digest]);
    } else if (isManifestType(mediaType)) {
      const desc: Descriptor = { ...d, mediaType };
      let platform: Platform;
      if (d.platform) platform = normalizePlatform(d.platform);
      else {
        const { manifest } = await cache.manifest(desc);
        // Artifacts (signatures, SBOMs) have manifests too, but no image config: not runnable.
        if (manifest.config.mediaType !== '' && !isConfigType(manifest.config.mediaType)) {
          state.skipped.push(`${manifest.config.mediaType} (config of ${d.digest})`);
          continue;
        }
        platform = configPlatform(await cache.config(d.digest, manifest.config));
      }
      if (platform.os === 'unknown' && platform.architecture === 'unknown') continue;
      const existing = state.out.find((c) => c.manifestDigest === d.digest);
      if (existing) {
        addRefs(existing.refs, refs);
        continue;
      }
      state.out.push({
        refs,
        platform,
        manifestDigest: d.digest,
        mediaType,
        resolve: () => resolveOciImage(ctx, cache, desc),
        configDigest: async () => (await cache.manifest(desc)).manifest.config.digest,
      });
    } else {
      state.skipped.push(`${mediaType} (${d.digest})`);
    }
  }
}

export interface OciLayout {
  candidates: Candidate[];
  skipped: string[];
  cache: OciBlobCache;
}

/** Reads oci-layout and index.json and finds every runnable image. */
export async function readOciLayout(ctx: ArchiveContext, maxDepth = MAX_INDEX_DEPTH): Promise<OciLayout> {
  const layout = await readJsonFile(ctx, 'oci-layout');
  if (layout !== undefined) {
    const v = layout.value as { imageLayoutVersion?: unknown } | null;
    const version = typeof v === 'object' && v !== null ? v.imageLayoutVersion : undefined;
    if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
      throw new OciImageError('INVALID_MANIFEST', `${ctx.path}: oci-layout has unsupported imageLayoutVersion ${JSON.stringify(version)}`, { subject: 'oci-layout' });
    }
  }
  const file = await readJsonFile(ctx, 'index.json');
  if (file === undefined) throw new OciImageError('NOT_AN_IMAGE', `${ctx.path}: no index.json`, { subject: ctx.path });
  const index = parseIndex(file.value, 'index.json');
  const cache = new OciBlobCache(ctx);
  const state: WalkState = { ctx, cache, maxDepth, out: [], skipped: [] };
  await walk(state, index, 'index.json', [], 0, []);
  return { candidates: state.out, skipped: state.skipped, cache };
}
