// Trees, not just header sequences: mutated layers that Go's archive/tar reads are extracted by
// us and by `umoci raw unpack` (Go's reader plus umoci's oci/layer semantics); where both
// succeed, the trees must be equal (types, modes, owners, mtimes, contents, link targets, devices).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLayoutDir, type ImageSpec } from '@oci2lxc/fixtures';
import { extractImage } from '../src/index.js';
import { isRoot, memoryImage } from './helpers.js';
import { buildOracle, mutate, prng, readWithGo, seeds } from './tar-fuzz.js';

/**
 * Every path under `root` (names as bytes, shown latin1) with type, mode, owner, mtime, content or
 * target, device. The rootfs directory's own mtime is left out: no layer entry sets it here
 * (umoci leaves it at 0, we at the time of extraction); directories made implicitly (no entry)
 * get the time of extraction in both, shown as `now`.
 */
const started = Date.now() - 60_000;
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (p: Buffer, rel: string): void => {
    const st = lstatSync(p);
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other';
    const what = type === 'file' ? createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16) : type === 'symlink' ? readlinkSync(p, { encoding: 'buffer' }).toString('hex') : type === 'char' || type === 'block' ? String(st.rdev) : '';
    out.push(`${rel} ${type} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${rel === '.' ? '-' : st.mtimeMs >= started ? 'now' : Math.floor(st.mtimeMs)} ${st.nlink} ${what}`);
    if (type === 'dir') for (const n of readdirSync(p, { encoding: 'buffer' }).sort(Buffer.compare)) walk(Buffer.concat([p, Buffer.from('/'), n]), `${rel}/${n.toString('latin1')}`);
  };
  walk(Buffer.from(root), '.');
  return out;
}

let work: string;
let oracle: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'oci-extract-umoci-diff-'));
  oracle = buildOracle(work);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!isRoot)('umoci raw unpack as a tree oracle (root: umoci keeps owners and makes devices)', () => {
  it('extracts valid mutated layers exactly as umoci does', async () => {
    const rnd = prng(Number(process.env.OCI_TAR_FUZZ_SEED ?? 99));
    const base = seeds();
    const candidates = Array.from({ length: 400 }, () => mutate(base[Math.floor(rnd() * base.length)]!, rnd));
    const go = await readWithGo(oracle, candidates);
    // Go reads them, with entries, none sparse (refused by both).
    const valid = candidates.filter((_, i) => go[i]!.error === null && go[i]!.entries.length > 0 && !go[i]!.entries.some((e) => e.sparse)).slice(0, 40);
    expect(valid.length).toBeGreaterThanOrEqual(30);
    let compared = 0;
    const diffs: string[] = [];
    for (const [i, layer] of valid.entries()) {
      const spec: ImageSpec = { layers: [{ entries: [], rawTar: layer, compression: 'gzip' }], ref: 'latest' };
      const layout = join(work, `layout${i}`);
      writeLayoutDir({ images: [spec] }, layout);
      const theirs = join(work, `umoci${i}`);
      let umociOk = true;
      try {
        execFileSync('umoci', ['raw', 'unpack', '--image', `${layout}:latest`, theirs], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      } catch (e) {
        umociOk = false;
        if (process.env.OCI_TAR_FUZZ_VERBOSE) console.log(`case ${i}: umoci: ${JSON.stringify(e).slice(0, 1500)}`);
      }
      const ours = join(work, `ours${i}`);
      const { image } = memoryImage(spec);
      const oursOk = await extractImage(image, ours).then(
        () => true,
        (e: unknown) => {
          if (process.env.OCI_TAR_FUZZ_VERBOSE) console.log(`case ${i}: ours failed (${String(e)}), umoci ${umociOk ? 'succeeded' : 'failed'}`);
          return false;
        },
      );
      if (process.env.OCI_TAR_FUZZ_VERBOSE && oursOk && !umociOk) console.log(`case ${i}: umoci failed, ours succeeded: ${JSON.stringify(go[candidates.indexOf(layer)]!.entries.map((e) => [Buffer.from(e.name, 'hex').toString('latin1'), e.type, e.linkname]))}`);
      if (umociOk && oursOk) {
        compared++;
        const a = tree(theirs);
        const b = tree(ours);
        if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`case ${i} (${layer.toString('base64').slice(0, 3000)}):\n umoci ${JSON.stringify(a)}\n ours  ${JSON.stringify(b)}`);
      }
      rmSync(theirs, { recursive: true, force: true });
      rmSync(ours, { recursive: true, force: true });
      rmSync(layout, { recursive: true, force: true });
    }
    expect(diffs.slice(0, 3)).toEqual([]);
    expect(compared).toBeGreaterThanOrEqual(10);
  }, 300_000);
});
