export { openImageArchive, type OpenOptions } from './archive.js';
export { isImageArchive } from './probe.js';
export type { ArchiveCompression } from './compressed-archive.js';
export { OciImageError, isOciImageError, type OciImageErrorCode } from './errors.js';
export { parsePlatform, formatPlatform, normalizePlatform, hostPlatform } from './platform.js';
export { validateDigest, type ParsedDigest, type DigestAlgorithm } from './digest.js';
export { MediaTypes, layerCompression } from './media-types.js';
export { MAX_JSON_SIZE } from './json-blob.js';
export { MAX_INDEX_DEPTH, MAX_DESCRIPTORS } from './oci-layout.js';
export { parseIndex, parseManifest, parseConfig, parseDescriptor, type ImageIndex } from './schema.js';
export { findNonIntegerNumber, INTEGER_KEYS, type NonIntegerNumber } from './json-integers.js';
export type {
  Platform,
  Descriptor,
  RuntimeConfig,
  ImageConfig,
  ImageManifest,
  Compression,
  Layer,
  ImageSummary,
  ArchiveFormat,
  SelectOptions,
  LayerStreamOptions,
  ImageArchive,
  Image,
} from './types.js';
export { BLOCK, HeaderError, decodeHeaderBlock, headerFormat, isZeroBlock, parsePaxExact, type HeaderBlock, type HeaderFormat } from './tar-headers.js';
// Shared with @oci2lxc/oci-registry, so registry content is validated, selected and verified by
// the same code as archives.
export { platformScore } from './platform.js';
export { selectCandidate, refMatches } from './select.js';
export type { Candidate } from './candidate.js';
export { verifyingStream, verifyChunks, BlobVerifier, type VerifyOptions } from './verify-stream.js';
export { isIndexType, isManifestType, isConfigType } from './media-types.js';
