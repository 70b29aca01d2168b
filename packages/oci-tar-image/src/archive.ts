// Opening an image archive: index the tar by its headers, recognise the format, list the images.
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { RangeReader } from '@oci2lxc/range-reader';
import { addRefs, type Candidate, type LayerSource, type ResolvedImage } from './candidate.js';
import { parseDockerManifest, readDockerArchive } from './docker-archive.js';
import { abortedError, OciImageError } from './errors.js';
import { joinCapped } from './message.js';
import { decompressArchive, sniffArchiveCompression, SNIFF_BYTES, type ArchiveCompression } from './compressed-archive.js';
import { CountingFile } from './file-source.js';
import { readJsonFile, type ArchiveContext } from './json-blob.js';
import { openArchiveFile } from './open-file.js';
import { MAX_DESCRIPTORS, MAX_INDEX_DEPTH, readOciLayout } from './oci-layout.js';
import { selectCandidate } from './select.js';
import { indexTar } from './tar-index.js';
import type { ArchiveFormat, Image, ImageArchive, ImageSummary, Layer, LayerStreamOptions, SelectOptions } from './types.js';
import { verifyingStream } from './verify-stream.js';

export interface OpenOptions {
  /** Bound on image indexes nested below index.json (default 8): deeper is `INDEX_TOO_DEEP`. */
  maxIndexDepth?: number;
  /**
   * Bound on the work of walking the indexes (default `MAX_DESCRIPTORS` = 100 000): descriptors
   * read from all distinct indexes plus images merged into their parents. Beyond: `INDEX_TOO_LARGE`.
   */
  maxDescriptors?: number;
  /** Aborts opening (checked between headers, documents and descriptors): `ABORTED`. */
  signal?: AbortSignal;
  /**
   * Where a gzip or zstd archive is decompressed to (an anonymous file, unlinked as soon as it is
   * created); default: the OS temp directory (`os.tmpdir()`, i.e. `$TMPDIR` or `/tmp`).
   */
  tempDir?: string;
  /**
   * Bound on a compressed archive's decompressed size (default: 1032 × its compressed size, gzip's
   * maximum ratio, and at least 1 GiB). Beyond: `ARCHIVE_TOO_LARGE`.
   */
  maxDecompressedSize?: number;
}

/** gzip cannot expand data more than 1032-fold; anything beyond is a bomb, not an image. */
const MAX_RATIO = 1032;
const MIN_DECOMPRESSED_LIMIT = 1024 ** 3;

/**
 * Opens an OCI image layout tar or a Docker archive. Reads the tar headers (never the layer
 * data) and the small JSON files that say what the archive holds.
 */
export async function openImageArchive(path: string, options: OpenOptions = {}): Promise<ImageArchive> {
  const signal = options.signal;
  if (signal?.aborted) throw abortedError(path, signal);
  let { handle, size } = await openArchiveFile(path);
  let compression: ArchiveCompression = 'none';
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead: headBytes } = await handle.read(head, 0, head.length, 0);
    compression = sniffArchiveCompression(head.subarray(0, headBytes), path);
    if (compression !== 'none') {
      const plain = await decompressArchive(handle, path, compression, {
        tempDir: options.tempDir,
        maxSize: options.maxDecompressedSize ?? Math.max(MAX_RATIO * size, MIN_DECOMPRESSED_LIMIT),
        signal,
      });
      const compressed = handle;
      // From here on the decompressed copy is the archive (closed, and so gone, with it).
      handle = plain.handle;
      size = plain.size;
      await compressed.close();
    }
    const file = new CountingFile(handle);
    const index = await indexTar(file, size, { archivePath: path, signal });
    const ctx: ArchiveContext = { path, file, index };
    const hasIndex = index.resolveFile('index.json') !== undefined;
    const hasManifestJson = index.resolveFile('manifest.json') !== undefined;
    // With an OCI index present, manifest.json only adds names: a broken one must not stop us.
    const dockerManifest = !hasManifestJson
      ? undefined
      : hasIndex
        ? await readJsonFile(ctx, 'manifest.json').catch(() => undefined)
        : await readJsonFile(ctx, 'manifest.json');
    let format: ArchiveFormat;
    let candidates: Candidate[];
    if (hasIndex) {
      format = 'oci-layout';
      const layout = await readOciLayout(ctx, {
        maxDepth: options.maxIndexDepth ?? MAX_INDEX_DEPTH,
        maxDescriptors: options.maxDescriptors ?? MAX_DESCRIPTORS,
        signal,
      });
      candidates = layout.candidates;
      if (dockerManifest) await mergeRepoTags(candidates, dockerManifest.value, path);
      if (candidates.length === 0 && layout.skipped.length > 0) {
        throw new OciImageError('UNSUPPORTED_MEDIA_TYPE', `${path}: no runnable image; the index lists only unsupported media types: ${joinCapped(layout.skipped, ', ')}`, {
          subject: path,
          details: layout.skipped,
        });
      }
    } else if (dockerManifest) {
      format = 'docker-archive';
      candidates = await readDockerArchive(ctx, dockerManifest.value, signal);
    } else {
      throw new OciImageError('NOT_AN_IMAGE', `${path}: not an image archive (no index.json or manifest.json)`, { subject: path });
    }
    if (candidates.length === 0) throw new OciImageError('NOT_AN_IMAGE', `${path}: the archive holds no runnable image`, { subject: path });
    if (signal?.aborted) throw abortedError(path, signal);
    return new Archive(path, format, compression, hasManifestJson && hasIndex, handle, ctx, candidates);
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Docker 25+ archives: names from manifest.json's RepoTags join the OCI images with the same config. */
async function mergeRepoTags(candidates: Candidate[], manifestJson: unknown, path: string): Promise<void> {
  let entries;
  try {
    entries = parseDockerManifest(manifestJson, path);
  } catch {
    return; // index.json is authoritative; a malformed legacy manifest.json only loses names.
  }
  const byConfig = new Map<string, Candidate>();
  for (const c of candidates) byConfig.set(await c.configDigest(), c);
  for (const e of entries) {
    const m = /(?:^|\/)blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(e.Config);
    const c = m ? byConfig.get(`${m[1]}:${m[2]}`) : undefined;
    if (c) addRefs(c.refs, e.RepoTags);
  }
}

