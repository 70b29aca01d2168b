// Go's archive/tar (Docker, containerd, umoci) as a differential oracle for our tar reader: where
// Go reads an archive we must read the same header sequence; where Go fails we must fail (or be
// stricter, only in the documented ways: tar-fuzz.ts STRICTER). Seeded mutation fuzzing:
// OCI_TAR_FUZZ_CASES (default 5000) cases, OCI_TAR_FUZZ_SEED to vary them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END_OF_ARCHIVE, paxEntry, paxRecord, rawEntry } from '@oci2lxc/fixtures';
import { buildOracle, difference, mutate, prng, readOurs, readWithGo, seeds, type OracleResult } from './tar-fuzz.js';

let work: string;
let oracle: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'oci-extract-go-oracle-'));
  oracle = buildOracle(work);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const goRead = (archives: Buffer[]): Promise<OracleResult[]> => readWithGo(oracle, archives);

async function compareAll(archives: Buffer[], seed: number, goOk?: { n: number }): Promise<string[]> {
  const go = await goRead(archives);
  if (goOk) goOk.n += go.filter((g) => g.error === null).length;
  const rnd = prng(seed ^ 0x5eed);
  const diffs: string[] = [];
  for (const [i, a] of archives.entries()) {
    const ours = await readOurs(a, rnd);
    const d = difference(go[i]!, ours);
    if (d !== undefined) diffs.push(`case ${i} (${a.length} bytes, base64 ${a.toString('base64').slice(0, 4000)}): ${d}`);
  }
  return diffs;
}

describe('Go archive/tar differential oracle', () => {
  it('agrees on the seed archives, which Go reads without error', async () => {
    const s = seeds();
    const go = await goRead(s);
    go.forEach((r, i) => expect(r.error, `seed ${i}`).toBeNull());
    expect(await compareAll(s, 1)).toEqual([]);
  });

  it('agrees on the issue #16 inputs', async () => {
    const esc = Buffer.from(`${'\u012e\u012e\u012f'.repeat(8)}tmp\u012frt-x-PWNED`, 'utf8');
    const r = paxRecord('path', esc);
    const n = Number(r.toString('latin1').split(' ')[0]);
    const cases = [
      Buffer.concat([paxEntry(paxRecord('path', esc), 'g'), paxEntry(paxRecord('mtime', '1')), rawEntry({ name: 'benign' }, Buffer.from('owned\n')), END_OF_ARCHIVE]),
      Buffer.concat([paxEntry(Buffer.concat([Buffer.from(String(n + 2)), r.subarray(String(n).length, r.length - 1)])), rawEntry({ name: 'benign' }, Buffer.from('x')), END_OF_ARCHIVE]),
      Buffer.concat([rawEntry({ name: 's', typeflag: '2', linkname: 'x', size: 512 }), rawEntry({ name: 'bin/sh', mode: 0o4755 }, Buffer.from('evil')), END_OF_ARCHIVE]),
      Buffer.concat([rawEntry({ name: 'a' }, Buffer.from('1')), END_OF_ARCHIVE, rawEntry({ name: 'after' }, Buffer.from('2')), END_OF_ARCHIVE]),
      Buffer.concat([paxEntry(paxRecord('uid', '0x10')), rawEntry({ name: 'u' }), END_OF_ARCHIVE]),
      Buffer.concat([paxEntry(paxRecord('gid', '12abc')), rawEntry({ name: 'g' }), END_OF_ARCHIVE]),
    ];
    const go = await goRead(cases);
    expect(go.map((g) => g.error === null)).toEqual([true, false, true, true, false, false]);
    expect(await compareAll(cases, 2)).toEqual([]);
  });

  const cases = Number(process.env.OCI_TAR_FUZZ_CASES ?? 5000);
  const seed = Number(process.env.OCI_TAR_FUZZ_SEED ?? 16);
  it(`agrees on ${cases} mutated archives (seed ${seed})`, async () => {
    const rnd = prng(seed);
    const base = seeds();
    const diffs: string[] = [];
    const goOk = { n: 0 };
    for (let done = 0; done < cases; ) {
      const batch: Buffer[] = [];
      for (; batch.length < 1000 && done < cases; done++) batch.push(mutate(base[Math.floor(rnd() * base.length)]!, rnd));
      diffs.push(...(await compareAll(batch, seed + done, goOk)));
      if (diffs.length > 5) break;
    }
    expect(diffs.slice(0, 5)).toEqual([]);
    // The mutations must leave both kinds of cases in numbers, or the comparison proves little.
    expect(goOk.n).toBeGreaterThan(cases * 0.2);
    expect(goOk.n).toBeLessThan(cases * 0.9);
  }, 600_000);
});
