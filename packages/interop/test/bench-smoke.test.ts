// Smoke test of `pnpm bench` (bench/run.mjs): it runs end to end on tiny images and prints its
// tables. Timings are not asserted (benchmarks are not timed tests); the shape of the report is.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tempDir } from '@oci2lxc/fixtures';
import { cliAvailable, extractAvailable } from '../src/oci2lxc.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const tmp = tempDir('oci2lxc-bench-smoke-');
afterAll(() => tmp.cleanup());

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('pnpm bench (smoke)', () => {
  it('runs on tiny images and prints the Markdown tables', () => {
    const cache = join(tmp.path, 'cache');
    const r = spawnSync(
      process.execPath,
      ['bench/run.mjs', '--quick', '--rounds', '1', '--no-write', '--no-sync', '--cache-dir', cache, '--work-dir', tmp.path],
      { cwd: repo, encoding: 'utf8', timeout: 240_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^\| image \| files \| unpacked \| layers \| archive \|$/m);
    expect(out).toMatch(/^\| image \| tool \| wall s \(median of 1\) \| vs umoci \| vs tar \| vs floor \| vs node floor \| user\+sys s \| peak RSS MiB \|$/m);
    for (const image of ['small-gzip', 'small-zstd', 'large-gzip', 'large-zstd']) {
      expect(out).toMatch(new RegExp(`^\\| ${image} \\| \\d+ \\| [\\d.]+ MiB \\| 3 \\(`, 'm'));
      expect(out).toMatch(new RegExp(`^\\| ${image} \\| GNU tar [^|]+\\| \\d+\\.\\d{3} \\|`, 'm'));
      expect(out).toMatch(new RegExp(`^\\| ${image} \\| (gzip|zstd) -dc >/dev/null \\| \\d+\\.\\d{3} \\|`, 'm'));
      expect(out).toMatch(new RegExp(`^\\| ${image} \\| (node:zlib gunzip|zstd-napi) → null \\| \\d+\\.\\d{3} \\|`, 'm'));
    }
    // umoci takes gzip layers only (0.4.7); the report says so instead of failing.
    expect(out).toMatch(/^\| small-gzip \| umoci raw unpack \| \d+\.\d{3} \| 1\.00x \|/m);
    expect(out).not.toMatch(/^\| small-zstd \| umoci/m);
    expect(out).toMatch(/umoci: n\/a for zstd images/);
    if (cliAvailable || extractAvailable) {
      expect(out).toMatch(/^\| large-gzip \| oci2lxc [^|]+\| \d+\.\d{3} \| \d+\.\d{2}x \| \d+\.\d{2}x \| \d+\.\d{2}x \| \d+\.\d{2}x \|/m);
      expect(out).toMatch(/^\| target \| measured \| limit \| met \|$/m);
    }
    if (cliAvailable) expect(out).toMatch(/^\| `oci2lxc inspect --json` \|/m);
    expect(out).toMatch(/^Machine: \d+ cores, /m);
    // Images were cached in the given directory, the rootfs work dirs removed again.
    expect(readdirSync(cache).filter((d) => existsSync(join(cache, d, 'meta.json')))).toHaveLength(4);
    expect(readdirSync(tmp.path).filter((d) => d.startsWith('oci2lxc-bench-'))).toEqual([]);
  });
});
