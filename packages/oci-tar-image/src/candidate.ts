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
  /** As the archive names them (a compressed Docker layer's digest stays ''). */
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

/** The names already in a ref list, kept next to it so adding n names costs O(n), not O(n²). */
const present = new WeakMap<string[], { names: Set<string>; length: number }>();

/** Adds names not yet present, keeping order. Linear in the names added (amortised). */
export function addRefs(target: string[], refs: Iterable<string>): void {
  let seen = present.get(target);
  // Rebuilt when the list was changed other than through addRefs.
  if (!seen || seen.length !== target.length) {
    seen = { names: new Set(target), length: target.length };
    present.set(target, seen);
  }
  for (const r of refs) {
    if (r === '' || seen.names.has(r)) continue;
    seen.names.add(r);
    target.push(r);
  }
  seen.length = target.length;
}
