// A registry image as an `ImageArchive` / `Image`, the shape @oci2lxc/oci-extract and the CLI
// consume from archives: index → platform selection → manifest → config → layers, each document
// verified and validated by @oci2lxc/oci-tar-image's own checks.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  isConfigType,
  isIndexType,
  isManifestType,
  layerCompression,
  MAX_JSON_SIZE,
  MediaTypes,
  normalizePlatform,
  OciImageError,
  parseConfig,
  parseIndex,
  parseManifest,
  selectCandidate,
  validateDigest,
  verifyingStream,
  type Candidate,
  type Descriptor,
  type Image,
  type ImageArchive,
  type ImageConfig,
  type ImageManifest,
  type ImageSummary,
  type Layer,
  type LayerStreamOptions,
  type Platform,
  type SelectOptions,
} from '@oci2lxc/oci-tar-image';
import { BlobCache } from './cache.js';
import { RepositoryClient, type FetchedManifest, type RegistryClientOptions } from './client.js';
import { RegistryError } from './errors.js';
import { LayerFetcher } from './layers.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';
import { Transport } from './transport.js';

export interface OpenRegistryOptions extends RegistryClientOptions {
  /** A blob cache (or its directory); `false` or undefined: no cache. */
  cache?: BlobCache | string | false;
  /** Blob downloads at once (default 3). */
  concurrency?: number;
  /** Bound on nested image indexes (default 8). */
  maxIndexDepth?: number;
}

const REFERENCE_TYPE = 'vnd.docker.reference.type';

/** BuildKit attestations (SBOM, provenance) are listed next to the images: not runnable. */
function isAttestation(d: Descriptor): boolean {
  return d.annotations?.[REFERENCE_TYPE] !== undefined || (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}

interface Found {
  platform: Platform;
  descriptor: Descriptor;
}

/** An image reference opened on its registry: what it offers, and `selectImage` as for archives. */
export class RegistryArchive implements ImageArchive {
  readonly path: string;
  readonly format = 'registry' as const;
  readonly hasDockerManifest = false;
  /** A registry serves blobs, not a (compressed) archive file. */
  readonly compression = 'none' as const;
  readonly images: readonly ImageSummary[];
  readonly reference: ImageReference;
  /** Digest of what the reference names (an index or a manifest). */
  readonly digest: string;
  readonly client: RepositoryClient;
  readonly cache: BlobCache | undefined;
  readonly #found: readonly Found[];
  readonly #manifests: Map<string, FetchedManifest>;
  readonly #fetcher: LayerFetcher;
  readonly #controller: AbortController;
  readonly #transport: Transport;
  readonly #configs: ConfigLoader;

  /** @internal use `openRegistry` */
  constructor(init: {
    reference: ImageReference;
    digest: string;
    client: RepositoryClient;
    cache: BlobCache | undefined;
    found: Found[];
    manifests: Map<string, FetchedManifest>;
    fetcher: LayerFetcher;
    controller: AbortController;
    transport: Transport;
    configs: ConfigLoader;
  }) {
    this.reference = init.reference;
    this.path = formatReference(init.reference);
    this.digest = init.digest;
    this.client = init.client;
    this.cache = init.cache;
    this.#found = init.found;
    this.#manifests = init.manifests;
    this.#fetcher = init.fetcher;
    this.#controller = init.controller;
    this.#transport = init.transport;
    this.#configs = init.configs;
    this.images = Object.freeze(
      init.found.map((f) => Object.freeze({ refs: [this.path], platform: { ...f.platform }, manifestDigest: f.descriptor.digest, mediaType: f.descriptor.mediaType })),
    );
  }

  /** Blob bytes received from the registry so far (0 when everything came from the cache). */
  get bytesRead(): number {
    return this.client.blobBytes;
  }

  async selectImage(options: SelectOptions = {}): Promise<RegistryImage> {
    const candidates: Candidate[] = this.#found.map((f) => ({
      refs: [this.path],
      platform: f.platform,
      manifestDigest: f.descriptor.digest,
      mediaType: f.descriptor.mediaType,
      // Archive-side hooks: selection only reads the fields above.
      resolve: () => Promise.reject(new Error('not used for registry images')),
      configDigest: () => Promise.reject(new Error('not used for registry images')),
    }));
    const chosen = selectCandidate(candidates, options, this.path);
    const found = this.#found.find((f) => f.descriptor.digest === chosen.manifestDigest)!;
    const manifestDigest = found.descriptor.digest;
    const fetched = await manifestOf(this.client, this.#manifests, found.descriptor, this.path);
    const manifest = checkManifest(fetched, found.descriptor, this.path);
    const { config, bytes: configBytes } = await this.#configs.loadWithBytes(manifestDigest, manifest.config);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new OciImageError(
        'INVALID_MANIFEST',
        `${this.path}: manifest ${manifestDigest} lists ${manifest.layers.length} layer(s) but config ${manifest.config.digest} has ${diffIds.length} diff_ids`,
        { subject: manifestDigest },
      );
    }
    const layers: Layer[] = manifest.layers.map((l, index) => {
      const what = `layer ${index} of manifest ${manifestDigest}`;
      validateDigest(l.digest, what);
      const compression = layerCompression(l.mediaType);
      if (compression === undefined) {
        throw new OciImageError('UNSUPPORTED_MEDIA_TYPE', `${this.path}: ${what} (${l.digest}) has unsupported media type ${l.mediaType || '(none)'}`, { subject: l.digest });
      }
      return { index, digest: l.digest, diffId: diffIds[index]!, mediaType: l.mediaType, size: l.size, compression };
    });
    this.#fetcher.prepare(layers);
    return new RegistryImage(this, this.#fetcher, {
      manifestDigest,
      manifest,
      manifestBytes: fetched.bytes,
      manifestMediaType: fetched.mediaType,
      configDigest: manifest.config.digest,
      config,
      configBytes,
      platform: found.platform,
      layers,
    });
  }

  /** Stops downloads ahead, removes temp files, closes connections. */
  async close(): Promise<void> {
    this.#controller.abort(new RegistryError('ABORTED', `${this.path}: closed`));
    await this.#fetcher.close();
    await this.client.close();
    await this.#transport.close();
  }
}

