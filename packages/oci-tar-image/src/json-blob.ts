// Small JSON files and blobs: size-capped, verified (digest and size) before they are parsed, and
// each read, hashed and parsed at most once per archive however often it is referenced.
import type { PositionalFile } from '@oci2lxc/range-reader';
import { blobPath, createDigester, validateDigest, type DigestAlgorithm, type ParsedDigest } from './digest.js';
import { inArchive, OciImageError } from './errors.js';
import { findNonIntegerNumber } from './json-integers.js';
import { shorten } from './message.js';
import type { TarEntry, TarIndex } from './tar-index.js';

/** JSON documents (index, manifest, config) are small; anything larger is refused unread. */
export const MAX_JSON_SIZE = 4 * 1024 * 1024;

export interface ArchiveContext {
  path: string;
  file: PositionalFile;
  index: TarIndex;
  /** Documents already read, by the offset of their tar member (created on first use). */
  json?: Map<number, JsonDoc>;
}

/** One JSON member of the archive: its bytes, read once; hashes, parse and checks done once each. */
export class JsonDoc {
  readonly bytes: Promise<Buffer>;
  readonly #hashes = new Map<DigestAlgorithm, string>();
  #parsed: { value: unknown } | { error: unknown } | undefined;
  #integersChecked = false;

  constructor(bytes: Promise<Buffer>) {
    this.bytes = bytes;
    // A failed read is reported by whoever awaits it; never as an unhandled rejection.
    bytes.catch(() => undefined);
  }

  /** Hex digest of the bytes with `algorithm`. */
  hash(bytes: Buffer, algorithm: DigestAlgorithm): string {
    let h = this.#hashes.get(algorithm);
    if (h === undefined) {
      h = createDigester(algorithm).update(bytes).digest('hex');
      this.#hashes.set(algorithm, h);
    }
    return h;
  }

  /** The parsed value; the same object for every caller (callers must not change it). */
  parse(bytes: Buffer, name: string, archive: string): unknown {
    if (this.#parsed === undefined) {
      try {
        this.#parsed = { value: JSON.parse(bytes.toString('utf8')) as unknown };
      } catch (err) {
        this.#parsed = { error: err };
      }
    }
    if ('error' in this.#parsed) {
      const err = this.#parsed.error;
      throw new OciImageError('INVALID_JSON', `${archive}: ${name} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { subject: name, cause: err });
    }
    return this.#parsed.value;
  }

  /** Refuses `size` / `schemaVersion` written as anything but an integer literal (as Go does). */
  checkIntegers(bytes: Buffer, name: string, archive: string): void {
    if (this.#integersChecked) return;
    const bad = findNonIntegerNumber(bytes.toString('utf8'));
    if (bad) {
      throw new OciImageError('INVALID_MANIFEST', `${archive}: ${name}: "${bad.key}" must be an integer, not ${shorten(bad.literal, 40)}`, { subject: name });
    }
    this.#integersChecked = true;
  }
}

/** The tar entry holding a blob, after validating the digest (so it can never be a path trick). */
export function findBlob(ctx: ArchiveContext, digest: string, context?: string): { entry: TarEntry; parsed: ParsedDigest } {
  const parsed = inArchive(ctx.path, () => validateDigest(digest, context));
  const entry = ctx.index.resolveFile(blobPath(parsed));
  if (!entry) {
    throw new OciImageError('MISSING_BLOB', `${ctx.path}: blob ${digest}${context ? ` (${context})` : ''} is missing from the archive`, { subject: digest });
  }
  return { entry, parsed };
}

/** The cached document of a member, read (capped) on first use. */
function docOf(ctx: ArchiveContext, entry: TarEntry, name: string): JsonDoc {
  if (entry.size > MAX_JSON_SIZE) {
    throw new OciImageError('INVALID_JSON', `${ctx.path}: ${name} is ${entry.size} bytes, more than the ${MAX_JSON_SIZE} allowed for a JSON document`, { subject: name });
  }
  const docs = (ctx.json ??= new Map());
  let doc = docs.get(entry.offset);
  if (!doc) {
    doc = new JsonDoc(ctx.index.reader(ctx.file, entry).readAll());
    docs.set(entry.offset, doc);
  }
  return doc;
}

export interface JsonRead {
  value: unknown;
  bytes: Buffer;
  /** The tar member it was read from. */
  entry: TarEntry;
  /** Hex digest of the bytes (cached: free after the first call per algorithm). */
  hash(algorithm: DigestAlgorithm): string;
}

export interface JsonReadOptions {
  /** Refuse non-integer `size` / `schemaVersion` literals (indexes and manifests). */
  integers?: boolean;
}

/** Reads and parses a JSON file of the archive by path (index.json, manifest.json, …). Undefined when absent. */
export async function readJsonFile(ctx: ArchiveContext, path: string, options: JsonReadOptions = {}): Promise<JsonRead | undefined> {
  const entry = ctx.index.resolveFile(path);
  if (!entry) return undefined;
  const name = shorten(path);
  const doc = docOf(ctx, entry, name);
  const bytes = await doc.bytes;
  const value = doc.parse(bytes, name, ctx.path);
  if (options.integers) doc.checkIntegers(bytes, name, ctx.path);
  return { value, bytes, entry, hash: (alg) => doc.hash(bytes, alg) };
}

/**
 * Reads a JSON blob by digest, checks its size against the descriptor (when given) and its digest
 * against its name, and only then parses it.
 */
export async function readJsonBlob(
  ctx: ArchiveContext,
  digest: string,
  expectedSize: number | undefined,
  what: string,
  options: JsonReadOptions = {},
): Promise<JsonRead> {
  const { entry, parsed } = findBlob(ctx, digest, what);
  if (expectedSize !== undefined && entry.size !== expectedSize) {
    throw new OciImageError('SIZE_MISMATCH', `${ctx.path}: ${what} ${digest} is ${entry.size} bytes, the descriptor says ${expectedSize}`, { subject: digest });
  }
  const name = `${what} ${digest}`;
  const doc = docOf(ctx, entry, name);
  const bytes = await doc.bytes;
  const actual = doc.hash(bytes, parsed.algorithm);
  if (actual !== parsed.encoded) {
    throw new OciImageError('DIGEST_MISMATCH', `${ctx.path}: ${what} ${digest} has digest ${parsed.algorithm}:${actual}`, { subject: digest });
  }
  const value = doc.parse(bytes, name, ctx.path);
  if (options.integers) doc.checkIntegers(bytes, name, ctx.path);
  return { value, bytes, entry, hash: (alg) => doc.hash(bytes, alg) };
}
