// Where small files are written: the writer thread (WriteThread: batched, in order, on the second
// core) while the file system is fast, the libuv pool (FileJobs: several files at once) while it
// is slow. On tmpfs or a fast SSD one writer thread beats several pool threads (fewer hand-offs);
// on a busy disk each syscall blocks, and several in flight overlap those waits (GNU tar's one
// writer waits for each). The thread times its batches; while a file takes longer than
// SLOW_FILE_NS there, files go to the pool, and one in SAMPLE_EVERY still goes to the thread
// (in a batch of its own) to notice when the disk is fast again.
// Both queues keep the FileJobs contract (see file-jobs.ts); a name is only ever in one of them.
import { FileJobs, type FileJob } from './file-jobs.js';
import { WriteThread, type WrapError } from './write-thread.js';

const SLOW_FILE_NS = 150_000;
const SAMPLE_EVERY = 64;

export type WriteMode = 'auto' | 'thread' | 'jobs';

export class SmallFiles {
  private readonly thread: WriteThread;
  private readonly pool: FileJobs;
  private submitted = 0;
  /** OCI_EXTRACT_SLOW_FILE_NS overrides SLOW_FILE_NS (0: always slow, so files go to both
   * queues): a knob for tests of that mixed mode. */
  private readonly slowNs = readSlowNs();

  /** `wrapError` turns a failure of a queued file into its entry's error. */
  constructor(
    private readonly mode: WriteMode,
    wrapError: WrapError,
  ) {
    this.thread = new WriteThread(wrapError);
    this.pool = new FileJobs(wrapError);
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

  /** Queues the file of entry `path` at `rel`; `wrap`, if given, maps its failure instead of the default. */
  async submit(rel: string, job: FileJob, path: string, wrap?: (err: unknown) => unknown): Promise<void> {
    this.check();
    if (job.linkTarget) return this.thread.submit(rel, job, path, wrap); // only behind a thread-queued target
    const slow = this.mode === 'auto' && this.thread.nsPerFile >= this.slowNs;
    if (this.mode === 'jobs' || (slow && ++this.submitted % SAMPLE_EVERY !== 0)) return this.pool.submit(rel, job, path, wrap);
    await this.thread.submit(rel, job, path, wrap);
    if (slow) this.thread.send(); // a sample: timed now, not when a batch fills
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

function readSlowNs(): number {
  const v = process.env.OCI_EXTRACT_SLOW_FILE_NS;
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : SLOW_FILE_NS;
}
