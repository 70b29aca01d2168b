// A bounded, seekable view of one byte range of a file. Every read is positional
// (`pread`-style), so any number of readers and streams can share one file handle.
import { Readable } from 'node:stream';
import { RangeReaderError, ShortReadError } from './errors.js';

/**
 * What a RangeReader reads from: anything with a positional `read`, such as a
 * `fs.promises.FileHandle`, or a wrapper around one that counts bytes.
 */
export interface PositionalFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

export type SeekWhence = 'start' | 'current' | 'end';

export interface RangeReadStreamOptions {
  /** Bytes per file read and the stream's buffer size. Default 1 MiB. */
  highWaterMark?: number;
  /** Aborting destroys the stream with an `AbortError`. */
  signal?: AbortSignal;
}

/** Default read size for streams: large reads keep syscall counts low on big layers. */
export const DEFAULT_STREAM_CHUNK = 1024 * 1024;

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeReaderError('INVALID_RANGE', `${name} must be a non-negative safe integer (got ${String(value)})`);
  }
}

/**
 * Reads exactly `length` bytes at file offset `position` into `buffer[offset…]`. A read that
 * returns 0 bytes before that is a ShortReadError (never a retry loop).
 */
async function readFully(file: PositionalFile, buffer: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buffer, offset + done, length - done, position + done);
    // Clamp: a broken read() that claims more than asked must not move us past the range.
    const got = Math.min(bytesRead, length - done);
    if (!(got > 0)) throw new ShortReadError(position + done, length - done);
    done += got;
  }
}

export class RangeReader {
  /** Absolute file offset of the range's first byte. */
  readonly start: number;
  /** Length of the range in bytes. */
  readonly size: number;
  readonly #file: PositionalFile;
  #position = 0;

  /**
   * @param file an open file handle (or any PositionalFile); the reader never closes it
   * @param start absolute file offset of the range
   * @param length length of the range in bytes
   */
  constructor(file: PositionalFile, start: number, length: number) {
    checkCount('start', start);
    checkCount('length', length);
    if (!Number.isSafeInteger(start + length)) {
      throw new RangeReaderError('INVALID_RANGE', `range ${start}+${length} exceeds the largest safe file offset`);
    }
    this.#file = file;
    this.start = start;
    this.size = length;
  }

  /** Current position, relative to the range start (0…size). */
  get position(): number {
    return this.#position;
  }

  /** Bytes left between the position and the end of the range. */
  get remaining(): number {
    return this.size - this.#position;
  }

  /**
   * Moves the position. A target past the end clamps to the end (like a file, reading there
   * gives 0); a target before the start is a RangeReaderError (`NEGATIVE_POSITION`).
   * @returns the new position
   */
  seek(offset: number, whence: SeekWhence = 'start'): number {
    if (!Number.isSafeInteger(offset)) {
      throw new RangeReaderError('INVALID_ARGUMENT', `seek offset must be a safe integer (got ${String(offset)})`);
    }
    const base = whence === 'start' ? 0 : whence === 'current' ? this.#position : whence === 'end' ? this.size : undefined;
    if (base === undefined) throw new RangeReaderError('INVALID_ARGUMENT', `unknown seek whence '${String(whence)}'`);
    const target = base + offset;
    if (target < 0) {
      throw new RangeReaderError('NEGATIVE_POSITION', `seek to ${target} (${whence}${offset >= 0 ? '+' : ''}${offset}) is before the start of the range`);
    }
    this.#position = Math.min(target, this.size);
    return this.#position;
  }

  /**
   * Reads up to `length` bytes at the position into `buffer[offset…]` and advances the position.
   * Fills the request completely unless the range ends first.
   * @returns bytes read; 0 at the end of the range
   */
  async read(buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    const n = this.#clampRequest(buffer, offset, length, this.#position);
    if (n === 0) return 0;
    // Claim the bytes before awaiting, so concurrent read() calls get consecutive slices.
    const at = this.#position;
    this.#position = at + n;
    try {
      await readFully(this.#file, buffer, offset, n, this.start + at);
    } catch (err) {
      if (this.#position === at + n) this.#position = at;
      throw err;
    }
    return n;
  }

  /**
   * Reads up to `length` bytes at `position` (relative to the range) without moving the
   * reader's position.
   * @returns bytes read; 0 when `position` is at or past the end
   */
  async readAt(position: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset): Promise<number> {
    checkCount('position', position);
    const n = this.#clampRequest(buffer, offset, length, Math.min(position, this.size));
    if (n === 0) return 0;
    await readFully(this.#file, buffer, offset, n, this.start + position);
    return n;
  }

  /** Reads everything from the position to the end of the range (for small ranges). */
  async readAll(): Promise<Buffer> {
    const buf = Buffer.alloc(this.remaining);
    const n = await this.read(buf);
    return n === buf.length ? buf : buf.subarray(0, n);
  }

  /**
   * A reader over part of this range: `start` is relative to this range and must lie within it
   * (0…size); `length` is clamped to what is left of this range. Default: to the end.
   */
  subrange(start: number, length?: number): RangeReader {
    checkCount('subrange start', start);
    if (start > this.size) {
      throw new RangeReaderError('INVALID_RANGE', `subrange start ${start} is past the end of the range (size ${this.size})`);
    }
    const len = length === undefined ? this.size - start : (checkCount('subrange length', length), Math.min(length, this.size - start));
    return new RangeReader(this.#file, this.start + start, len);
  }

  /**
   * A Readable over the whole range (independent of, and not moving, the reader's position; use
   * `subrange()` for part of it). Each file read is `highWaterMark` bytes (default 1 MiB).
   */
  createReadStream(options: RangeReadStreamOptions = {}): Readable {
    const chunk = options.highWaterMark ?? DEFAULT_STREAM_CHUNK;
    if (!Number.isSafeInteger(chunk) || chunk <= 0) {
      throw new RangeReaderError('INVALID_ARGUMENT', `highWaterMark must be a positive integer (got ${String(chunk)})`);
    }
    return new RangeReadStream(this.#file, this.start, this.start + this.size, chunk, options.signal);
  }

  #clampRequest(buffer: Uint8Array, offset: number, length: number, position: number): number {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > buffer.byteLength) {
      throw new RangeReaderError('INVALID_ARGUMENT', `buffer offset ${String(offset)} is outside the buffer (${buffer.byteLength} bytes)`);
    }
    if (!Number.isSafeInteger(length) || length < 0 || offset + length > buffer.byteLength) {
      throw new RangeReaderError('INVALID_ARGUMENT', `length ${String(length)} at offset ${offset} does not fit the buffer (${buffer.byteLength} bytes)`);
    }
    return Math.min(length, this.size - position);
  }
}

class RangeReadStream extends Readable {
  readonly #file: PositionalFile;
  readonly #end: number;
  readonly #chunk: number;
  #pos: number;

  constructor(file: PositionalFile, start: number, end: number, chunk: number, signal: AbortSignal | undefined) {
    super(signal ? { highWaterMark: chunk, signal } : { highWaterMark: chunk });
    this.#file = file;
    this.#pos = start;
    this.#end = end;
    this.#chunk = chunk;
  }

  override _read(): void {
    const n = Math.min(this.#chunk, this.#end - this.#pos);
    if (n <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(n);
    readFully(this.#file, buf, 0, n, this.#pos).then(
      () => {
        if (this.destroyed) return;
        this.#pos += n;
        this.push(buf);
      },
      (err: unknown) => {
        this.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }
}
