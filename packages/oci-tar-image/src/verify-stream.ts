// A stream of a blob's stored bytes that hashes and counts them as they flow, and fails with an
// OciImageError instead of ending when the size or digest is wrong.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { isShortReadError } from '@oci2lxc/range-reader';
import { createDigester, type DigestAlgorithm } from './digest.js';
import { OciImageError } from './errors.js';

export interface VerifyOptions {
  /** Expected digest (`alg:hex`), or undefined when only the size is known (then `algorithm` is hashed). */
  digest: string | undefined;
  algorithm: DigestAlgorithm;
  size: number;
  /** What the blob is, for messages (e.g. "layer 1"). */
  what: string;
  archivePath: string;
  /** Called with the computed digest once all bytes have passed and matched. */
  onDigest?: (digest: string) => void;
}

/**
 * The check behind `verifyingStream` and `verifyChunks`: counts and hashes a blob's bytes as they
 * pass; `update` throws as soon as there are too many, `finish` when the size or digest is wrong.
 */
export class BlobVerifier {
  readonly #opts: VerifyOptions;
  readonly #hash: ReturnType<typeof createDigester>;
  readonly #subject: string;
  #count = 0;

  constructor(opts: VerifyOptions) {
    this.#opts = opts;
    this.#hash = createDigester(opts.algorithm);
    this.#subject = opts.digest ?? opts.what;
  }

  update(chunk: Buffer): void {
    const opts = this.#opts;
    this.#count += chunk.length;
    if (this.#count > opts.size) {
      throw new OciImageError('SIZE_MISMATCH', `${opts.archivePath}: ${opts.what} ${this.#subject} is longer than the ${opts.size} bytes its descriptor says`, { subject: this.#subject });
    }
    this.#hash.update(chunk);
  }

  /** The verified digest; throws SIZE_MISMATCH or DIGEST_MISMATCH instead. */
  finish(): string {
    const opts = this.#opts;
    if (this.#count !== opts.size) {
      throw new OciImageError('SIZE_MISMATCH', `${opts.archivePath}: ${opts.what} ${this.#subject} is ${this.#count} bytes, its descriptor says ${opts.size}`, { subject: this.#subject });
    }
    const actual = `${opts.algorithm}:${this.#hash.digest('hex')}`;
    if (opts.digest !== undefined && actual !== opts.digest) {
      throw new OciImageError('DIGEST_MISMATCH', `${opts.archivePath}: ${opts.what} ${opts.digest} has digest ${actual}`, { subject: this.#subject });
    }
    opts.onDigest?.(actual);
    return actual;
  }
}

/**
 * `verifyingStream` for an async iterable of chunks: yields them as they are (no stream in
 * between, no re-chunking) and throws instead of ending when the size or digest is wrong.
 */
export async function* verifyChunks(source: AsyncIterable<Buffer>, opts: VerifyOptions): AsyncGenerator<Buffer> {
  const check = new BlobVerifier(opts);
  for await (const chunk of source) {
    check.update(chunk);
    yield chunk;
  }
  check.finish();
}

export function verifyingStream(source: Readable, opts: VerifyOptions): Readable {
  const check = new BlobVerifier(opts);
  const subject = opts.digest ?? opts.what;
  const out = new Transform({
    // Keep the source's large chunks: no re-chunking, little buffering.
    readableHighWaterMark: source.readableHighWaterMark,
    writableHighWaterMark: source.readableHighWaterMark,
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        check.update(chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      try {
        check.finish();
      } catch (err) {
        cb(err as Error);
        return;
      }
      cb();
    },
  });
  source.on('error', (err: Error) => {
    if (isShortReadError(err)) {
      out.destroy(
        new OciImageError('TRUNCATED_ARCHIVE', `${opts.archivePath}: ${opts.what} ${subject} ends early: ${err.message}`, { subject, cause: err }),
      );
    } else out.destroy(err);
  });
  out.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  source.pipe(out);
  return out;
}
