// One pass over one layer: stored bytes → count → decompress → hash (diff_id) → tar-stream →
// Applier. Backpressure all the way: the tar parser waits for each entry to be applied, the
// feeder waits for the parser, the decompressor for the feeder.
import { createHash, getHashes } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { Applier } from './applier.js';
import { DecompressError, decompressor, isZlibError, type Compression } from './decompress.js';
import { ExtractError } from './errors.js';
import { createTarParser } from './tar-entry.js';

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

interface Events {
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  off(event: string, fn: (...args: unknown[]) => void): unknown;
}

function waitFor(em: Events, ok: string, failEvents: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      em.off(ok, onOk);
      for (const f of failEvents) em.off(f, onFail);
    };
    const onOk = (): void => {
      cleanup();
      resolve();
    };
    const onFail = (err?: unknown): void => {
      cleanup();
      reject(err instanceof Error ? err : new Error('tar parser closed early'));
    };
    em.on(ok, onOk);
    for (const f of failEvents) em.on(f, onFail);
  });
}

/** Applies one layer; resolves to the digest of the uncompressed tar (`<alg>:<hex>`). */
export async function runLayer(run: LayerRun): Promise<string> {
  const { applier, signal } = run;
  const algorithm = run.algorithm ?? 'sha256';
  if (!getHashes().includes(algorithm)) throw applier.error('DIGEST_MISMATCH', `unsupported digest algorithm ${algorithm}`);
  const hash = createHash(algorithm);
  const { extract, info } = createTarParser();
  let applyError: unknown;
  let current: Promise<void> = Promise.resolve();
  const streamErrors: unknown[] = [];

  extract.on('entry', (header, stream, next) => {
    const body = stream as unknown as AsyncIterable<Buffer>;
    let e;
    try {
      e = info(header);
    } catch (err) {
      next(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    current = applier.entry(e, body);
    current.then(
      () => next(),
      (err: unknown) => {
        applyError ??= err;
        next(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
  const ex = extract as unknown as Events & { write(b: Buffer): boolean; end(): void; destroy(err?: Error): void; destroyed?: boolean };
  const finished = waitFor(ex, 'finish', ['error', 'close']);
  finished.catch(() => {});

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
  let piped!: Promise<void>;
  const tarBytes = new Promise<AsyncIterable<Buffer>>((resolveStream) => {
    piped = new Promise<void>((resolveDone) => {
      const last = (pipeline as unknown as (...args: unknown[]) => AsyncIterable<Buffer>)(...stages, (err: unknown) => {
        if (err) streamErrors.push(err);
        resolveDone();
      });
      resolveStream(last);
    });
  });

  try {
    for await (const chunk of await tarBytes) {
      hash.update(chunk);
      if (applyError) break;
      if (!ex.write(chunk)) await waitFor(ex, 'drain', ['close']);
    }
    if (!applyError) {
      ex.end();
      await finished;
    }
  } catch (err) {
    streamErrors.push(err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (applyError || streamErrors.length > 0) {
    ex.destroy();
    run.source.destroy();
    // Let the entry being applied settle (it closes its file) before the caller cleans up.
    await Promise.race([Promise.all([piped, current.catch(() => {})]), new Promise((r) => setTimeout(r, 1000).unref())]);
    // The most specific error wins: ours, then the source's own (oci-tar-image), then the rest.
    const typed = streamErrors.find((e) => e instanceof ExtractError || (e instanceof Error && e.name === 'OciImageError'));
    throw classify(applyError ?? typed ?? streamErrors[0], applier, signal);
  }
  return `${algorithm}:${hash.digest('hex')}`;
}

function classify(err: unknown, applier: Applier, signal: AbortSignal | undefined): Error {
  if (err instanceof ExtractError) return err;
  // Errors of @oci2lxc/oci-tar-image (compressed digest or size) keep their own code.
  if (err instanceof Error && err.name === 'OciImageError') return err;
  if (signal?.aborted) return applier.error('ABORTED', 'extraction aborted', undefined, err);
  if (err instanceof DecompressError || isZlibError(err)) {
    const what = err instanceof DecompressError ? err.compression : 'gzip';
    return applier.error('CORRUPT_LAYER', `layer is not valid ${what} data: ${(err as Error).message}`, undefined, err);
  }
  const wrapped = applier.wrap(err);
  if (wrapped instanceof ExtractError) return wrapped;
  const message = err instanceof Error ? err.message : String(err);
  return applier.error('CORRUPT_LAYER', `invalid layer data: ${message}`, undefined, err);
}
