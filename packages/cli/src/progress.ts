// Progress on stderr: a redrawn bar on a TTY, plain periodic lines otherwise, nothing with --quiet.
import { formatBytes, formatDuration, shortDigest } from './format.js';

export interface ProgressState {
  /** 1-based index of the layer being applied. */
  layer: number;
  layers: number;
  digest?: string;
  /** Compressed bytes consumed so far, over all layers. */
  bytes: number;
  totalBytes: number;
  entries: number;
  /** Registry sources: blob bytes downloaded so far (layers fetched ahead included). */
  downloaded?: number;
}

export interface ProgressSink {
  isTTY?: boolean;
  write(chunk: string): boolean;
}

export class ProgressReporter {
  private readonly started = Date.now();
  private lastDraw = 0;
  private lastLayer = 0;
  private drawn = false;
  private readonly interval: number;

  constructor(
    private readonly out: ProgressSink,
    private readonly options: { quiet?: boolean; tty?: boolean; intervalMs?: number } = {},
  ) {
    this.interval = options.intervalMs ?? (this.tty ? 100 : 2000);
  }

  private get tty(): boolean {
    return this.options.tty ?? this.out.isTTY === true;
  }

  update(s: ProgressState): void {
    if (this.options.quiet) return;
    const now = Date.now();
    const newLayer = s.layer !== this.lastLayer;
    if (!newLayer && now - this.lastDraw < this.interval) return;
    this.lastDraw = now;
    this.lastLayer = s.layer;
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? s.bytes / elapsed : 0;
    const eta = rate > 0 ? (s.totalBytes - s.bytes) / rate : Number.NaN;
    const pct = s.totalBytes > 0 ? Math.min(100, Math.floor((s.bytes / s.totalBytes) * 100)) : 0;
    const head = `layer ${s.layer}/${s.layers}`;
    const dl = s.downloaded !== undefined ? ` (downloaded ${formatBytes(s.downloaded)})` : '';
    const tail = `${formatBytes(s.bytes)}/${formatBytes(s.totalBytes)}${dl} ${formatBytes(rate)}/s ETA ${formatDuration(eta)}`;
    if (this.tty) {
      const width = 24;
      const fill = Math.round((pct / 100) * width);
      this.out.write(`\r\x1b[K${head} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${tail}`);
      this.drawn = true;
    } else {
      const layer = s.digest ? ` ${shortDigest(s.digest)}` : '';
      this.out.write(`${head}${layer}: ${pct}% ${tail}, ${s.entries} entries\n`);
    }
  }

  /** Ends the bar (a newline after the last redraw) and prints a summary line. */
  finish(summary?: string): void {
    if (this.options.quiet) return;
    if (this.drawn) this.out.write('\r\x1b[K');
    if (summary) this.out.write(`${summary}\n`);
  }
}
