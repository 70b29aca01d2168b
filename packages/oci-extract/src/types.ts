// Public option, progress, warning and result types.
import type { IdMap } from './idmap.js';
import type { Compression } from './decompress.js';
import type { WriteRoutes, WriteStrategy } from './write-strategy.js';

export type { Compression };
export type { WriteMode, WriteRoutes, WriteStrategy } from './write-strategy.js';

export type ExtractWarningCode =
  /** Not running as root: owners are not applied (once per extraction). */
  | 'OWNERSHIP_SKIPPED'
  /** Device nodes cannot be created (not root, or mknod not permitted): skipped (once). */
  | 'DEVICE_SKIPPED'
  /** An extended attribute could not be set (not permitted or not supported). */
  | 'XATTR_SKIPPED'
  /** A whiteout that names nothing it may remove (`.wh..`, `.wh...`, aufs metadata). */
  | 'WHITEOUT_IGNORED';

export interface ExtractWarning {
  code: ExtractWarningCode;
  message: string;
  /** Layer digest. */
  layer?: string;
  /** Entry path. */
  path?: string;
}

export interface ExtractProgress {
  /** 0-based index of the layer being applied. */
  layerIndex: number;
  layerCount: number;
  layerDigest: string;
  /** Stored (compressed) bytes consumed so far, over all layers. */
  bytesRead: number;
  /** Sum of the stored sizes of all layers (0 when unknown). */
  bytesTotal: number;
  /** Entries applied so far, over all layers. */
  entries: number;
}

export interface CommonOptions {
  /** Container → host id mapping; ids outside it fail with ID_NOT_MAPPED. Default: ids as stored. */
  idMap?: IdMap;
  signal?: AbortSignal;
  onProgress?: (progress: ExtractProgress) => void;
  onWarning?: (warning: ExtractWarning) => void;
  /** How small files are written (for benchmarks and tests; the default 'auto' picks per file
   * system). Invalid values fail with INVALID_ARGUMENT. */
  writeStrategy?: WriteStrategy;
}

export interface ExtractStats {
  /** Small files (≤ 1 MiB) and hardlinks queued behind them, by where they were written. */
  routes: WriteRoutes;
}

export type ExtractOptions = CommonOptions;

export interface ApplyLayerOptions extends CommonOptions {
  /** Compression of `tarStream`. Default 'none'. */
  compression?: Compression;
  /** When given, the sha256 of the uncompressed tar must equal it (else DIFF_ID_MISMATCH). */
  expectedDiffId?: string;
  /** Named in errors, warnings and progress (e.g. the layer's digest). */
  layerDigest?: string;
}

export interface ApplyLayerResult {
  /** `sha256:<hex>` of the uncompressed tar stream. */
  diffId: string;
  entries: number;
  /** Bytes read from `tarStream`. */
  bytesRead: number;
  warnings: ExtractWarning[];
  stats: ExtractStats;
}

export interface ExtractedLayer {
  index: number;
  digest: string;
  diffId: string;
  entries: number;
}

export interface ExtractResult {
  /** Absolute path of the rootfs. */
  rootfs: string;
  layers: ExtractedLayer[];
  entries: number;
  bytesRead: number;
  warnings: ExtractWarning[];
  stats: ExtractStats;
}
