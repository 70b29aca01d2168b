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

export function verifyingStream(source: Readable, opts: VerifyOptions): Readable {
  const hash = createDigester(opts.algorithm);
  const subject = opts.digest ?? opts.what;
  let count = 0;
  const out = new Transform({
    // Keep the source's large chunks: no re-chunking, little buffering.
    readableHighWaterMark: source.readableHighWaterMark,
    writableHighWaterMark: source.readableHighWaterMark,
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      count += chunk.length;
      if (count > opts.size) {
        cb(new OciImageError('SIZE_MISMATCH', `${opts.archivePath}: ${opts.what} ${subject} is longer than the ${opts.size} bytes its descriptor says`, { subject }));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (count !== opts.size) {
        cb(new OciImageError('SIZE_MISMATCH', `${opts.archivePath}: ${opts.what} ${subject} is ${count} bytes, its descriptor says ${opts.size}`, { subject }));
        return;
      }
      const actual = `${opts.algorithm}:${hash.digest('hex')}`;
      if (opts.digest !== undefined && actual !== opts.digest) {
        cb(new OciImageError('DIGEST_MISMATCH', `${opts.archivePath}: ${opts.what} ${opts.digest} has digest ${actual}`, { subject }));
        return;
      }
      try {
        opts.onDigest?.(actual);
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
