// A content-addressed blob cache: `<dir>/blobs/<alg>/<hex>`. A blob enters it only whole and
// verified: it is written to `<dir>/tmp/` first and renamed into place after its digest and size
// matched, so a reader never sees a partial file and two processes writing the same blob at once
// both succeed (the second rename replaces identical bytes).
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { validateDigest } from '@oci2lxc/oci-tar-image';
import { RegistryError } from './errors.js';

/** `/var/cache/oci2lxc` as root, else `$XDG_CACHE_HOME/oci2lxc` (default `~/.cache/oci2lxc`). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/cache/oci2lxc';
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'oci2lxc');
}

export interface CacheEntry {
  digest: string;
  size: number;
  /** Last use (the file's mtime, touched on every hit). */
  lastUsed: Date;
}

/** A blob being written: `write` chunks, then `commit` (after verification) or `abort`. */
export interface BlobWriter {
  write(chunk: Buffer): Promise<void>;
  /** Moves the finished file into place. Call only once the bytes were verified. */
  commit(): Promise<string>;
  /** Removes the partial file; safe to call more than once or after commit. */
  abort(): Promise<void>;
}

/** Temp files older than this are from a crashed process; `prune` removes them. */
const STALE_TEMP_MS = 24 * 3600 * 1000;

export class BlobCache {
  readonly dir: string;
  #ready: Promise<void> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The path a verified blob has in the cache (the digest is validated: it names a file). */
  pathOf(digest: string): string {
    const { algorithm, encoded } = validateDigest(digest);
    return join(this.dir, 'blobs', algorithm, encoded);
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      try {
        for (const d of [this.dir, join(this.dir, 'blobs'), join(this.dir, 'blobs', 'sha256'), join(this.dir, 'blobs', 'sha512'), join(this.dir, 'tmp')]) {
          await mkdir(d, { recursive: true, mode: 0o700 });
        }
      } catch (err) {
        throw new RegistryError('CACHE_ERROR', `blob cache ${this.dir}: cannot create it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { subject: this.dir, cause: err });
      }
    })();
    return this.#ready;
  }

  /** The cached file of `digest` when it is there with the expected size (and marks it used). */
  async lookup(digest: string, size: number): Promise<string | undefined> {
    const path = this.pathOf(digest);
    try {
      const st = await stat(path);
      if (!st.isFile() || st.size !== size) return undefined;
      const now = new Date();
      await utimes(path, now, now).catch(() => undefined);
      return path;
    } catch {
      return undefined;
    }
  }

  /** Drops a cached blob (one that failed verification when read). */
  async remove(digest: string): Promise<void> {
    await unlink(this.pathOf(digest)).catch(() => undefined);
  }

  async writer(digest: string): Promise<BlobWriter> {
    await this.#init();
    const final = this.pathOf(digest);
    const { encoded } = validateDigest(digest);
    const temp = join(this.dir, 'tmp', `${encoded}.${process.pid}.${randomBytes(6).toString('hex')}`);
    return fileWriter(temp, final);
  }

  async list(): Promise<CacheEntry[]> {
    const out: CacheEntry[] = [];
    for (const algorithm of ['sha256', 'sha512']) {
      let names: string[];
      try {
        names = await readdir(join(this.dir, 'blobs', algorithm));
      } catch {
        continue;
      }
      for (const name of names) {
        const digest = `${algorithm}:${name}`;
        try {
          validateDigest(digest);
          const st = await stat(join(this.dir, 'blobs', algorithm, name));
          if (st.isFile()) out.push({ digest, size: st.size, lastUsed: st.mtime });
        } catch {
          // not a blob of ours
        }
      }
    }
    return out.sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
  }

  /**
   * Removes blobs unused for `olderThanMs` (default: all), oldest first, and, with `maxBytes`,
   * the least recently used until the rest fits. Stale temp files go too.
   */
  async prune(options: { olderThanMs?: number; maxBytes?: number } = {}): Promise<{ removed: CacheEntry[]; kept: CacheEntry[] }> {
    const now = Date.now();
    const entries = await this.list();
    const removed: CacheEntry[] = [];
    let kept = entries.filter((e) => {
      const old = options.olderThanMs === undefined ? options.maxBytes === undefined : now - e.lastUsed.getTime() >= options.olderThanMs;
      if (old) removed.push(e);
      return !old;
    });
    if (options.maxBytes !== undefined) {
      let total = kept.reduce((n, e) => n + e.size, 0);
      const rest: CacheEntry[] = [];
      for (const e of kept) {
        if (total > options.maxBytes) {
          removed.push(e);
          total -= e.size;
        } else rest.push(e);
      }
      kept = rest;
    }
    for (const e of removed) await this.remove(e.digest);
    try {
      for (const name of await readdir(join(this.dir, 'tmp'))) {
        const p = join(this.dir, 'tmp', name);
        const st = await stat(p).catch(() => undefined);
        if (st && now - st.mtime.getTime() > STALE_TEMP_MS) await rm(p, { force: true });
      }
    } catch {
      // no tmp directory
    }
    return { removed, kept };
  }
}

/** Bytes a writer may have in flight before `write` waits (the chunks are the caller's, not copied). */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** Bytes gathered into one write. */
const WRITE_BATCH = 1024 * 1024;

/**
 * A writer to `temp`, renamed to `final` on commit. Exclusive create: never follows a planted link.
 * Writes are positioned and not waited for one by one (up to 8 MiB in flight), so that a blob
 * streamed into extraction is not held back by the cache file's writes; `commit` waits for all.
 */
export async function fileWriter(temp: string, final: string): Promise<BlobWriter> {
  const handle = await open(temp, 'wx', 0o600);
  let state: 'open' | 'committed' | 'aborted' = 'open';
  let position = 0;
  let pendingBytes = 0;
  const pending = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  // Chunks are gathered into writes of at least WRITE_BATCH bytes: a network blob arrives in
  // 16–64 KiB pieces, and a write each would keep the thread pool busy with tiny jobs.
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const writeAll = async (chunks: Buffer[], at: number): Promise<void> => {
    let rest = chunks;
    let pos = at;
    while (rest.length > 0) {
      let n = (await handle.writev(rest, pos)).bytesWritten;
      pos += n;
      // A short write: drop what was written, go on with the rest.
      while (rest.length > 0 && n >= rest[0]!.length) {
        n -= rest[0]!.length;
        rest = rest.slice(1);
      }
      if (n > 0) rest = [rest[0]!.subarray(n), ...rest.slice(1)];
    }
  };
  // A function, not inline checks: `failed` is set by the writes' callbacks.
  const rethrow = (): void => {
    if (failed) throw failed.error;
  };
  const flush = (): void => {
    if (batchBytes === 0) return;
    const chunks = batch;
    const bytes = batchBytes;
    batch = [];
    batchBytes = 0;
    const at = position;
    position += bytes;
    pendingBytes += bytes;
    const p: Promise<void> = writeAll(chunks, at)
      .catch((error: unknown) => {
        failed ??= { error };
      })
      .finally(() => {
        pendingBytes -= bytes;
        pending.delete(p);
      });
    pending.add(p);
  };
  const settle = async (): Promise<void> => {
    flush();
    await Promise.all(pending);
    rethrow();
  };
  return {
    async write(chunk: Buffer): Promise<void> {
      rethrow();
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes < WRITE_BATCH) return;
      flush();
      while (pendingBytes > MAX_PENDING_BYTES && pending.size > 0) await Promise.race(pending);
      rethrow();
    },
    async commit(): Promise<string> {
      if (state !== 'open') throw new Error(`${temp}: writer already ${state}`);
      state = 'committed';
      // No fsync: a cache entry is verified whenever it is read, so a file torn by a crash is
      // dropped and fetched again; a sync here would put the disk's flush on every pull's path.
      try {
        await settle();
        await handle.close();
        await rename(temp, final);
      } catch (err) {
        await handle.close().catch(() => undefined);
        await unlink(temp).catch(() => undefined);
        throw err;
      }
      return final;
    },
    async abort(): Promise<void> {
      if (state !== 'open') return;
      state = 'aborted';
      await Promise.allSettled(pending);
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
    },
  };
}
