// Where small files are written: the writer thread (WriteThread: batched, in order, on the second
// core) while the file system is fast, the libuv pool (FileJobs: several files at once) while it
// is slow. On tmpfs or a fast SSD one writer thread beats several pool threads (fewer hand-offs);
// on a busy disk each syscall blocks, and several in flight overlap those waits (GNU tar's one
// writer waits for each). Writes are timed (the thread times its batches); while a file takes
// longer than the strategy's slowFileNs, files go to the pool, and one in SAMPLE_EVERY is still written the
// fast way to notice when the disk is fast again.
// While a layer is decompressed on a worker thread of its own (zstd), small files are written
// here, synchronously, instead of by a second thread: with both threads, peak RSS rose by ~40 MiB
// (over 150 MiB on 22,810 small files; more garbage between collections) for ~6 % less time.
// Both queues keep the FileJobs contract (see file-jobs.ts); a name is only ever in one of them.
import { FileJobs } from './file-jobs.js';
import { runJobSync, type FileJob } from './write-file.js';
import { WriteThread, type WrapError } from './write-thread.js';
import type { WriteMode, WriteRoutes, WriteStrategy } from './write-strategy.js';

const SAMPLE_EVERY = 64;

export class SmallFiles {
  private readonly thread: WriteThread;
  private readonly pool: FileJobs;
  private submitted = 0;
  /** Write on this thread (not the writer thread) while the file system is fast. */
  private onMain = false;
  /** The last 32 synchronous writes here, newest in bit 0: 1 = slower than the limit. A majority
   * vote, not an average: the first writes, or one descheduled on a busy CPU, must not switch
   * to the pool while the syscalls are fast. */
  private slowBits = 0;
  private slowCount = 0;
  private readonly mode: WriteMode;
  private readonly slowNs: number;
  /** Files written by each route so far. */
  readonly routes: WriteRoutes = { sync: 0, thread: 0, pool: 0 };

  /** `wrapError` turns a failure of a queued file into its entry's error. */
  constructor(
    strategy: Required<WriteStrategy>,
    private readonly wrapError: WrapError,
  ) {
    this.mode = strategy.mode;
    this.slowNs = strategy.slowFileNs;
    this.thread = new WriteThread(wrapError);
    this.pool = new FileJobs(wrapError);
  }

  /** For the next layer: true when it is decompressed on a thread of its own. */
  decompressingOnThread(yes: boolean): void {
    this.onMain = yes;
  }

  get size(): number {
    return this.thread.size + this.pool.size;
  }

  has(rel: string): boolean {
    return this.thread.has(rel) || this.pool.has(rel);
  }

  /** True when a hardlink to `target` can be queued behind it (the thread keeps order). */
  canLinkBehind(target: string): boolean {
    return this.thread.has(target) && !this.pool.has(target);
  }

  /** Writes or queues the file of entry `path` at `rel`; `wrap`, if given, maps its failure
   * instead of the default. */
  async submit(rel: string, job: FileJob, path: string, wrap?: (err: unknown) => unknown): Promise<void> {
    this.check();
    if (job.linkTarget) {
      this.routes.thread++;
      return this.thread.submit(rel, job, path, wrap); // only behind a thread-queued target
    }
    if (this.mode === 'sync') return this.writeHere(job, path, wrap);
    const onMain = this.mode === 'auto' && this.onMain;
    const slow = this.mode === 'auto' && (onMain ? this.slowCount > 16 : this.thread.nsPerFile >= this.slowNs);
    if (this.mode === 'pool' || (slow && ++this.submitted % SAMPLE_EVERY !== 0)) {
      this.routes.pool++;
      return this.pool.submit(rel, job, path, wrap);
    }
    if (onMain) {
      const started = process.hrtime.bigint();
      this.writeHere(job, path, wrap);
      const bit = Number(process.hrtime.bigint() - started) > this.slowNs ? 1 : 0;
      this.slowCount += bit - (this.slowBits >>> 31);
      this.slowBits = ((this.slowBits << 1) | bit) >>> 0;
      return;
    }
    this.routes.thread++;
    await this.thread.submit(rel, job, path, wrap);
    if (slow) this.thread.send(); // a sample: timed now, not when a batch fills
  }

  /** The file written on this thread, now. */
  private writeHere(job: FileJob, path: string, wrap?: (err: unknown) => unknown): void {
    this.routes.sync++;
    try {
      runJobSync(job);
    } catch (err) {
      throw wrap ? wrap(err) : this.wrapError(err, path);
    }
  }

  async drain(): Promise<void> {
    await Promise.all([this.thread.drain(), this.pool.drain()]);
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