/** An image of a registry: an `Image`, plus the exact manifest and config bytes (for writing archives). */
export class RegistryImage implements Image {
  readonly archive: RegistryArchive;
  readonly manifestDigest: string;
  readonly manifest: ImageManifest;
  /** The manifest as the registry sent it (its digest is `manifestDigest`). */
  readonly manifestBytes: Buffer;
  readonly manifestMediaType: string;
  readonly configDigest: string;
  readonly config: ImageConfig;
  /** The config blob as stored (its digest is `configDigest`). */
  readonly configBytes: Buffer;
  readonly platform: Platform;
  readonly refs: string[];
  readonly layers: readonly Layer[];
  readonly #fetcher: LayerFetcher;

  constructor(
    archive: RegistryArchive,
    fetcher: LayerFetcher,
    r: {
      manifestDigest: string;
      manifest: ImageManifest;
      manifestBytes: Buffer;
      manifestMediaType: string;
      configDigest: string;
      config: ImageConfig;
      configBytes: Buffer;
      platform: Platform;
      layers: Layer[];
    },
  ) {
    this.archive = archive;
    this.#fetcher = fetcher;
    this.manifestDigest = r.manifestDigest;
    this.manifest = r.manifest;
    this.manifestBytes = r.manifestBytes;
    this.manifestMediaType = r.manifestMediaType;
    this.configDigest = r.configDigest;
    this.config = r.config;
    this.configBytes = r.configBytes;
    this.platform = { ...r.platform };
    this.refs = [archive.path];
    this.layers = Object.freeze(r.layers);
  }

