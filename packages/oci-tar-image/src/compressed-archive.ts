// Compressed image archives (`docker save app | gzip > app.tar.gz`, `zstd app.tar`): recognised by
// their magic bytes and decompressed once, before indexing, to an anonymous temporary file (created
// in the temp directory and unlinked at once: no exit path, not even SIGKILL, leaves it behind).
// The tar is then read as usual (headers only, blobs verified); decompressing costs one pass over
// the archive and its uncompressed size in temporary disk space.
import { createRequire } from 'node:module';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type zstdBindingModule from 'zstd-napi/binding.js';
import { abortedError, OciImageError } from './errors.js';

export type ArchiveCompression = 'none' | 'gzip' | 'zstd';

/** Bytes to read from the start of a file to recognise its compression. */
export const SNIFF_BYTES = 16;

const CHUNK = 1024 * 1024;

/** Compressions we recognise but do not read, with the command that makes a plain tar. */
const UNSUPPORTED: { name: string; command: string; test: (h: Uint8Array) => boolean }[] = [
  { name: 'xz', command: 'xz -dc', test: (h) => h.length >= 6 && h[0] === 0xfd && h[1] === 0x37 && h[2] === 0x7a && h[3] === 0x58 && h[4] === 0x5a && h[5] === 0x00 },
  {
    name: 'bzip2',
    command: 'bzip2 -dc',
    // "BZh" + block size digit + the block magic 0x314159265359 (or an empty stream's 0x177245385090)
    test: (h) => h.length >= 10 && h[0] === 0x42 && h[1] === 0x5a && h[2] === 0x68 && h[3]! >= 0x31 && h[3]! <= 0x39 && ((h[4] === 0x31 && h[5] === 0x41) || (h[4] === 0x17 && h[5] === 0x72)),
  },
  { name: 'lz4', command: 'lz4 -dc', test: (h) => h.length >= 4 && h[0] === 0x04 && h[1] === 0x22 && h[2] === 0x4d && h[3] === 0x18 },
  { name: 'zip', command: 'unzip -p', test: (h) => h.length >= 4 && h[0] === 0x50 && h[1] === 0x4b && h[2] === 0x03 && h[3] === 0x04 },
];

/**
 * The compression of an archive by its first bytes: gzip (1f 8b 08), zstd (28 b5 2f fd) or none.
 * Throws `UNSUPPORTED_COMPRESSION` (naming the command that decompresses it) for xz, bzip2, lz4, zip.
 */
export function sniffArchiveCompression(head: Uint8Array, archivePath: string): ArchiveCompression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  const other = UNSUPPORTED.find((u) => u.test(head));
  if (other) {
    throw new OciImageError(
      'UNSUPPORTED_COMPRESSION',
      `${archivePath}: the archive is ${other.name}-compressed; only gzip and zstd are read. Decompress it first: ${other.command} ARCHIVE > archive.tar`,
      { subject: archivePath },
    );
  }
  return 'none';
}

let zstdBinding: typeof zstdBindingModule | undefined;

/** zstd frames to plain bytes, at most one output buffer in memory at a time (a zstd bomb cannot fill memory). */
async function* unzstd(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  zstdBinding ??= createRequire(import.meta.url)('zstd-napi/binding.js') as typeof zstdBindingModule;
  const dctx = new zstdBinding.DCtx();
  const outSize = Math.max(zstdBinding.dStreamOutSize(), 256 * 1024);
  let inFrame = false;
  for await (const chunk of source) {
    let input = chunk;
    for (;;) {
      const out = Buffer.allocUnsafe(outSize);
      const [ret, produced, consumed] = dctx.decompressStream(out, input);
      input = input.subarray(consumed);
      if (produced > 0) yield out.subarray(0, produced);
      inFrame = ret !== 0;
      // Done with this chunk when all input is used and the decoder has no more output pending.
      if (input.length === 0 && produced < out.length) break;
    }
  }
  if (inFrame) throw new TruncatedInput('the zstd stream ends in the middle of a frame');
}

class TruncatedInput extends Error {}

export interface DecompressOptions {
  /** Where the temporary file is created (and at once unlinked); default: the OS temp directory. */
  tempDir?: string | undefined;
  /** Refuse to write more than this many bytes (a decompression bomb fills no disk). */
  maxSize: number;
  signal?: AbortSignal | undefined;
}

/**
 * Decompresses the whole archive into an anonymous temporary file; resolves to its handle (opened
 * for reading and writing, already unlinked) and size. The caller owns the handle.
 */
export async function decompressArchive(
  source: FileHandle,
  archivePath: string,
  compression: 'gzip' | 'zstd',
  options: DecompressOptions,
): Promise<{ handle: FileHandle; size: number }> {
  const base = options.tempDir ?? tmpdir();
  let dir: string;
  try {
    dir = await mkdtemp(join(base, 'oci2lxc-archive-'));
  } catch (err) {
    throw new OciImageError('ARCHIVE_UNREADABLE', `${archivePath}: cannot create a temporary file in ${base} to decompress the archive (${errno(err)})`, { subject: archivePath, cause: err });
  }
  let out: FileHandle;
  try {
    out = await open(join(dir, 'archive.tar'), 'wx+', 0o600);
  } finally {
    // Unlinked before a byte is written: the data lives only as long as the handle.
    await rm(dir, { recursive: true, force: true });
  }
  let size = 0;
  // Our own error from a stage, kept: pipeline() may report it as a generic abort of the others.
  let failure: unknown;
  const write = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      if (size + chunk.length > options.maxSize) {
        throw (failure = new OciImageError(
          'ARCHIVE_TOO_LARGE',
          `${archivePath}: the ${compression}-compressed archive decompresses to more than ${options.maxSize} bytes (the limit; see maxDecompressedSize)`,
          { subject: archivePath },
        ));
      }
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await out.write(chunk, done, chunk.length - done, size + done);
        done += bytesWritten;
      }
      size += chunk.length;
    }
  };
  const input = source.createReadStream({ start: 0, autoClose: false, highWaterMark: CHUNK });
  try {
    const signalOpt = options.signal !== undefined ? { signal: options.signal } : {};
    if (compression === 'gzip') await pipeline(input, createGunzip({ chunkSize: CHUNK }), write, signalOpt);
    else await pipeline(input, unzstd, write, signalOpt);
    return { handle: out, size };
  } catch (err) {
    await out.close().catch(() => undefined);
    throw decompressError(failure ?? err, archivePath, compression, base, options.signal);
  }
}

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

function decompressError(err: unknown, archivePath: string, compression: string, tempDir: string, signal: AbortSignal | undefined): OciImageError {
  if (err instanceof OciImageError) return err;
  if (signal?.aborted) return abortedError(archivePath, signal);
  const code = (err as NodeJS.ErrnoException).code;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TruncatedInput || code === 'Z_BUF_ERROR') {
    return new OciImageError('TRUNCATED_ARCHIVE', `${archivePath}: archive is truncated: the ${compression} data ends early (${message})`, { subject: archivePath, cause: err });
  }
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO' || code === 'EROFS') {
    return new OciImageError('ARCHIVE_UNREADABLE', `${archivePath}: cannot write the decompressed archive in ${tempDir} (${code})`, { subject: archivePath, cause: err });
  }
  return new OciImageError('INVALID_TAR', `${archivePath}: the ${compression}-compressed archive is corrupt: ${message}`, { subject: archivePath, cause: err });
}
