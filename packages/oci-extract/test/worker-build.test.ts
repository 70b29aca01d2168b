// The worker threads are modules of their own, loaded relative to the bundle: they must keep
// working under ordinary bundler settings (keepNames wraps functions in a `__name` helper that
// source-text workers never had) and from both the ESM and the CJS build.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'tsup';
import { buildTar, compressBuffer, file, tempDir } from '@oci2lxc/fixtures';
import { packageBuild } from '../../../tsup.base.js';
import { workerEntries } from '../tsup.config.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
// Inside the package, so the build resolves its dependencies (zstd-napi, oci-tar-image) as dist/ does.
const out = join(pkg, 'node_modules', '.cache', `keepnames-${process.pid}-${Date.now()}`);
let work: { path: string; cleanup: () => void };

beforeAll(async () => {
  work = tempDir('oci-extract-worker-build-');
  await build({ ...packageBuild, entry: { index: 'src/index.ts', ...workerEntries }, shims: true, keepNames: true, dts: false, sourcemap: false, outDir: out, silent: true, config: false });
  const small = Array.from({ length: 600 }, (_, i) => file(`d/f${i}`, `small file ${i}\n`));
  writeFileSync(join(work.path, 'layer.tar.zst'), compressBuffer(buildTar([file('etc/motd', 'hello from zstd\n'), ...small]), 'zstd'));
  writeFileSync(join(work.path, 'layer.tar.gz'), compressBuffer(buildTar([file('etc/motd', 'hello from gzip\n'), ...small]), 'gzip'));
}, 120_000);
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  work.cleanup();
});

/** A program that applies both layers with the build at `load` and prints what it found. */
function program(load: string): string {
  return `const { applyLayer } = ${load};
const { createReadStream, mkdirSync, readFileSync } = require('node:fs');
const dir = ${JSON.stringify(work.path)};
(async () => {
  const seen = [];
  for (const [compression, ext] of [['zstd', 'zst'], ['gzip', 'gz']]) {
    const dest = dir + '/' + Math.random().toString(36).slice(2);
    mkdirSync(dest);
    // gzip: small files pinned to the writer thread (zstd's are written on the main thread).
    const writeStrategy = { mode: compression === 'gzip' ? 'thread' : 'auto' };
    const r = await applyLayer(createReadStream(dir + '/layer.tar.' + ext), dest, { compression, writeStrategy });
    seen.push(r.entries, r.stats.routes.thread, readFileSync(dest + '/etc/motd', 'utf8').trim(), readFileSync(dest + '/d/f599', 'utf8').trim());
  }
  console.log(JSON.stringify(seen));
})();`;
}

const expected = [601, 0, 'hello from zstd', 'small file 599', 601, 601, 'hello from gzip', 'small file 599'];

describe('a build with keepNames: true', () => {
  it('wraps the workers\' functions in __name (so the setting took effect)', () => {
    for (const w of ['write-worker', 'zstd-worker']) expect(readFileSync(join(out, 'workers', `${w}.js`), 'utf8')).toContain('__name(');
  });

  it('runs both worker threads from the ESM build, then exits', () => {
    const esm = program(`await import(${JSON.stringify(join(out, 'index.js'))})`).replace('(async () => {', '{').replace(/\}\)\(\);$/, '}');
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n${esm}`], { encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it('runs both worker threads from the CJS build, then exits', () => {
    const stdout = execFileSync(process.execPath, ['-e', program(`require(${JSON.stringify(join(out, 'index.cjs'))})`)], { encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual(expected);
  });
});
