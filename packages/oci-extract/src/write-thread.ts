// Small files (and hardlinks to them) written by a worker thread, in batches: the main thread
// decompresses, hashes and parses while the second core runs open/write/fchown/fchmod/futimes/
// close. A batch (up to BATCH_FILES files or BATCH_BYTES of bodies, copied with their paths into
// one transferred buffer; the numbers in a second one) costs one message each way; per-file
// hand-offs (the libuv pool) cost more CPU than the syscalls they save.
// The same contract as FileJobs: only *creating a file at a name known to be free, in a directory
// known to be real* is deferred; every other change to the namespace first waits for the files in
// flight that it could touch (see Applier), so effects still happen in archive order. The thread
// runs a batch's files in order and stops at the first failure; later batches are skipped.
import { Worker } from 'node:worker_threads';
import type { FileJob } from './file-jobs.js';

const BATCH_FILES = 128;
/** Bodies per batch (a larger body gets a batch buffer of its own, up to SMALL_FILE). */
const BATCH_BYTES = 256 * 1024;
/** Batch buffer: bodies plus the files' paths. */
const CAPACITY = BATCH_BYTES + 16 * 1024;
/** Batches sent and not yet done, at most: bounds memory and how far the thread lags behind. */
const MAX_BATCHES = 4;
const KEEP_IDLE = 2;
/**
 * Per file, numbers in the batch's Float64Array: where its path, hardlink source (length 0 for a
 * file) and body are in the batch buffer, then open flags, create mode, uid and gid (-1: no
 * chown), chmod mode (-1: none), atime, mtime. Binary, not objects: nothing per file to clone.
 */
const FIELDS = 13;

type ToThread = { op: 'batch'; id: number; count: number; buf: ArrayBuffer; meta: ArrayBuffer } | { op: 'reset' };
type FromThread =
  | { op: 'done'; id: number; buf: ArrayBuffer; meta: ArrayBuffer; ns: number }
  | { op: 'error'; id: number; index: number; code: string; errno: number; syscall: string; message: string };

/** The worker's program, sent as source text: it uses nothing from this module's scope. */
function threadMain(load: (id: string) => unknown, fields: number): void {
  const { parentPort } = load('node:worker_threads') as typeof import('node:worker_threads');
  const fs = load('node:fs') as typeof import('node:fs');
  const port = parentPort;
  if (!port) return;
  let failed = false;
  port.on('message', (m: ToThread) => {
    if (m.op === 'reset') {
      failed = false;
      return;
    }
    const started = process.hrtime.bigint();
    const bytes = Buffer.from(m.buf);
    const meta = new Float64Array(m.meta);
    for (let i = 0; i < m.count && !failed; i++) {
      const f = i * fields;
      const at = (k: number): Buffer => bytes.subarray(meta[f + k]!, meta[f + k]! + meta[f + k + 1]!);
      const host = at(0);
      let fd = -1;
      try {
        if (meta[f + 3]! > 0) {
          fs.linkSync(at(2), host);
          continue;
        }
        fd = fs.openSync(host, meta[f + 6]!, meta[f + 7]!);
        for (let off = meta[f + 4]!, end = off + meta[f + 5]!; off < end; ) off += fs.writeSync(fd, bytes, off, end - off);
        const uid = meta[f + 8]!;
        if (uid >= 0) fs.fchownSync(fd, uid, meta[f + 9]!);
        const mode = meta[f + 10]!;
        if (mode >= 0) fs.fchmodSync(fd, mode); // after chown, which clears setuid/setgid
        fs.futimesSync(fd, meta[f + 11]!, meta[f + 12]!);
        fs.closeSync(fd);
      } catch (err) {
        if (fd >= 0) {
          try {
            fs.closeSync(fd);
          } catch {
            // the first error is the one to report
          }
        }
        const e = err as NodeJS.ErrnoException;
        failed = true;
        port.postMessage({ op: 'error', id: m.id, index: i, code: e.code ?? 'EIO', errno: e.errno ?? 0, syscall: e.syscall ?? '', message: e.message } satisfies FromThread);
      }
    }
    // The buffers go back for the next batch: buffers only received here would pile up as
    // garbage (this thread allocates too little for V8 to collect often).
    const ns = Number(process.hrtime.bigint() - started);
    port.postMessage({ op: 'done', id: m.id, buf: m.buf, meta: m.meta, ns } satisfies FromThread, [m.buf, m.meta]);
  });
}

const idle: Worker[] = [];

function startThread(): Worker {
  const source = `import('node:module').then((m) => (${threadMain.toString()})(m.createRequire(process.cwd() + '/'), ${FIELDS}));`;
  const worker = new Worker(source, { eval: true, execArgv: [], stdout: false, stderr: false });
  worker.once('exit', () => {
    const i = idle.indexOf(worker);
    if (i >= 0) idle.splice(i, 1);
  });
  return worker;
}

interface Sent {
  names: string[];
  wraps: ((err: unknown) => unknown)[];
}

export class WriteThread {
  private worker: Worker | undefined;
  /** rel → number of queued files with that name (sent or not). */
  private readonly inflight = new Map<string, number>();
  private readonly sent = new Map<number, Sent>();
  private count = 0;
  private names: string[] = [];
  private wraps: ((err: unknown) => unknown)[] = [];
  private buf: Buffer | undefined;
  private meta: Float64Array | undefined;
  private used = 0;
  /** Batch buffers back from the thread, for reuse. */
  private readonly spare: { buf: ArrayBuffer; meta: ArrayBuffer }[] = [];
  private nextId = 0;
  private waiters: (() => void)[] = [];
  private failure: unknown;
  private broken = false;

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

