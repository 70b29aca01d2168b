// One pass over one layer: stored bytes → count → decompress → hash (diff_id) → tar reader →
// Applier. Pull-based: the loop below asks the tar reader for the next entry and hands its body to
// the applier, which reads it; the reader pulls decompressed chunks only when it needs them. Every
// wait is on the stream (which ends, fails or has I/O pending) or on the applier's own I/O, so a
// layer cannot stall with nothing left to run; the 'beforeExit' guard turns any such bug into an
// error instead of a silent exit 0.
import { createHash, getHashes } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { Applier } from './applier.js';
import { DecompressError, decompressor, isZlibError, type Compression } from './decompress.js';
import { ExtractError, ThreadFailure } from './errors.js';
import { isSourceError } from './source-error.js';
import { display } from './paths.js';
import { entryInfo } from './tar-entry.js';
import { TarFormatError, TarReader } from './tar-reader.js';

export interface LayerRun {
  source: Readable;
  compression: Compression;
  applier: Applier;
  /** Algorithm of the expected diff_id (default sha256). */
  algorithm?: string;
  layer?: string;
  signal?: AbortSignal;
  onBytes?: (n: number) => void;
}

/** Applies one layer; resolves to the digest of the uncompressed tar (`<alg>:<hex>`). */
export async function runLayer(run: LayerRun): Promise<string> {
  const { applier, signal } = run;
  const algorithm = run.algorithm ?? 'sha256';
  if (!getHashes().includes(algorithm)) throw applier.error('INVALID_ARGUMENT', `unsupported diff_id algorithm ${algorithm}`);
  const hash = createHash(algorithm);
  const streamErrors: unknown[] = [];

  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      run.onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  const onAbort = (): void => {
    run.source.destroy(applier.error('ABORTED', 'extraction aborted'));
  };
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });

  const dec = decompressor(run.compression);
  const stages = [run.source, counter, ...(dec ? [dec] : [])];
  let last!: AsyncIterable<Buffer>;
  const piped = new Promise<void>((resolveDone) => {
    last = (pipeline as unknown as (...args: unknown[]) => AsyncIterable<Buffer>)(...stages, (err: unknown) => {
      if (err) streamErrors.push(err);
      resolveDone();
    });
  });
  const chunks = last[Symbol.asyncIterator]();
  const hashed: AsyncIterator<Buffer> = {
    next: async () => {
      const r = await chunks.next();
      if (!r.done) hash.update(r.value);
      return r;
    },
  };
  const reader = new TarReader(hashed);

  // Should the event loop ever empty while this layer is pending, fail instead of exiting 0.
  let onBeforeExit: (() => void) | undefined;
  const stalled = new Promise<never>((_, reject) => {
    onBeforeExit = () => reject(applier.error('IO_ERROR', 'layer reading stalled with nothing left to wait for (a bug: please report it)'));
  });
  stalled.catch(() => {});
  process.on('beforeExit', onBeforeExit!);

  let failure: unknown;
  const work = async (): Promise<void> => {
    for (;;) {
      const h = await reader.next();
      if (h === undefined) break;
      await applier.entry(entryInfo(h), reader.body());
    }
    await reader.drain(); // hashes (and verifies, upstream) what follows the end marker
  };
  try {
    await Promise.race([work(), stalled]);
  } catch (err) {
    failure = err;
  } finally {
    process.off('beforeExit', onBeforeExit!);
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined || streamErrors.length > 0) {
    run.source.destroy();
    chunks.return?.().catch(() => {});
    await Promise.race([piped, new Promise((r) => setTimeout(r, 1000).unref())]);
    // The root cause wins: the source's own verdict (oci-tar-image: a wrong digest, a truncated
    // archive) explains whatever the reader or applier then saw; then ours; then the rest.
    const all = [failure, ...streamErrors].filter((e) => e !== undefined);
    const source = streamErrors.find(isSourceError);
    // A dead thread explains a truncated stream or a stopped writer, not the other way round.
    const thread = all.find((e) => e instanceof ThreadFailure);
    const typed = all.find((e) => e instanceof ExtractError || e instanceof TarFormatError);
    throw classify(source ?? thread ?? typed ?? all[0], applier, signal);
  }
  return `${algorithm}:${hash.digest('hex')}`;
}

function classify(err: unknown, applier: Applier, signal: AbortSignal | undefined): Error {
  if (err instanceof ExtractError) return err;
  // Errors of @oci2lxc/oci-tar-image (compressed digest or size) keep their own code.
  if (isSourceError(err)) return err;
  if (signal?.aborted) return applier.error('ABORTED', 'extraction aborted', undefined, err);
  if (err instanceof TarFormatError) {
    return applier.error('CORRUPT_LAYER', `invalid tar data: ${err.message}`, err.entry === undefined ? undefined : display(err.entry), err);
  }
  if (err instanceof DecompressError || isZlibError(err)) {
    const what = err instanceof DecompressError ? err.compression : 'gzip';
    return applier.error('CORRUPT_LAYER', `layer is not valid ${what} data: ${(err as Error).message}`, undefined, err);
  }
  const wrapped = applier.wrap(err);
  if (wrapped instanceof ExtractError) return wrapped;
  const message = err instanceof Error ? err.message : String(err);
  return applier.error('CORRUPT_LAYER', `invalid layer data: ${message}`, undefined, err);
}
