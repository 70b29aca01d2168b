// The cache's file writer keeps several positioned writes in flight: the file must still hold the
// chunks in order, whole, and an abort must leave nothing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileWriter } from '../src/cache.js';

const dir = mkdtempSync(join(tmpdir(), 'oci2lxc-writer-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fileWriter', () => {
  it('writes not waited for one by one still land in order (more than the 8 MiB in flight)', async () => {
    const chunks = Array.from({ length: 120 }, (_, i) => randomBytes(1 + ((i * 7919) % 200_000)));
    const w = await fileWriter(join(dir, 'a.part'), join(dir, 'a'));
    await Promise.all(chunks.map((c) => w.write(c))); // the caller may even not wait
    expect(await w.commit()).toBe(join(dir, 'a'));
    expect(readFileSync(join(dir, 'a')).equals(Buffer.concat(chunks))).toBe(true);
    expect(existsSync(join(dir, 'a.part'))).toBe(false);
  });

  it('thousands of small network-sized chunks, gathered into larger writes, land whole and in order', async () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < 3000; i++) chunks.push(randomBytes(i % 97 === 0 ? 300_000 : 1 + ((i * 7919) % 16_384)));
    const w = await fileWriter(join(dir, 'c.part'), join(dir, 'c'));
    for (const c of chunks) await w.write(c);
    expect(await w.commit()).toBe(join(dir, 'c'));
    expect(readFileSync(join(dir, 'c')).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('a last chunk smaller than a write batch is written by commit', async () => {
    const w = await fileWriter(join(dir, 'd.part'), join(dir, 'd'));
    await w.write(Buffer.from('short'));
    await w.commit();
    expect(readFileSync(join(dir, 'd'), 'utf8')).toBe('short');
  });

  it('abort with writes in flight removes the temp file and never creates the final one', async () => {
    const w = await fileWriter(join(dir, 'b.part'), join(dir, 'b'));
    for (let i = 0; i < 20; i++) void w.write(randomBytes(1 << 20));
    await w.abort();
    expect(readdirSync(dir).filter((n) => n.startsWith('b'))).toEqual([]);
    await expect(w.commit()).rejects.toThrow(/already aborted/);
  });
});
