import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

/** The worker threads' programs: entries of their own, loaded from dist/workers/ (thread-pool.ts). */
export const workerEntries = {
  'workers/write-worker': 'src/workers/write-worker.ts',
  'workers/zstd-worker': 'src/workers/zstd-worker.ts',
};

export default defineConfig({ ...packageBuild, entry: { index: 'src/index.ts', ...workerEntries }, shims: true });
