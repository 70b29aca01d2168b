// Small files (and hardlinks to them) written by a worker thread, in batches: the main thread
// decompresses, hashes and parses while the second core runs open/write/fchown/fchmod/futimes/
// close. A batch (up to BATCH_FILES files or FLUSH_BYTES of bodies, copied with their paths into
// a slot of shared memory, reused; the numbers into a second one) costs one small message each
// way and allocates nothing; per-file hand-offs (the libuv pool) cost more CPU than the syscalls
// they save, and a message that wakes a sleeping thread costs ~0.1 ms on a VM.
// A FileSink (file-sink.ts): what may be deferred and when the RootfsWriter waits is said there.
// The thread runs a batch's files in order (so a hardlink can be queued behind its target) and
// stops at the first failure; later batches are skipped (workers/write-worker.ts; the batch layout
// is workers/write-layout.ts).
import type { Worker } from 'node:worker_threads';
import type { FileJob } from './write-file.js';
import { threadFailure } from './errors.js';
import { oneRoute, type FileSink, type WrapError, type WrapOne } from './file-sink.js';
import type { WriteRoutes } from './write-strategy.js';
import { ThreadPool } from './thread-pool.js';
import { BATCH_FILES, FIELDS, FLUSH_BYTES, Field, SLOTS, SLOT_BYTES, type FromWriter, type ToWriter } from './workers/write-layout.js';

/** The writer threads (one per extraction writing small files). */
export const writerThreads = new ThreadPool('write-worker');

interface Sent {
  slot: number;
  names: string[];
  paths: string[];
  /** Per-file error mappings other than the default (hardlinks), by index. */
  wraps: Map<number, WrapOne> | undefined;
}

/** The 'thread' route. */
export class ThreadSink implements FileSink {
  constructor(private readonly wrapError: WrapError) {}

  private worker: Worker | undefined;
  /** rel → number of queued files with that name (sent or not). */
  private readonly inflight = new Map<string, number>();
  private readonly sent = new Map<number, Sent>();
  private count = 0;
  private names: string[] = [];
  // Per queued file: its rel path and entry path. Only strings: per-file closures kept alive for a
  // batch's lifetime made V8 grow the young generation to its maximum (+15 MiB peak RSS).
  private paths: string[] = [];
  private wraps: Map<number, WrapOne> | undefined;
  /** Shared with the thread: SLOTS batch slots of bytes and of numbers. */
  private shared: { data: Buffer<ArrayBufferLike>; meta: Float64Array<ArrayBufferLike>; dataSab: SharedArrayBuffer; metaSab: SharedArrayBuffer } | undefined;
  private readonly free: number[] = [];
  /** The slot the batch being filled uses, and its views. */
  private slot: number | undefined;
  private slotData: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  private slotMeta: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private used = 0;
  private nextId = 0;
  private waiters: (() => void)[] = [];
  private failure: unknown;
  private broken = false;
  private submitted = 0;

  /** Time per file in recent batches (ns; a moving average), as the thread measured it. */
  nsPerFile = 0;

  get size(): number {
    return this.inflight.size;
  }

  /** Sends the files queued so far now, without waiting for a full batch. */
  send(): void {
    this.flush();
  }

  has(rel: string): boolean {
    return this.inflight.has(rel);
  }

  /** Batches run in order: a hardlink queued now is made after its queued target. */
  linksBehind(target: string): boolean {
    return this.inflight.has(target);
  }

  beginLayer(): void {}

  get routes(): WriteRoutes {
    return oneRoute('thread', this.submitted);
  }

