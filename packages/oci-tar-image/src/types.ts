// Public types of @oci2lxc/oci-tar-image. This file is the contract @oci2lxc/oci-extract and the
// CLI code against: extend it, do not break it.
import type { Readable } from 'node:stream';

/** An OCI platform (image-spec `platform` object), normalised (`amd64`, `arm64`, …). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

/** The runtime part of an image config (the `config` object of the image-spec config). */
export interface RuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

/** An image config blob (application/vnd.oci.image.config.v1+json or Docker's). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: RuntimeConfig;
  rootfs: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

/** An image manifest (OCI or Docker schema 2). */
export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export type Compression = 'gzip' | 'zstd' | 'none';

/** One layer of a selected image, in application order. */
export interface Layer {
  /** Position in the manifest (0 = lowest). */
  readonly index: number;
  /**
   * Digest of the blob as stored (compressed). `''` for a gzip or zstd layer of a Docker archive,
   * whose manifest.json names no digests (an uncompressed one's equals `diffId`): reading the whole
   * blob is the only way to learn it, and `openLayer`'s `onDigest` reports it then. Never changes.
   */
  readonly digest: string;
  /** Digest of the uncompressed tar, from the config's `rootfs.diff_ids`. */
  readonly diffId: string;
  readonly mediaType: string;
  /** Stored (compressed) size in bytes. */
  readonly size: number;
  readonly compression: Compression;
}

/** What an archive offers: one runnable image (after index resolution). */
export interface ImageSummary {
  /** All names this image is known by (OCI ref annotations, containerd names, Docker RepoTags). */
  refs: string[];
  platform: Platform;
  /**
   * Digest of the image manifest. Docker archives without an OCI index have no manifest blob:
   * there it is the config digest (Docker's image ID).
   */
  manifestDigest: string;
  mediaType: string;
}

/** `registry`: an image pulled from a registry by @oci2lxc/oci-registry (not a file). */
export type ArchiveFormat = 'oci-layout' | 'docker-archive' | 'registry';

export interface SelectOptions {
  /** `os/arch[/variant]` or a Platform; default: the host's platform. */
  platform?: string | Platform;
  /** A name from `ImageSummary.refs` (a tag such as `latest` or a full name). */
  ref?: string;
}

export interface LayerStreamOptions {
  /** Read size for the underlying file reads (default 1 MiB). */
  highWaterMark?: number;
  signal?: AbortSignal;
  /**
   * Called once with the digest of the stored bytes (`alg:hex`) when all of them have passed and
   * matched, by the time the stream ends: for a layer whose `digest` is `''` the one place it is known.
   */
  onDigest?: (digest: string) => void;
}

/** An opened image archive: headers indexed, index.json / manifest.json parsed. */
export interface ImageArchive {
  readonly path: string;
  readonly format: ArchiveFormat;
  /**
   * How the archive file itself was compressed: `'none'` for a plain tar. A gzip or zstd archive
   * was decompressed once, at open, to an anonymous temporary file that the archive now reads.
   */
  readonly compression: 'none' | 'gzip' | 'zstd';
  /** True when a Docker 25+ archive carries both an OCI layout and a manifest.json. */
  readonly hasDockerManifest: boolean;
  /** Every runnable image the archive offers (attestations skipped). */
  readonly images: readonly ImageSummary[];
  /** Bytes read from the archive file so far (headers and JSON blobs; layer reads included); of the decompressed copy for a compressed archive. */
  readonly bytesRead: number;
  /** Resolves one image by ref and platform; throws a typed error on no or several matches. */
  selectImage(options?: SelectOptions): Promise<Image>;
  /** Closes the file handle. Streams already open keep working until they end. */
  close(): Promise<void>;
}

/** A resolved image: manifest and config parsed and verified. */
export interface Image {
  readonly archive: ImageArchive;
  readonly manifestDigest: string;
  /** The manifest; for a Docker archive without an OCI index, one synthesised from manifest.json. */
  readonly manifest: ImageManifest;
  readonly configDigest: string;
  readonly config: ImageConfig;
  readonly platform: Platform;
  readonly refs: string[];
  readonly layers: readonly Layer[];
  /**
   * The stored (compressed) bytes of one layer. The stream verifies size and digest as it goes
   * and fails at its end with a `DIGEST_MISMATCH` / `SIZE_MISMATCH` error instead of ending
   * cleanly, so a consumer that waits for 'end' never accepts bad data.
   */
  openLayer(index: number, options?: LayerStreamOptions): Readable;
}