  openLayer(index: number, options: LayerStreamOptions = {}): Readable {
    const layer = this.layers[index];
    if (!Number.isInteger(index) || layer === undefined) throw new RangeError(`layer index ${index} out of range (the image has ${this.layers.length} layers)`);
    const stream = this.#fetcher.open(layer, this.layers.slice(index + 1), `layer ${index} of ${this.manifestDigest}`, options.highWaterMark);
    // Registry layers always name their digest; the stream fails instead of ending when it is wrong.
    const { onDigest } = options;
    if (onDigest) stream.once('end', () => onDigest(layer.digest));
    if (options.signal) {
      const signal = options.signal;
      const onAbort = (): void => void stream.destroy(new RegistryError('ABORTED', `${this.archive.path}: layer ${index}: aborted`));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        stream.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
    return stream;
  }
}

async function manifestOf(client: RepositoryClient, seen: Map<string, FetchedManifest>, d: Descriptor, subject: string): Promise<FetchedManifest> {
  let m = seen.get(d.digest);
  if (!m) {
    m = await client.fetchManifest(d.digest, subject);
    seen.set(d.digest, m);
  }
  if (m.bytes.length !== d.size) {
    throw new OciImageError('SIZE_MISMATCH', `${subject}: manifest ${d.digest} is ${m.bytes.length} bytes, its descriptor says ${d.size}`, { subject: d.digest });
  }
  return m;
}

function checkManifest(m: FetchedManifest, d: Descriptor, subject: string): ImageManifest {
  if (!isManifestType(m.mediaType)) {
    throw new OciImageError('UNSUPPORTED_MEDIA_TYPE', `${subject}: manifest ${m.digest} has unsupported media type ${m.mediaType}`, { subject: m.digest });
  }
  if (d.mediaType !== '' && m.mediaType !== d.mediaType) {
    throw new OciImageError('INVALID_MANIFEST', `${subject}: manifest ${m.digest} says media type ${m.mediaType}, its descriptor ${d.mediaType}`, { subject: m.digest });
  }
  return parseManifest(m.value, `manifest ${m.digest}`);
}

/**
 * Opens `reference` on its registry: fetches what it names (an index or a manifest), lists the
 * runnable images with their platforms. Nothing is downloaded until `selectImage` and `openLayer`.
 */
export async function openRegistry(reference: string | ImageReference, options: OpenRegistryOptions = {}): Promise<RegistryArchive> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const transport = options.transport ?? new Transport({ ...options, signal });
  const client = new RepositoryClient(ref, { ...options, transport });
  const cache = options.cache instanceof BlobCache ? options.cache : typeof options.cache === 'string' ? new BlobCache(options.cache) : undefined;
  const fetcher = new LayerFetcher(client, { cache, concurrency: Math.max(1, options.concurrency ?? 3) });
  try {
    const subject = formatReference(ref);
    const top = await client.fetchManifest(ref.digest ?? ref.tag ?? 'latest', subject);
    const manifests = new Map<string, FetchedManifest>([[top.digest, top]]);
    const found: Found[] = [];
    const skipped: string[] = [];
    const configs = new ConfigLoader(client, cache, subject);
    const topDescriptor: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
    await walk({ client, manifests, found, skipped, subject, maxDepth: options.maxIndexDepth ?? 8, configs }, topDescriptor, 0, []);
    if (found.length === 0) {
      throw new OciImageError('UNSUPPORTED_MEDIA_TYPE', `${subject}: no runnable image${skipped.length > 0 ? `; the registry offers only: ${skipped.join(', ')}` : ''}`, { subject });
    }
    return new RegistryArchive({ reference: ref, digest: top.digest, client, cache, found, manifests, fetcher, controller, transport, configs });
  } catch (err) {
    controller.abort();
    await client.close();
    await transport.close();
    throw err;
  }
}

interface WalkState {
  client: RepositoryClient;
  manifests: Map<string, FetchedManifest>;
  found: Found[];
  skipped: string[];
  subject: string;
  maxDepth: number;
  configs: ConfigLoader;
}