  /** Queues the file of entry `path` (waits while all SLOTS are in flight); `wrap`, if given,
   * maps its failure instead of the default. */
  async submit(rel: string, job: FileJob, path: string, wrap?: WrapOne): Promise<void> {
    this.check();
    const link = job.linkTarget;
    let need = job.host.length + (link?.length ?? 0);
    for (const c of job.chunks) need += c.length;
    if (this.count > 0 && this.used + need > SLOT_BYTES) this.flush();
    if (this.slot === undefined) {
      while (this.free.length === 0 && this.shared) {
        await new Promise<void>((r) => this.waiters.push(r));
        this.check();
      }
      const slot = this.slots().pop()!;
      const { data, meta } = this.shared!;
      this.slot = slot;
      this.slotData = data.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES);
      this.slotMeta = meta.subarray(slot * BATCH_FILES * FIELDS, (slot + 1) * BATCH_FILES * FIELDS);
      this.used = 0;
    }
    const buf = this.slotData;
    const m = this.slotMeta;
    const f = this.count * FIELDS;
    // `at`: the offset field; its length is the next field.
    const put = (b: Buffer, at: number): void => {
      m[f + at] = this.used;
      m[f + at + 1] = b.length;
      buf.set(b, this.used);
      this.used += b.length;
    };
    put(job.host, Field.pathAt);
    if (link) put(link, Field.linkAt);
    else m[f + Field.linkAt] = m[f + Field.linkLen] = 0;
    m[f + Field.bodyAt] = this.used;
    let len = 0;
    for (const c of job.chunks) {
      buf.set(c, this.used);
      this.used += c.length;
      len += c.length;
    }
    m[f + Field.bodyLen] = len;
    m[f + Field.flags] = job.flags;
    m[f + Field.createMode] = job.createMode;
    m[f + Field.uid] = job.chown?.uid ?? -1;
    m[f + Field.gid] = job.chown?.gid ?? -1;
    m[f + Field.mode] = job.mode ?? -1;
    m[f + Field.atime] = job.atime;
    m[f + Field.mtime] = job.mtime;
    this.count++;
    this.submitted++;
    if (wrap) (this.wraps ??= new Map()).set(this.names.length, wrap);
    this.names.push(rel);
    this.paths.push(path);
    this.inflight.set(rel, (this.inflight.get(rel) ?? 0) + 1);
    if (this.count >= BATCH_FILES || this.used >= FLUSH_BYTES) this.flush();
  }

  /** Waits for every queued file; throws the first failure. */
  async barrier(): Promise<void> {
    this.flush();
    await this.idle();
    this.check();
  }

  /** After a failure elsewhere: lets what was queued be written (as PoolSink does: applyLayer
   * keeps the entries before the failing one), without throwing. */
  async settle(): Promise<void> {
    if (this.broken) this.dropUnsent();
    else this.flush();
    await this.idle();
  }

  private dropUnsent(): void {
    for (const n of this.names) this.forget(n);
    if (this.slot !== undefined) this.free.push(this.slot);
    this.newBatch();
  }

  /** The batch being filled: none yet (a slot is taken by the next file). */
  private newBatch(): void {
    this.slot = undefined;
    this.count = 0;
    this.names = [];
    this.paths = [];
    this.wraps = undefined;
    this.used = 0;
  }

  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Gives the thread back to the pool (or ends it after a failure). Call when idle. */
  close(): void {
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    w.off('message', this.onMessage);
    w.off('error', this.onFailure);
    w.off('exit', this.onFailure);
    writerThreads.give(w, this.failure === undefined && !this.broken && this.sent.size === 0);
  }

  private async idle(): Promise<void> {
    while (this.sent.size > 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  private flush(): void {
    if (this.broken) return this.dropUnsent(); // nothing will run them; the failure is reported
    if (this.count === 0 || this.slot === undefined) return;
    const w = this.thread();
    const id = this.nextId++;
    this.sent.set(id, { slot: this.slot, names: this.names, paths: this.paths, wraps: this.wraps });
    w.postMessage({ op: 'batch', id, slot: this.slot, count: this.count } satisfies ToWriter);
    this.newBatch();
  }

  private thread(): Worker {
    if (!this.worker) {
      const w = writerThreads.take(); // ref'd while files are queued
      const { dataSab, metaSab } = this.shared!;
      w.postMessage({ op: 'reset', data: dataSab, meta: metaSab } satisfies ToWriter);
      w.on('message', this.onMessage);
      w.on('error', this.onFailure);
      w.on('exit', this.onFailure);
      this.worker = w;
    }
    return this.worker;
  }

  /** The free slots (shared memory made on first use). */
  private slots(): number[] {
    if (!this.shared) {
      const dataSab = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
      const metaSab = new SharedArrayBuffer(SLOTS * BATCH_FILES * FIELDS * 8);
      this.shared = { data: Buffer.from(dataSab), meta: new Float64Array(metaSab), dataSab, metaSab };
      for (let i = SLOTS - 1; i >= 0; i--) this.free.push(i);
    }
    return this.free;
  }

  private forget(rel: string): void {
    const n = this.inflight.get(rel) ?? 0;
    if (n <= 1) this.inflight.delete(rel);
    else this.inflight.set(rel, n - 1);
  }

  private readonly onMessage = (m: FromWriter): void => {
    const batch = this.sent.get(m.id);
    if (!batch) return;
    if (m.op === 'error') {
      const err = Object.assign(new Error(m.message), { code: m.code, errno: m.errno, syscall: m.syscall });
      const wrap = batch.wraps?.get(m.index);
      this.failure ??= wrap ? wrap(err) : this.wrapError(err, batch.paths[m.index] ?? '');
      return;
    }
    this.sent.delete(m.id);
    const per = m.ns / Math.max(1, batch.names.length);
    this.nsPerFile = this.nsPerFile === 0 ? per : (this.nsPerFile * 3 + per) / 4;
    this.free.push(batch.slot);
    for (const n of batch.names) this.forget(n);
    this.wake();
  };

  private readonly onFailure = (err?: unknown): void => {
    this.broken = true;
    this.failure ??= threadFailure(err instanceof Error ? `file writer thread failed: ${err.message}` : `file writer thread exited (status ${String(err)})`, err);
    // Nothing more will be done: release everyone waiting.
    for (const [, b] of this.sent) {
      for (const n of b.names) this.forget(n);
      this.free.push(b.slot);
    }
    this.sent.clear();
    this.wake();
  };

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
