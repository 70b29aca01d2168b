// A pool of worker threads that run one program, a module of its own (src/workers/*.ts, built as
// tsup entries into dist/workers/). Idle threads are unref'd (they never keep the process alive)
// and at most `keep` are kept; a thread that failed or was left mid-task is terminated.
import { Worker } from 'node:worker_threads';

/**
 * Where the built worker `name` is: next to this module once bundled (dist/index.js, dist/index.cjs
 * through tsup's import.meta.url shim, or an ESM chunk, all in dist/). Running from src/ (vitest),
 * this module is a .ts file and Node cannot run a TypeScript worker: the built one in dist/ is
 * used; the test setup (test/build-workers.ts) builds it first, so it is never stale.
 */
export function workerUrl(name: string, here = import.meta.url): URL {
  return here.endsWith('.ts') ? new URL(`../dist/workers/${name}.js`, here) : new URL(`./workers/${name}.js`, here);
}

export class ThreadPool {
  private readonly idle: Worker[] = [];
  /** Threads handed out and not given back. */
  private readonly busy = new Set<Worker>();

  /** For tests only: called with each thread handed out (e.g. to terminate it mid-layer). */
  onTake: ((w: Worker) => void) | undefined;

  /** `name`: the worker module (dist/workers/<name>.js); `workerData`: its start-up data. */
  constructor(
    private readonly name: string,
    private readonly workerData: () => unknown = () => undefined,
    private readonly keep = 2,
  ) {}

  /** An idle thread or a new one, ref'd while in use. */
  take(): Worker {
    const w = this.idle.pop() ?? this.start();
    w.ref();
    this.busy.add(w);
    this.onTake?.(w);
    return w;
  }

  /** Back to the pool when `reusable` (and there is room), else terminated. */
  give(w: Worker, reusable: boolean): void {
    this.busy.delete(w);
    if (reusable && this.idle.length < this.keep) {
      w.unref();
      this.idle.push(w);
    } else {
      void w.terminate();
    }
  }

  /** Threads handed out now (tests: none may be left after an extraction). */
  get inUse(): number {
    return this.busy.size;
  }

  private start(): Worker {
    // execArgv: none of the parent's flags (a test runner's loaders) apply to the worker.
    const w = new Worker(workerUrl(this.name), { workerData: this.workerData(), execArgv: [], stdout: false, stderr: false });
    w.once('exit', () => {
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return w;
  }
}
