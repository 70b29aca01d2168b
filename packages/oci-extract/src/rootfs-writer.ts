// Every file system effect of applying entries goes through here: create a file, make a
// directory, a symlink, a hardlink or a device node, remove a name, change a name's owner, and
// the looks that decide them (lstat, for the resolver too). Small files go to a FileSink
// (file-sink.ts: here, the writer thread or the libuv pool, chosen once by the write strategy),
// which may write them behind; the ordering rule that makes that safe lives here and only here:
// only *creating a file at a name known to be free, in a directory known to be real* is deferred,
// and every other effect (or look) that could touch a name not yet written first waits for the
// sink (the barrier), so effects still happen in archive order. The applier (OCI entry semantics)
// never sees the sink.
import { linkSync, lstatSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, lchownSync, type Stats } from 'node:fs';
import { errnoCode } from './errors.js';
import { makeNode, tempNodeName, type NodeKind } from './devices.js';
import { writeBodyAsync, type EntryBody } from './large-file.js';
import { bytes } from './paths.js';
import { createSink } from './auto-sink.js';
import type { FileSink, WrapError } from './file-sink.js';
import { runJobWith, type FileJob } from './write-file.js';
import type { WriteRoutes, WriteStrategy } from './write-strategy.js';

/** Told of every name removed (the applier's caches and pending metadata). */
export type OnRemoved = (rel: string, st: Stats) => void;

/** Maps the failure of a file written behind to its entry's error. */
export type MapError = (err: unknown) => unknown;

export class RootfsWriter {
  private readonly files: FileSink;

  constructor(
    strategy: Required<WriteStrategy>,
    wrapError: WrapError,
    private readonly onRemoved: OnRemoved,
  ) {
    this.files = createSink(strategy, wrapError);
  }

  /** Small files written so far, by route. */
  get routes(): WriteRoutes {
    return this.files.routes;
  }

  /** A new layer: `decompressingOnThread` when it is decompressed on a thread of its own. */
  beginLayer(decompressingOnThread: boolean): void {
    this.files.beginLayer(decompressingOnThread);
  }

  /** Throws the first failure of a file written behind. */
  check(): void {
    this.files.check();
  }

  /**
   * The barrier for looking at or changing `rel`: a promise to wait for when a queued file is
   * about to take that name (or `rel` is the root, above everything queued), else undefined.
   */
  private barrier(rel: string): Promise<void> | undefined {
    return rel === '' || this.files.has(rel) ? this.files.barrier() : undefined;
  }

  /**
   * What a hardlink to `rel` would point at, without waiting: a file submitted there and not yet
   * written counts as the regular file it will be.
   */
  linkTargetKind(rel: string, host: string): 'missing' | 'directory' | 'other' {
    if (this.files.has(rel)) return 'other';
    const st = lstatSync(bytes(host), { throwIfNoEntry: false });
    return st === undefined ? 'missing' : st.isDirectory() ? 'directory' : 'other';
  }

  /** lstat of `rel`, after its barrier. */
  lstat(rel: string, host: string): Stats | undefined | Promise<Stats | undefined> {
    const look = (): Stats | undefined => lstatSync(bytes(host), { throwIfNoEntry: false });
    const wait = this.barrier(rel);
    return wait ? wait.then(look) : look(); // no await (a microtask per entry) when nothing is queued
  }

  /** Removes whatever is at `rel` (a directory recursively; a symlink itself, never its target).
   * A directory may hold queued files: those are waited for first. */
  async remove(rel: string, host: string, known?: Stats): Promise<void> {
    const wait = this.barrier(rel);
    if (wait) await wait;
    const hb = bytes(host);
    const st = known ?? lstatSync(hb, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      if (this.files.size > 0) await this.files.barrier();
      rmSync(hb, { recursive: true, force: true });
    } else {
      unlinkSync(hb);
    }
    this.onRemoved(rel, st);
  }

  /** A new directory at `rel` (free: the caller looked). */
  mkdir(host: string, mode: number): Buffer {
    const hb = bytes(host);
    mkdirSync(hb, mode);
    return hb;
  }

  /** A small file (≤ SMALL_FILE), written or queued; `rel` is free. */
  async smallFile(rel: string, job: FileJob, path: string): Promise<void> {
    await this.files.submit(rel, job, path);
  }

  /** A large file, its body streamed into it here; `host` is free. */
  async largeFile(job: FileJob, body: EntryBody): Promise<void> {
    await runJobWith(job, (fd) => writeBodyAsync(fd, body));
  }

  /** A symlink at `rel` (whatever is there is replaced), its target verbatim. */
  async symlink(rel: string, host: string, target: string): Promise<void> {
    const wait = this.barrier(rel);
    if (wait) await wait;
    await this.replacing(rel, host, () => symlinkSync(bytes(target), bytes(host)));
  }

  /**
   * A hardlink at `rel` (free) to `trel`. A target still queued is written first, or the link
   * is queued behind it when the queue keeps order. ENOENT (no target) goes to `mapError`.
   */
  async link(rel: string, host: string, trel: string, thost: string, path: string, mapError: MapError): Promise<void> {
    if (this.files.has(trel)) {
      if (this.files.linksBehind(trel)) {
        // Queued after its target, so made after it (the sink keeps archive order).
        const job = { host: bytes(host), linkTarget: bytes(thost), flags: 0, createMode: 0, chunks: [], atime: 0, mtime: 0 };
        await this.files.submit(rel, job, path, mapError);
        return;
      }
      await this.files.barrier(); // the sink runs jobs in any order: the target must be written first
    }
    try {
      // link(2) does not follow a symlink target: the link shares the symlink's inode.
      await this.replacing(rel, host, () => linkSync(bytes(thost), bytes(host)));
    } catch (err) {
      throw mapError(err);
    }
  }

  /**
   * A device node or FIFO at `rel` (whatever is there is replaced), made at a temporary ASCII
   * name in its directory `dirHost`, then renamed by bytes. Resolves to mknod's error text, if any.
   */
  async node(rel: string, host: string, dirHost: string, kind: NodeKind, major: number, minor: number): Promise<string | undefined> {
    await this.files.barrier(); // mknod runs as a child process: nothing of the layer is in flight meanwhile
    await this.remove(rel, host);
    const tempName = tempNodeName();
    const temp = bytes(`${dirHost}/${tempName}`);
    const failure = await makeNode(bytes(dirHost), tempName, kind, major, minor);
    if (failure !== undefined) return failure;
    try {
      renameSync(temp, bytes(host));
    } catch (err) {
      rmSync(temp, { force: true });
      throw err;
    }
    return undefined;
  }

  /** lchown of an existing name, after its barrier (the root's: everything queued). */
  async lchown(rel: string, host: string, uid: number, gid: number): Promise<void> {
    const wait = this.barrier(rel);
    if (wait) await wait;
    lchownSync(bytes(host), uid, gid);
  }

  /** The end of a layer: every file of it on disk; throws the first failure. */
  async flush(): Promise<void> {
    await this.files.barrier();
  }

  /** After a failure: lets what was queued be written, without throwing. */
  async settle(): Promise<void> {
    await this.files.settle();
  }

  close(): void {
    this.files.close();
  }

  /** Runs `make`; if something is in the way (EEXIST), removes it and runs `make` again. */
  private async replacing(rel: string, host: string, make: () => void): Promise<void> {
    try {
      make();
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      await this.remove(rel, host);
      make();
    }
  }
}

