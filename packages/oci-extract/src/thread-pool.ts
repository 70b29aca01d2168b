// A pool of worker threads that run one program, given as source text: the program is a plain
// function (`fn.toString()`), so the same code runs from src/ under vitest and from the ESM and
// CJS builds, with no extra file to ship. Idle threads are unref'd (they never keep the process
// alive) and at most `keep` are kept; a thread that failed or was left mid-task is terminated.
import { Worker } from 'node:worker_threads';

export class ThreadPool {
  private readonly idle: Worker[] = [];

  /**
   * `program(require, ...args)` runs in each thread; it must use nothing from its module's scope.
   * `args` are JSON values.
   */
  constructor(
    private readonly program: string,
    private readonly args: () => unknown[],
    private readonly keep = 2,
  ) {}

  /** An idle thread or a new one, ref'd while in use. */
  take(): Worker {
    const w = this.idle.pop() ?? this.start();
    w.ref();
    return w;
  }

  /** Back to the pool when `reusable` (and there is room), else terminated. */
  give(w: Worker, reusable: boolean): void {
    if (reusable && this.idle.length < this.keep) {
      w.unref();
      this.idle.push(w);
    } else {
      void w.terminate();
    }
  }

  private start(): Worker {
    const args = this.args().map((a) => JSON.stringify(a));
    // import() works whether the eval'd text runs as a script or (`--input-type=module`) a module;
    // the program gets a `require` made in the thread.
    const source = `import('node:module').then((m) => (${this.program})(m.createRequire(process.cwd() + '/')${args.map((a) => `, ${a}`).join('')}));`;
    const w = new Worker(source, { eval: true, execArgv: [], stdout: false, stderr: false });
    w.once('exit', () => {
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return w;
  }
}
