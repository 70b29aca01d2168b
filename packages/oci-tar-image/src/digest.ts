// Digests by the image-spec grammar. A digest is validated before it is ever used as a path, so
// `sha256:../../etc/passwd` can never name a file.
import { createHash, type Hash } from 'node:crypto';
import { OciImageError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  encoded: string;
}

// image-spec: algorithm ::= component (separator component)*, component ::= [a-z0-9]+,
// separator ::= [+._-], encoded ::= [a-zA-Z0-9=_-]+
const GRAMMAR = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const ENCODED: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

function show(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

/**
 * Checks a digest string (`algorithm:encoded`) against the image-spec grammar and the registered
 * algorithms: sha256 (64 lowercase hex) and sha512 (128 lowercase hex). Anything else, including
 * well-formed digests of other algorithms, is an `INVALID_DIGEST` error.
 * @param context where the digest came from, for the message (e.g. "layer 2 of sha256:…")
 */
export function validateDigest(digest: string, context?: string): ParsedDigest {
  const where = context ? ` in ${context}` : '';
  if (typeof digest !== 'string') {
    throw new OciImageError('INVALID_DIGEST', `digest${where} is not a string`, { subject: String(digest) });
  }
  const m = GRAMMAR.exec(digest);
  if (!m) throw new OciImageError('INVALID_DIGEST', `invalid digest ${show(digest)}${where}`, { subject: digest });
  const algorithm = m[1]!;
  const encoded = m[2]!;
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new OciImageError('INVALID_DIGEST', `unsupported digest algorithm '${algorithm}' in ${show(digest)}${where}`, { subject: digest });
  }
  if (!ENCODED[algorithm].test(encoded)) {
    throw new OciImageError('INVALID_DIGEST', `invalid ${algorithm} digest ${show(digest)}${where}: expected ${algorithm === 'sha256' ? 64 : 128} lowercase hex digits`, {
      subject: digest,
    });
  }
  return { algorithm, encoded };
}

/** `blobs/<alg>/<encoded>` of a validated digest. */
export function blobPath(digest: ParsedDigest): string {
  return `blobs/${digest.algorithm}/${digest.encoded}`;
}

export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}
