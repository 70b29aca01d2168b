// Rough local comparison: applyLayer vs GNU tar on one gzip layer of many small files.
// Usage: node scripts/compare-tar.mjs [files=20000]   (pnpm build first). Not a test.
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTar, compressBuffer, dir, file } from '@oci2lxc/fixtures';
import { applyLayer } from '../dist/index.js';

const n = Number(process.argv[2] ?? 20000);
const work = join(tmpdir(), `oci-extract-bench-${process.pid}`);
mkdirSync(work, { recursive: true });
const entries = [];
for (let d = 0; d < n / 100; d++) {
  entries.push(dir(`usr/share/d${d}`));
  for (let f = 0; f < 100; f++) entries.push(file(`usr/share/d${d}/f${f}.txt`, `content ${d}/${f}\n`.repeat(1 + ((d * f) % 40))));
}
entries.push(file('big.bin', Buffer.alloc(64 * 1024 * 1024, 7)));
const tgz = join(work, 'layer.tar.gz');
writeFileSync(tgz, compressBuffer(buildTar(entries), 'gzip'));

function time(label, fn) {
  const t = process.hrtime.bigint();
  return Promise.resolve(fn()).then(() => {
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    console.log(`${label.padEnd(12)} ${ms.toFixed(0)} ms`);
    return ms;
  });
}
const results = { tar: [], ours: [] };
for (let round = 0; round < 3; round++) {
  const a = join(work, `tar${round}`);
  const b = join(work, `ours${round}`);
  mkdirSync(a);
  mkdirSync(b);
  results.tar.push(await time('gnu tar', () => execFileSync('tar', ['-xzf', tgz, '-C', a, '--same-owner', '--preserve-permissions'])));
  results.ours.push(await time('applyLayer', () => applyLayer(createReadStream(tgz, { highWaterMark: 1 << 20 }), b, { compression: 'gzip' })));
}
const best = (xs) => Math.min(...xs);
console.log(`files=${n} best: tar ${best(results.tar).toFixed(0)} ms, applyLayer ${best(results.ours).toFixed(0)} ms, ratio ${(best(results.ours) / best(results.tar)).toFixed(2)}; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
rmSync(work, { recursive: true, force: true });