class Archive implements ImageArchive {
  readonly path: string;
  readonly format: ArchiveFormat;
  readonly compression: ArchiveCompression;
  readonly hasDockerManifest: boolean;
  readonly images: readonly ImageSummary[];
  readonly #handle: FileHandle;
  readonly #ctx: ArchiveContext;
  readonly #candidates: Candidate[];
  #openStreams = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(path: string, format: ArchiveFormat, compression: ArchiveCompression, hasDockerManifest: boolean, handle: FileHandle, ctx: ArchiveContext, candidates: Candidate[]) {
    this.path = path;
    this.format = format;
    this.compression = compression;
    this.hasDockerManifest = hasDockerManifest;
    this.#handle = handle;
    this.#ctx = ctx;
    this.#candidates = candidates;
    this.images = Object.freeze(
      candidates.map((c) => Object.freeze({ refs: [...c.refs], platform: { ...c.platform }, manifestDigest: c.manifestDigest, mediaType: c.mediaType })),
    );
  }

  get bytesRead(): number {
    return (this.#ctx.file as CountingFile).bytesRead;
  }

  async selectImage(options: SelectOptions = {}): Promise<Image> {
    this.#checkOpen();
    const c = selectCandidate(this.#candidates, options, this.path);
    return resolvedImage(this, c, await c.resolve());
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#openStreams === 0) await this.#closeHandle();
  }

  /** A verifying stream over one layer's bytes; keeps the file open until it closes. */
  layerStream(source: LayerSource, layer: Layer, what: string, options: LayerStreamOptions): Readable {
    this.#checkOpen();
    const range = new RangeReader(this.#ctx.file, source.entry.offset, source.entry.size);
    const raw = range.createReadStream({
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    const stream = verifyingStream(raw, {
      digest: source.expectedDigest,
      algorithm: source.algorithm,
      size: layer.size,
      what,
      archivePath: this.path,
      ...(options.onDigest !== undefined ? { onDigest: options.onDigest } : {}),
    });
    this.#openStreams++;
    stream.once('close', () => {
      this.#openStreams--;
      if (this.#closed && this.#openStreams === 0) void this.#closeHandle();
    });
    return stream;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error(`${this.path}: the image archive is closed`);
  }

  #closeHandle(): Promise<void> {
    this.#closing ??= this.#handle.close();
    return this.#closing;
  }
}

/** The selected image: plain data (layers frozen: nothing is filled in later) and openLayer. */
function resolvedImage(archive: Archive, c: Candidate, r: ResolvedImage): Image {
  const layers: readonly Layer[] = Object.freeze(r.layers.map((l) => Object.freeze({ ...l })));
  return {
    archive,
    manifestDigest: r.manifestDigest,
    manifest: r.manifest,
    configDigest: r.configDigest,
    config: r.config,
    platform: { ...c.platform },
    refs: [...c.refs],
    layers,
    openLayer(index: number, options: LayerStreamOptions = {}): Readable {
      const layer = layers[index];
      const source = r.sources[index];
      if (!Number.isInteger(index) || layer === undefined || source === undefined) {
        throw new RangeError(`layer index ${index} out of range (the image has ${layers.length} layers)`);
      }
      return archive.layerStream(source, layer, `layer ${index} of ${r.manifestDigest}`, options);
    },
  };
}

