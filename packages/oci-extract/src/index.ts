export { extractImage } from './extract-image.js';
export { applyLayer } from './apply-layer.js';
export { parseIdMap, mapId, type IdMap, type IdRange } from './idmap.js';
export { ExtractError, isExtractError, type ExtractErrorCode } from './errors.js';
export type {
  ApplyLayerOptions,
  ApplyLayerResult,
  CommonOptions,
  Compression,
  ExtractedLayer,
  ExtractOptions,
  ExtractProgress,
  ExtractResult,
  ExtractStats,
  ExtractWarning,
  ExtractWarningCode,
  WriteMode,
  WriteRoutes,
  WriteStrategy,
} from './types.js';
