// The internal shape shared by the format readers: a runnable image found in the archive, and
// what resolving it yields.
import type { DigestAlgorithm } from './digest.js';
import type { TarEntry } from './tar-index.js';
import type { ImageConfig, ImageManifest, Layer, Platform } from './types.js';

/** Where a layer's bytes are and how to verify them. */
export interface LayerSource {
  entry: TarEntry;
  /** Expected digest of the stored bytes; undefined when the archive does not say (compressed Docker layers). */
  expectedDigest: string | undefined;
  algorithm: DigestAlgorithm;
}

export interface ResolvedImage {
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
  /** Mutable: a compressed Docker layer's digest is filled in once it has been streamed. */
  layers: Layer[];
  sources: LayerSource[];
}

export interface Candidate {
  refs: string[];
  /** Normalised. */
  platform: Platform;
  manifestDigest: string;
  mediaType: string;
  resolve(): Promise<ResolvedImage>;
  /** The config digest (may read the manifest). */
  configDigest(): Promise<string>;
}

/** Adds names not yet present, keeping order. */
export function addRefs(target: string[], refs: Iterable<string>): void {
  for (const r of refs) if (r !== '' && !target.includes(r)) target.push(r);
}