async function walk(s: WalkState, d: Descriptor, depth: number, ancestors: string[]): Promise<void> {
  const m = await manifestOf(s.client, s.manifests, d, s.subject);
  if (isIndexType(m.mediaType)) {
    if (ancestors.includes(m.digest) || depth >= s.maxDepth) {
      throw new OciImageError('INDEX_TOO_DEEP', `${s.subject}: image index ${m.digest} is nested more than ${s.maxDepth} levels deep or refers to itself`, { subject: m.digest });
    }
    const index = parseIndex(m.value, `image index ${m.digest}`);
    for (const child of index.manifests) {
      if (isAttestation(child)) continue;
      if (isIndexType(child.mediaType)) await walk(s, child, depth + 1, [...ancestors, m.digest]);
      else if (isManifestType(child.mediaType)) {
        if (child.platform) {
          const platform = normalizePlatform(child.platform);
          if (!s.found.some((f) => f.descriptor.digest === child.digest)) s.found.push({ platform, descriptor: child });
        } else await walk(s, child, depth + 1, [...ancestors, m.digest]);
      } else s.skipped.push(`${child.mediaType || '(no media type)'} (${child.digest})`);
    }
    return;
  }
  if (!isManifestType(m.mediaType)) {
    s.skipped.push(`${m.mediaType} (${m.digest})`);
    return;
  }
  // A manifest without a platform on its descriptor: the config says.
  const manifest = checkManifest(m, d, s.subject);
  const cd = manifest.config;
  if (cd.mediaType !== '' && !isConfigType(cd.mediaType)) {
    s.skipped.push(`${cd.mediaType} (config of ${m.digest})`);
    return;
  }
  const config = await s.configs.load(m.digest, cd);
  const platform = normalizePlatform(config.variant ? { os: config.os, architecture: config.architecture, variant: config.variant } : { os: config.os, architecture: config.architecture });
  if (platform.os === 'unknown' && platform.architecture === 'unknown') return;
  s.found.push({ platform, descriptor: { ...d, mediaType: m.mediaType } });
}


/** Config blobs: from the cache, else the registry (verified, then cached); each read once. */
class ConfigLoader {
  readonly #client: RepositoryClient;
  readonly #cache: BlobCache | undefined;
  readonly #subject: string;
  readonly #loaded = new Map<string, Promise<{ config: ImageConfig; bytes: Buffer }>>();

  constructor(client: RepositoryClient, cache: BlobCache | undefined, subject: string) {
    this.#client = client;
    this.#cache = cache;
    this.#subject = subject;
  }

  async load(manifestDigest: string, d: Descriptor): Promise<ImageConfig> {
    return (await this.loadWithBytes(manifestDigest, d)).config;
  }

  loadWithBytes(manifestDigest: string, d: Descriptor): Promise<{ config: ImageConfig; bytes: Buffer }> {
    let p = this.#loaded.get(d.digest);
    if (!p) {
      p = this.#load(manifestDigest, d);
      this.#loaded.set(d.digest, p);
    }
    return p;
  }

  async #load(manifestDigest: string, d: Descriptor): Promise<{ config: ImageConfig; bytes: Buffer }> {
    const mediaType = d.mediaType || MediaTypes.ociConfig;
    if (!isConfigType(mediaType)) {
      throw new OciImageError('UNSUPPORTED_MEDIA_TYPE', `${this.#subject}: config ${d.digest} of manifest ${manifestDigest} has unsupported media type ${mediaType} (not a runnable image)`, {
        subject: d.digest,
      });
    }
    const bytes = await this.#bytes(d, `config of manifest ${manifestDigest}`);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new OciImageError('INVALID_JSON', `${this.#subject}: config ${d.digest} is not valid JSON`, { subject: d.digest, cause: err });
    }
    return { config: parseConfig(value, `config ${d.digest}`), bytes };
  }

  async #bytes(d: Descriptor, what: string): Promise<Buffer> {
    const cache = this.#cache;
    const cached = await cache?.lookup(d.digest, d.size);
    if (cache && cached !== undefined) {
      try {
        const { algorithm } = validateDigest(d.digest);
        const chunks: Buffer[] = [];
        for await (const c of verifyingStream(createReadStream(cached), { digest: d.digest, algorithm, size: d.size, what, archivePath: this.#subject })) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      } catch {
        await cache.remove(d.digest); // a damaged entry: fetch it again
      }
    }
    const bytes = await this.#client.fetchBlob(d, what, MAX_JSON_SIZE);
    if (cache) {
      const w = await cache.writer(d.digest);
      try {
        await w.write(bytes);
        await w.commit();
      } catch {
        await w.abort(); // the cache only saves a download: a failed write costs a refetch
      }
    }
    return bytes;
  }
}
