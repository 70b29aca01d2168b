// Small JSON files and blobs: size-capped, verified (digest and size) before they are parsed.
import type { PositionalFile } from '@oci2lxc/range-reader';
import { blobPath, createDigester, validateDigest, type ParsedDigest } from './digest.js';
import { OciImageError } from './errors.js';
import type { TarEntry, TarIndex } from './tar-index.js';

/** JSON documents (index, manifest, config) are small; anything larger is refused unread. */
export const MAX_JSON_SIZE = 4 * 1024 * 1024;

export interface ArchiveContext {
  path: string;
  file: PositionalFile;
  index: TarIndex;
}

/** The tar entry holding a blob, after validating the digest (so it can never be a path trick). */
export function findBlob(ctx: ArchiveContext, digest: string, context?: string): { entry: TarEntry; parsed: ParsedDigest } {
  const parsed = validateDigest(digest, context);
  const entry = ctx.index.resolveFile(blobPath(parsed));
  if (!entry) {
    throw new OciImageError('MISSING_BLOB', `${ctx.path}: blob ${digest}${context ? ` (${context})` : ''} is missing from the archive`, { subject: digest });
  }
  return { entry, parsed };
}

function parseJson(bytes: Buffer, name: string, archive: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new OciImageError('INVALID_JSON', `${archive}: ${name} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, {
      subject: name,
      cause: err,
    });
  }
}

async function readCapped(ctx: ArchiveContext, entry: TarEntry, name: string): Promise<Buffer> {
  if (entry.size > MAX_JSON_SIZE) {
    throw new OciImageError('INVALID_JSON', `${ctx.path}: ${name} is ${entry.size} bytes, more than the ${MAX_JSON_SIZE} allowed for a JSON document`, { subject: name });
  }
  return ctx.index.reader(ctx.file, entry).readAll();
}

/** Reads and parses a JSON file of the archive by path (index.json, manifest.json, …). Undefined when absent. */
export async function readJsonFile(ctx: ArchiveContext, path: string): Promise<{ value: unknown; bytes: Buffer } | undefined> {
  const entry = ctx.index.resolveFile(path);
  if (!entry) return undefined;
  const bytes = await readCapped(ctx, entry, path);
  return { value: parseJson(bytes, path, ctx.path), bytes };
}

/**
 * Reads a JSON blob by digest, checks its size against the descriptor (when given) and its digest
 * against its name, and only then parses it.
 */
export async function readJsonBlob(ctx: ArchiveContext, digest: string, expectedSize: number | undefined, what: string): Promise<{ value: unknown; bytes: Buffer }> {
  const { entry, parsed } = findBlob(ctx, digest, what);
  if (expectedSize !== undefined && entry.size !== expectedSize) {
    throw new OciImageError('SIZE_MISMATCH', `${ctx.path}: ${what} ${digest} is ${entry.size} bytes, the descriptor says ${expectedSize}`, { subject: digest });
  }
  const bytes = await readCapped(ctx, entry, `${what} ${digest}`);
  const actual = createDigester(parsed.algorithm).update(bytes).digest('hex');
  if (actual !== parsed.encoded) {
    throw new OciImageError('DIGEST_MISMATCH', `${ctx.path}: ${what} ${digest} has digest ${parsed.algorithm}:${actual}`, { subject: digest });
  }
  return { value: parseJson(bytes, `${what} ${digest}`, ctx.path), bytes };
}