  /** Queues the file (waits while MAX_BATCHES are in flight). `wrap` turns a failure into the entry's error. */
  async submit(rel: string, job: FileJob, wrap: (err: unknown) => unknown): Promise<void> {
    this.check();
    const link = job.linkTarget;
    let need = job.host.length + (link?.length ?? 0);
    for (const c of job.chunks) need += c.length;
    if (this.count > 0 && this.used + need > (this.buf?.length ?? CAPACITY)) this.flush();
    while (this.sent.size >= MAX_BATCHES) {
      await new Promise<void>((r) => this.waiters.push(r));
      this.check();
    }
    if (!this.buf || !this.meta) {
      // Allocated here, not in the thread: V8 paces this thread's GC by what it allocates.
      const reuse = need <= CAPACITY ? this.spare.pop() : undefined;
      this.buf = Buffer.from(reuse?.buf ?? new ArrayBuffer(Math.max(CAPACITY, need)));
      this.meta = new Float64Array(reuse?.meta ?? new ArrayBuffer(BATCH_FILES * FIELDS * 8));
    }
    const buf = this.buf;
    const f = this.count * FIELDS;
    const m = this.meta;
    const put = (b: Buffer, k: number): void => {
      m[f + k] = this.used;
      m[f + k + 1] = b.length;
      buf.set(b, this.used);
      this.used += b.length;
    };
    put(job.host, 0);
    if (link) put(link, 2);
    else m[f + 2] = m[f + 3] = 0;
    m[f + 4] = this.used;
    let len = 0;
    for (const c of job.chunks) {
      buf.set(c, this.used);
      this.used += c.length;
      len += c.length;
    }
    m[f + 5] = len;
    m[f + 6] = job.flags;
    m[f + 7] = job.createMode;
    m[f + 8] = job.chown?.uid ?? -1;
    m[f + 9] = job.chown?.gid ?? -1;
    m[f + 10] = job.mode ?? -1;
    m[f + 11] = job.atime;
    m[f + 12] = job.mtime;
    this.count++;
    this.names.push(rel);
    this.wraps.push(wrap);
    this.inflight.set(rel, (this.inflight.get(rel) ?? 0) + 1);
    if (this.count >= BATCH_FILES || this.used >= BATCH_BYTES) this.flush();
  }

  /** Waits for every queued file; throws the first failure. */
  async drain(): Promise<void> {
    this.flush();
    await this.idle();
    this.check();
  }

  /** After a failure elsewhere: lets what was queued be written (as FileJobs does: applyLayer
   * keeps the entries before the failing one), without throwing. */
  async settle(): Promise<void> {
    if (this.broken) this.dropUnsent();
    else this.flush();
    await this.idle();
  }

  private dropUnsent(): void {
    for (const n of this.names) this.forget(n);
    this.count = 0;
    this.names = [];
    this.wraps = [];
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
    if (this.failure === undefined && !this.broken && this.sent.size === 0 && idle.length < KEEP_IDLE) {
      w.unref();
      idle.push(w);
    } else {
      void w.terminate();
    }
  }

  private async idle(): Promise<void> {
    while (this.sent.size > 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  private flush(): void {
    if (this.broken) return this.dropUnsent(); // nothing will run them; the failure is reported
    if (this.count === 0 || !this.buf || !this.meta) return;
    const w = this.thread();
    const id = this.nextId++;
    const buf = this.buf.buffer as ArrayBuffer;
    const meta = this.meta.buffer as ArrayBuffer;
    this.sent.set(id, { names: this.names, wraps: this.wraps });
    w.postMessage({ op: 'batch', id, count: this.count, buf, meta } satisfies ToThread, [buf, meta]);
    this.buf = this.meta = undefined;
    this.count = 0;
    this.names = [];
    this.wraps = [];
    this.used = 0;
  }

  private thread(): Worker {
    if (!this.worker) {
      const w = idle.pop() ?? startThread();
      w.postMessage({ op: 'reset' } satisfies ToThread);
      w.ref(); // while files are queued; an idle pooled thread must not keep the process alive
      w.on('message', this.onMessage);
      w.on('error', this.onFailure);
      w.on('exit', this.onFailure);
      this.worker = w;
    }
    return this.worker;
  }

  private forget(rel: string): void {
    const n = this.inflight.get(rel) ?? 0;
    if (n <= 1) this.inflight.delete(rel);
    else this.inflight.set(rel, n - 1);
  }

  private readonly onMessage = (m: FromThread): void => {
    const batch = this.sent.get(m.id);
    if (!batch) return;
    if (m.op === 'error') {
      const err = Object.assign(new Error(m.message), { code: m.code, errno: m.errno, syscall: m.syscall });
      this.failure ??= batch.wraps[m.index]!(err);
      return;
    }
    this.sent.delete(m.id);
    const per = m.ns / Math.max(1, batch.names.length);
    this.nsPerFile = this.nsPerFile === 0 ? per : (this.nsPerFile * 3 + per) / 4;
    if (m.buf.byteLength === CAPACITY && this.spare.length < MAX_BATCHES) this.spare.push({ buf: m.buf, meta: m.meta });
    for (const n of batch.names) this.forget(n);
    this.wake();
  };

  private readonly onFailure = (err?: unknown): void => {
    this.broken = true;
    this.failure ??= err instanceof Error ? err : new Error('file writer thread exited');
    // Nothing more will be done: release everyone waiting.
    for (const [, b] of this.sent) for (const n of b.names) this.forget(n);
    this.sent.clear();
    this.wake();
  };

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
