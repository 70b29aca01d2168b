// The small-file write strategies the layer and safety suites run under, and what each may use:
// the suites assert the route that actually ran (ExtractResult.stats.routes), not just the result.
import { expect } from 'vitest';
import type { WriteRoutes, WriteStrategy } from '../src/index.js';

/**
 * 'mixed': auto mode taking the file system for slow, so small files go to the pool and (one in
 * 64) to the writer thread, and hardlinks must wait or queue behind their targets accordingly.
 * 'zstd' and 'zstd-mixed': the same with zstd layers, whose small files are written on the main
 * thread (and, when slow, on the pool).
 */
export type ModeName = 'auto' | 'mixed' | 'zstd' | 'zstd-mixed' | 'thread' | 'sync' | 'pool';

export function strategyFor(mode: ModeName): WriteStrategy {
  if (mode === 'mixed' || mode === 'zstd-mixed') return { mode: 'auto', slowFileNs: 0 };
  if (mode === 'zstd' || mode === 'auto') return { mode: 'auto' };
  return { mode };
}

const allowed: Record<ModeName, (keyof WriteRoutes)[]> = {
  auto: ['thread', 'pool'],
  mixed: ['thread', 'pool'],
  zstd: ['sync', 'pool'],
  'zstd-mixed': ['sync', 'pool'],
  thread: ['thread'],
  sync: ['sync'],
  pool: ['pool'],
};

/** Routes used over a suite's extractions. */
export class RouteTally {
  readonly total: WriteRoutes = { sync: 0, thread: 0, pool: 0 };

  constructor(private readonly mode: ModeName) {}

  /** Adds one extraction's counts; fails if it used a route its mode must not. */
  add(routes: WriteRoutes): void {
    for (const r of ['sync', 'thread', 'pool'] as const) {
      if (!allowed[this.mode].includes(r)) expect(routes[r], `${this.mode} writes must not use the ${r} route`).toBe(0);
      this.total[r] += routes[r];
    }
  }

  /** After the suite: the route the mode is about did run. */
  expectUsed(): void {
    const main = this.mode === 'auto' || this.mode === 'thread' ? 'thread' : this.mode === 'zstd' || this.mode === 'zstd-mixed' || this.mode === 'sync' ? 'sync' : 'pool';
    expect(this.total[main], `${this.mode} writes used the ${main} route`).toBeGreaterThan(0);
  }
}
