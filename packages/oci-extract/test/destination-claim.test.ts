// Two extractions into one destination: the O_EXCL claim marker lets exactly one proceed, the
// other fails before writing anything, and the winner's tree carries no trace of the marker.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dir, file, tempDir } from '@oci2lxc/fixtures';
import { CLAIM_MARKER } from '../src/cleanup.js';
import { extractImage } from '../src/index.js';
import { listing, memoryImage, snapshot } from './helpers.js';

let work: { path: string; cleanup: () => void };
beforeEach(() => {
  work = tempDir('oci-extract-claim-');
});
afterEach(() => work.cleanup());

/** An image whose files say which one it is; big enough that its extraction spans many ticks. */
function tagged(tag: string) {
  const many = Array.from({ length: 400 }, (_, i) => file(`d/f${i}`, `${tag}-${i}`));
  return memoryImage({ layers: [[file('tag', tag), file(`only-${tag}`, tag), dir('d'), ...many]] }).image;
}

describe('destination claim', () => {
  it.each(['absent', 'empty'] as const)('of two extractions into one %s destination, the second fails while the first writes', async (kind) => {
    const rootfs = join(work.path, 'rootfs');
    if (kind === 'empty') mkdirSync(rootfs);
    let second: Promise<unknown> | undefined;
    const first = extractImage(tagged('a'), rootfs, {
      onProgress: () => {
        // Once the first one has claimed the destination and is under way.
        second ??= extractImage(tagged('b'), rootfs).then(
          () => 'succeeded',
          (e: unknown) => e,
        );
      },
    });
    await first;
    const err = (await second) as { code?: string; message?: string };
    expect(err.code).toBe('DESTINATION_NOT_EMPTY');
    expect(err.message).toMatch(new RegExp(`another extraction \\(pid ${process.pid}\\) is writing into it`));
    expect(readFileSync(join(rootfs, 'tag'), 'utf8')).toBe('a');
    expect(existsSync(join(rootfs, 'only-b'))).toBe(false);
    expect(existsSync(join(rootfs, CLAIM_MARKER))).toBe(false);
    expect(readFileSync(join(rootfs, 'd/f399'), 'utf8')).toBe('a-399');
  });

  it('started together, exactly one of eight extractions proceeds and the tree is the winner’s alone', async () => {
    const rootfs = join(work.path, 'rootfs');
    const tags = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const results = await Promise.allSettled(tags.map((t) => extractImage(tagged(t), rootfs)));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [tags[i]!] : []));
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'DESTINATION_NOT_EMPTY' });
    const winner = won[0]!;
    expect(readFileSync(join(rootfs, 'tag'), 'utf8')).toBe(winner);
    expect(listing(rootfs).filter((l) => l.startsWith('only-'))).toEqual([`only-${winner} file`]);
    expect(existsSync(join(rootfs, CLAIM_MARKER))).toBe(false);
  });

  it('a marker left by a process that is gone is reported as leftovers, and the directory is untouched', async () => {
    const rootfs = join(work.path, 'rootfs');
    mkdirSync(rootfs);
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(gone.stdout);
    expect(pid).toBeGreaterThan(0);
    writeFileSync(join(rootfs, CLAIM_MARKER), `${pid}\n`);
    const before = snapshot(work.path);
    const err = (await extractImage(tagged('a'), rootfs).catch((e: unknown) => e)) as { code?: string; message?: string };
    expect(err.code).toBe('DESTINATION_NOT_EMPTY');
    expect(err.message).toMatch(new RegExp(`did not finish \\(pid ${pid} is gone\\)`));
    expect(snapshot(work.path)).toEqual(before);
  });

  it('a file of the marker’s name in the image is the image’s and stays', async () => {
    const rootfs = join(work.path, 'rootfs');
    const { image } = memoryImage({ layers: [[file('x', '1')], [file(CLAIM_MARKER, 'from the image')]] });
    await extractImage(image, rootfs);
    expect(readFileSync(join(rootfs, CLAIM_MARKER), 'utf8')).toBe('from the image');
    expect(listing(rootfs)).toEqual(['. dir', `${CLAIM_MARKER} file`, 'x file']);
  });

  it('a failed extraction removes the marker with everything else', async () => {
    const rootfs = join(work.path, 'rootfs');
    mkdirSync(rootfs);
    const before = snapshot(work.path);
    const { image } = memoryImage({ layers: [{ entries: [], rawTar: Buffer.alloc(2048, 0x41), compression: 'zstd' }] });
    await expect(extractImage(image, rootfs)).rejects.toMatchObject({ code: 'CORRUPT_LAYER' });
    expect(snapshot(work.path)).toEqual(before);
    // and the destination can be claimed again
    await extractImage(tagged('c'), rootfs);
    expect(readFileSync(join(rootfs, 'tag'), 'utf8')).toBe('c');
  });
});
