// The 'auto' write strategy, a FileSink over the three routes: the writer thread (ThreadSink:
// batched, in order, on the second core) while the file system is fast, the libuv pool
// (PoolSink: several files at once) while it is slow. On tmpfs or a fast SSD one writer thread
// beats several pool threads (fewer hand-offs); on a busy disk each syscall blocks, and several in
// flight overlap those waits (GNU tar's one writer waits for each). Writes are timed (the thread
// times its batches); while a file takes longer than the strategy's slowFileNs, files go to the
// pool, and one in SAMPLE_EVERY is still written the fast way to notice when the disk is fast again.
// While a layer is decompressed on a worker thread of its own (zstd), small files are written
// here, synchronously (SyncSink), instead of by a second thread: with both threads, peak RSS rose
// by ~40 MiB (over 150 MiB on 22,810 small files; more garbage between collections) for ~6 % less
// time. A name is only ever in one of the sinks.
import { PoolSink } from './file-jobs.js';
import { SyncSink, type FileSink, type WrapError, type WrapOne } from './file-sink.js';
import type { FileJob } from './write-file.js';
import { ThreadSink } from './write-thread.js';
import type { WriteRoutes, WriteStrategy } from './write-strategy.js';

const SAMPLE_EVERY = 64;

/** The sink of a write strategy, chosen once: the pinned route, or the adaptive mix ('auto'). */
export function createSink(strategy: Required<WriteStrategy>, wrapError: WrapError): FileSink {
  switch (strategy.mode) {
    case 'sync':
      return new SyncSink(wrapError);
    case 'thread':
      return new ThreadSink(wrapError);
    case 'pool':
      return new PoolSink(wrapError);
    case 'auto':
      return new AutoSink(strategy.slowFileNs, wrapError);
  }
}

export class AutoSink implements FileSink {
  private readonly here: SyncSink;
  private readonly thread: ThreadSink;
  private readonly pool: PoolSink;
  private readonly sinks: readonly FileSink[];
  private submitted = 0;
  /** Write on this thread (not the writer thread) while the file system is fast. */
  private onMain = false;
  /** The last 32 synchronous writes here, newest in bit 0: 1 = slower than the limit. A majority
   * vote, not an average: the first writes, or one descheduled on a busy CPU, must not switch
   * to the pool while the syscalls are fast. */
  private slowBits = 0;
  private slowCount = 0;

  constructor(
    private readonly slowNs: number,
    wrapError: WrapError,
  ) {
    this.here = new SyncSink(wrapError);
    this.thread = new ThreadSink(wrapError);
    this.pool = new PoolSink(wrapError);
    this.sinks = [this.here, this.thread, this.pool];
  }

  beginLayer(decompressingOnThread: boolean): void {
    this.onMain = decompressingOnThread;
  }

  get size(): number {
    return this.thread.size + this.pool.size;
  }

  has(rel: string): boolean {
    return this.thread.has(rel) || this.pool.has(rel);
  }

  linksBehind(target: string): boolean {
    return this.thread.linksBehind(target) && !this.pool.has(target);
  }

  get routes(): WriteRoutes {
    const r: WriteRoutes = { sync: 0, thread: 0, pool: 0 };
    for (const s of this.sinks) {
      const n = s.routes;
      r.sync += n.sync;
      r.thread += n.thread;
      r.pool += n.pool;
    }
    return r;
  }

  async submit(rel: string, job: FileJob, path: string, wrap?: WrapOne): Promise<void> {
    this.check();
    if (job.linkTarget) return this.thread.submit(rel, job, path, wrap); // only behind a thread-queued target
    const onMain = this.onMain;
    const slow = onMain ? this.slowCount > 16 : this.thread.nsPerFile >= this.slowNs;
    if (slow && ++this.submitted % SAMPLE_EVERY !== 0) return this.pool.submit(rel, job, path, wrap);
    if (onMain) {
      const started = process.hrtime.bigint();
      this.here.submit(rel, job, path, wrap);
      const bit = Number(process.hrtime.bigint() - started) > this.slowNs ? 1 : 0;
      this.slowCount += bit - (this.slowBits >>> 31);
      this.slowBits = ((this.slowBits << 1) | bit) >>> 0;
      return;
    }
    await this.thread.submit(rel, job, path, wrap);
    if (slow) this.thread.send(); // a sample: timed now, not when a batch fills
  }

  async barrier(): Promise<void> {
    await Promise.all([this.thread.barrier(), this.pool.barrier()]);
  }

  async settle(): Promise<void> {
    await Promise.all([this.thread.settle(), this.pool.settle()]);
  }

  check(): void {
    this.thread.check();
    this.pool.check();
  }

  close(): void {
    this.thread.close();
    this.pool.close();
  }
}
