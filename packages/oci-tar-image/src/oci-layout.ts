// OCI image layout: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`. Walks index.json and nested
// indexes down to the image manifests, skipping attestations.
import { addRefs, type Candidate, type LayerSource, type ResolvedImage } from './candidate.js';
import { validateDigest } from './digest.js';
import { abortedError, inArchive, OciImageError } from './errors.js';
import { findBlob, readJsonBlob, readJsonFile, type ArchiveContext } from './json-blob.js';
import { isConfigType, isIndexType, isManifestType, layerCompression, MediaTypes } from './media-types.js';
import { shorten } from './message.js';
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
        const { value } = await readJsonBlob(this.#ctx, d.digest, d.size, 'manifest', { integers: true });
        const manifest = inArchive(this.#ctx.path, () => parseManifest(value, `manifest ${d.digest}`));
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
        return inArchive(this.#ctx.path, () => parseConfig(value, `config ${d.digest}`));
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
    const parsed = inArchive(ctx.path, () => validateDigest(l.digest, what));
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

/** Default bound on the descriptors read from all (distinct) indexes plus the images merged upwards. */
export const MAX_DESCRIPTORS = 100_000;

/** A runnable image found below an index node, with the names given to it on the way down. */
interface Leaf {
  desc: Descriptor;
  platform: Platform;
  refs: string[];
}

/** What an index node holds, computed once per index digest however often it is listed. */
interface NodeResult {
  leaves: Map<string, Leaf>;
  skipped: Set<string>;
  /** Levels of indexes below this one (0: it lists only manifests). */
  height: number;
  /** The cost of merging this result into a parent: its images, their names and skipped types. */
  weight: number;
}

interface WalkState {
  ctx: ArchiveContext;
  cache: OciBlobCache;
  maxDepth: number;
  maxDescriptors: number;
  /** Descriptors read plus images, their names and skipped types merged so far: the work done, against maxDescriptors. */
  work: number;
  /** Nested indexes already walked, by digest: a DAG costs its size, not its number of paths. */
  done: Map<string, NodeResult>;
  /** Indexes on the current path from index.json, for cycles. */
  active: Set<string>;
  signal: AbortSignal | undefined;
}

function spend(state: WalkState, n: number): void {
  state.work += n;
  if (state.work > state.maxDescriptors) {
    throw new OciImageError(
      'INDEX_TOO_LARGE',
      `${state.ctx.path}: the image indexes list more than ${state.maxDescriptors} descriptors (counting each image once per index that includes it)`,
      { subject: state.ctx.path },
    );
  }
}

/** Adds an image to a node's result: names given on this edge first, then the ones from below. */
function mergeLeaf(leaves: Map<string, Leaf>, desc: Descriptor, platform: Platform, edgeRefs: readonly string[], belowRefs: readonly string[]): void {
  const existing = leaves.get(desc.digest);
  if (existing) {
    addRefs(existing.refs, edgeRefs);
    addRefs(existing.refs, belowRefs);
    return;
  }
  const refs: string[] = [];
  addRefs(refs, edgeRefs);
  addRefs(refs, belowRefs);
  leaves.set(desc.digest, { desc, platform, refs });
}

async function walk(state: WalkState, index: ImageIndex, where: string, depth: number): Promise<NodeResult> {
  const { ctx, cache } = state;
  const result: NodeResult = { leaves: new Map(), skipped: new Set(), height: 0, weight: 0 };
  for (const d of index.manifests) {
    if (state.signal?.aborted) throw abortedError(ctx.path, state.signal);
    spend(state, 1);
    if (isAttestation(d)) continue;
    const edgeRefs = refsOf(d);
    let mediaType = d.mediaType;
    if (mediaType === '') {
      // No media type on the descriptor: look at the blob itself (read once, however often listed).
      const { value } = await readJsonBlob(ctx, d.digest, d.size, `blob listed in ${where}`);
      const o = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
      mediaType = typeof o.mediaType === 'string' ? o.mediaType : Array.isArray(o.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
    }
    if (isIndexType(mediaType)) {
      if (state.active.has(d.digest)) {
        throw new OciImageError('INDEX_TOO_DEEP', `${ctx.path}: image index ${d.digest} refers to itself (via ${where})`, { subject: d.digest });
      }
      let child = state.done.get(d.digest);
      if (child === undefined) {
        if (depth + 1 > state.maxDepth) {
          throw new OciImageError('INDEX_TOO_DEEP', `${ctx.path}: image index ${d.digest} is nested more than ${state.maxDepth} levels deep`, { subject: d.digest });
        }
        const { value } = await readJsonBlob(ctx, d.digest, d.size, 'image index', { integers: true });
        const parsed = inArchive(ctx.path, () => parseIndex(value, `image index ${d.digest}`));
        state.active.add(d.digest);
        child = await walk(state, parsed, `image index ${d.digest}`, depth + 1);
        state.active.delete(d.digest);
        state.done.set(d.digest, child);
      } else if (depth + 1 + child.height > state.maxDepth) {
        throw new OciImageError('INDEX_TOO_DEEP', `${ctx.path}: image index ${d.digest} is nested more than ${state.maxDepth} levels deep`, { subject: d.digest });
      }
      result.height = Math.max(result.height, child.height + 1);
      spend(state, child.weight);
      for (const leaf of child.leaves.values()) mergeLeaf(result.leaves, leaf.desc, leaf.platform, edgeRefs, leaf.refs);
      for (const s of child.skipped) result.skipped.add(s);
    } else if (isManifestType(mediaType)) {
      const desc: Descriptor = { ...d, mediaType };
      let platform: Platform;
      if (d.platform) platform = normalizePlatform(d.platform);
      else {
        const { manifest } = await cache.manifest(desc);
        // Artifacts (signatures, SBOMs) have manifests too, but no image config: not runnable.
        if (manifest.config.mediaType !== '' && !isConfigType(manifest.config.mediaType)) {
          result.skipped.add(`${manifest.config.mediaType} (config of ${d.digest})`);
          continue;
        }
        platform = configPlatform(await cache.config(d.digest, manifest.config));
      }
      if (platform.os === 'unknown' && platform.architecture === 'unknown') continue;
      mergeLeaf(result.leaves, desc, platform, edgeRefs, []);
    } else {
      result.skipped.add(`${mediaType} (${d.digest})`);
    }
  }
  result.weight = result.leaves.size + result.skipped.size;
  for (const leaf of result.leaves.values()) result.weight += leaf.refs.length;
  return result;
}

export interface OciLayout {
  candidates: Candidate[];
  skipped: string[];
  cache: OciBlobCache;
}

export interface WalkOptions {
  maxDepth?: number;
  maxDescriptors?: number;
  signal?: AbortSignal | undefined;
}

/**
 * Reads oci-layout and index.json and finds every runnable image. Each nested index is read and
 * walked once (by digest), so the work is bounded by the archive's size, not by the number of
 * paths through a DAG of indexes; `maxDescriptors` bounds it further.
 */
export async function readOciLayout(ctx: ArchiveContext, options: WalkOptions = {}): Promise<OciLayout> {
  const layout = await readJsonFile(ctx, 'oci-layout');
  if (layout !== undefined) {
    const v = layout.value as { imageLayoutVersion?: unknown } | null;
    const version = typeof v === 'object' && v !== null ? v.imageLayoutVersion : undefined;
    if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
      throw new OciImageError('INVALID_MANIFEST', `${ctx.path}: oci-layout has unsupported imageLayoutVersion ${shorten(JSON.stringify(version) ?? 'undefined')}`, {
        subject: 'oci-layout',
      });
    }
  }
  const file = await readJsonFile(ctx, 'index.json', { integers: true });
  if (file === undefined) throw new OciImageError('NOT_AN_IMAGE', `${ctx.path}: no index.json`, { subject: ctx.path });
  const index = inArchive(ctx.path, () => parseIndex(file.value, 'index.json'));
  const cache = new OciBlobCache(ctx);
  const state: WalkState = {
    ctx,
    cache,
    maxDepth: options.maxDepth ?? MAX_INDEX_DEPTH,
    maxDescriptors: options.maxDescriptors ?? MAX_DESCRIPTORS,
    work: 0,
    done: new Map(),
    active: new Set(),
    signal: options.signal,
  };
  const top = await walk(state, index, 'index.json', 0);
  const candidates: Candidate[] = [...top.leaves.values()].map(({ desc, platform, refs }) => ({
    refs,
    platform,
    manifestDigest: desc.digest,
    mediaType: desc.mediaType,
    resolve: () => resolveOciImage(ctx, cache, desc),
    configDigest: async () => (await cache.manifest(desc)).manifest.config.digest,
  }));
  return { candidates, skipped: [...top.skipped], cache };
}
