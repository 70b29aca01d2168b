// Device nodes and FIFOs. Node has no mknod(2), so one `/bin/sh` helper is started per extraction
// (only when the image has such entries) and runs coreutils `mknod` for each, in order, answering
// with the exit status: one process spawn per extraction instead of one per node, and the entry
// order is kept (a later entry may replace or hardlink the node).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export type NodeKind = 'c' | 'b' | 'p';

/** Single-quotes a byte string for sh. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class NodeMaker {
  private child: ChildProcessWithoutNullStreams | undefined;
  private out = '';
  private waiter: ((line: string) => void) | undefined;
  private failed: Error | undefined;

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn('/bin/sh', ['-s'], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } });
    child.stdout.setEncoding('latin1');
    child.stderr.setEncoding('latin1');
    const onData = (d: string): void => {
      this.out += d;
      const m = /@@rc=(\d+)@@\n/.exec(this.out);
      if (m && this.waiter) {
        const text = this.out.slice(0, m.index) + `@@${m[1]}`;
        this.out = this.out.slice(m.index + m[0].length);
        const w = this.waiter;
        this.waiter = undefined;
        w(text);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: string) => {
      this.out = d + this.out;
    });
    child.on('error', (e) => {
      this.failed = e;
      this.waiter?.('@@127');
    });
    child.on('close', () => {
      this.failed ??= new Error('mknod helper exited');
      this.waiter?.('@@127');
    });
    child.stdin.on('error', () => {});
    this.child = child;
    return child;
  }

  /**
   * Creates a node at `host` (byte string; must not exist) with mode 0600. Resolves to undefined
   * on success, else to mknod's error text.
   */
  async make(host: string, kind: NodeKind, major: number, minor: number): Promise<string | undefined> {
    if (this.failed) return `mknod helper unavailable: ${this.failed.message}`;
    const child = this.child ?? this.start();
    const dev = kind === 'p' ? '' : ` ${major} ${minor}`;
    const cmd = `mknod -m 600 -- ${shQuote(host)} ${kind}${dev} 2>&1; echo "@@rc=$?@@"\n`;
    const text = await new Promise<string>((resolve) => {
      this.waiter = resolve;
      child.stdin.write(Buffer.from(cmd, 'latin1'));
    });
    const rc = text.slice(text.lastIndexOf('@@') + 2);
    if (rc === '0') return undefined;
    return text.slice(0, text.lastIndexOf('@@')).trim() || `mknod exited with ${rc}`;
  }

  close(): void {
    if (!this.child) return;
    this.child.stdin.end();
    this.child = undefined;
  }
}
