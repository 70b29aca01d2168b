export {
  RangeReader,
  DEFAULT_STREAM_CHUNK,
  type PositionalFile,
  type SeekWhence,
  type RangeReadStreamOptions,
} from './range-reader.js';
export { RangeReaderError, ShortReadError, isRangeReaderError, isShortReadError, type RangeReaderErrorCode } from './errors.js';
