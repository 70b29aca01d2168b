import { build } from 'tsup';
import { packageBuild } from '../../../tsup.base.js';
import { workerEntries } from '../tsup.config.js';

// Tests run the library from src/, but Node cannot run a TypeScript worker: thread-pool.ts then
// loads the built workers from dist/workers/. They are built here first (ESM only, as the
// package build makes them), so a test never runs a stale worker.
export async function setup(): Promise<void> {
  await build({ ...packageBuild, entry: workerEntries, format: ['esm'], dts: false, clean: false, sourcemap: false, silent: true, config: false });
}
