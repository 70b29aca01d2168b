import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { file, writeArchive } from '@oci2lxc/fixtures';
import { openImageArchive } from '@oci2lxc/oci-tar-image';
import { extractImage } from '@oci2lxc/oci-extract';
import { BlobCache, openRegistry, registryCause, type OpenRegistryOptions } from '../src/index.js';
import { push, sha256, startRegistry, type TestRegistry } from './registry.js';
import { startProxy, type Fault, type FaultyProxy } from './proxy.js';
import { snapshot } from './tree.js';

let work: string;
let reg: TestRegistry;
let proxy: FaultyProxy;
let expected: Record<string, string>;
let layerDigests: string[];
let n = 0;

// Random content: compressed layers stay large enough to be cut in the middle.
const noise = (size: number, seed: number): Buffer => {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'oci2lxc-faults-test-'));
  const archive = join(work, 'app.tar');
  writeArchive({ images: [{ ref: 'latest', layers: [[file('a', noise(4_000_000, 1))], [file('b', noise(200_000, 2))], [file('c', noise(100_000, 3))]] }] }, archive);
  reg = await startRegistry();
  await push(reg, `oci-archive:${archive}`, 'app:1');
  proxy = await startProxy(reg.host);
  const a = await openImageArchive(archive);
  const image = await a.selectImage();
  layerDigests = image.layers.map((l) => l.digest);
  await extractImage(image, join(work, 'expected'));
  await a.close();
  expected = snapshot(join(work, 'expected'));
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

beforeEach(() => proxy.reset());

const isLayer = (url: string, i: number): boolean => url.endsWith(`/blobs/${layerDigests[i]}`);

async function pull(options: OpenRegistryOptions = {}): Promise<{ rootfs: string; cache: string; bytes: number }> {
  const rootfs = join(work, `rootfs-${++n}`);
  const cache = join(work, `cache-${n}`);
  const archive = await openRegistry(`${proxy.host}/app:1`, { retryBaseMs: 5, cache, ...options });
  try {
    await extractImage(await archive.selectImage(), rootfs);
    return { rootfs, cache, bytes: archive.bytesRead };
  } finally {
    await archive.close();
  }
}

/** Runs a pull that must fail; checks nothing is left: no rootfs, no cache entry, no temp file. */
async function failingPull(code: string | string[], options: OpenRegistryOptions = {}): Promise<Error> {
  const rootfs = join(work, `rootfs-${n + 1}`);
  const cache = join(work, `cache-${n + 1}`);
  const err = (await pull(options).then(
    () => undefined,
    (e: unknown) => e,
  )) as Error;
  // oci-extract wraps a source's error (keeping it as the cause) unless it is its own or oci-tar-image's
  const codes = [(err as { code?: string }).code, registryCause(err)?.code];
  expect(codes.some((c) => c !== undefined && (Array.isArray(code) ? code : [code]).includes(c)), `${codes.join(', ')}: ${err?.message}`).toBe(true);
  expect(existsSync(rootfs)).toBe(false);
  const entries = await new BlobCache(cache).list();
  // whatever entered the cache is whole and verified: its bytes hash to its name
  for (const e of entries) expect(sha256(readFileSync(new BlobCache(cache).pathOf(e.digest)))).toBe(e.digest);
  if (existsSync(join(cache, 'tmp'))) expect(readdirSync(join(cache, 'tmp'))).toEqual([]);
  return err;
}

describe('downloads overlap extraction, bounded', () => {
  it('with concurrency 3 the next layers are requested while the first one streams; with 1, one after another', async () => {
    await pull({ concurrency: 3, cache: false });
    const req = (i: number) => proxy.log.find((r) => isLayer(r.url, i) && r.method === 'GET')!;
    expect(req(1).at!).toBeLessThan(req(0).done!);
    expect(req(2).at!).toBeLessThan(req(0).done!);
    proxy.reset();
    await pull({ concurrency: 1, cache: false });
    expect(req(1).at!).toBeGreaterThanOrEqual(req(0).done!);
    expect(req(2).at!).toBeGreaterThanOrEqual(req(1).done!);
  });
});

describe('faulty network between client and registry', () => {
  it('a connection dropped mid-blob is resumed with Range; the tree is right', async () => {
    proxy.plan = ({ url, n: k }) => (isLayer(url, 0) && k === 0 ? 'drop' : undefined);
    const { rootfs } = await pull();
    expect(snapshot(rootfs)).toEqual(expected);
    const ranged = proxy.log.filter((r) => isLayer(r.url, 0));
    expect(ranged.length).toBe(2);
    expect(ranged[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it('a body truncated once is resumed; truncated every time ends in SIZE_MISMATCH with nothing left behind', async () => {
    proxy.plan = ({ url, n: k }) => (isLayer(url, 1) && k === 0 ? 'truncate' : undefined);
    expect(snapshot((await pull()).rootfs)).toEqual(expected);
    proxy.plan = ({ url }) => (isLayer(url, 1) ? 'truncate' : undefined);
    const err = await failingPull('SIZE_MISMATCH');
    expect(err.message).toContain(layerDigests[1]);
  });

  it('dropped every time: NETWORK_ERROR after the retries, nothing left behind', async () => {
    proxy.plan = ({ url }) => (isLayer(url, 2) ? 'drop' : undefined);
    const err = await failingPull('NETWORK_ERROR', { retries: 2 });
    expect(err.message).toContain(layerDigests[2]);
    expect(proxy.log.filter((r) => isLayer(r.url, 2)).length).toBe(3);
  });

  it('500 is retried with backoff', async () => {
    proxy.plan = ({ url, n: k }) => ((url.includes('/manifests/') || isLayer(url, 0)) && k < 2 ? ('500' as Fault) : undefined);
    expect(snapshot((await pull()).rootfs)).toEqual(expected);
    expect(proxy.log.filter((r) => r.fault === '500').length).toBe(4);
  });

  it('500 for ever: HTTP_ERROR naming the status', async () => {
    proxy.plan = ({ url }) => (url.includes('/manifests/') ? '500' : undefined);
    const err = await pull({ retries: 1 }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'HTTP_ERROR', status: 500 });
  });

  it('429 waits for Retry-After, then succeeds', async () => {
    proxy.retryAfter = '1';
    proxy.plan = ({ url, n: k }) => (isLayer(url, 0) && k === 0 ? '429' : undefined);
    const t = Date.now();
    expect(snapshot((await pull()).rootfs)).toEqual(expected);
    expect(Date.now() - t).toBeGreaterThanOrEqual(900);
  });

  it('429 asking for longer than we wait: RATE_LIMITED naming the limit', async () => {
    proxy.retryAfter = '3600';
    proxy.plan = ({ url }) => (url.includes('/manifests/') ? '429' : undefined);
    const t = Date.now();
    const err = (await pull().then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(err.message).toMatch(/limit 100;w=21600/);
    expect(err.message).toMatch(/retry after 3600s/);
    expect(Date.now() - t).toBeLessThan(5000);
  });

  it('a corrupted byte in a streamed layer: DIGEST_MISMATCH, no rootfs, no cache entry', async () => {
    proxy.plan = ({ url }) => (isLayer(url, 0) ? 'corrupt' : undefined);
    // gzip's own check may see the flipped byte before the digest does: either way a typed error
    const err = await failingPull(['CORRUPT_LAYER', 'DIGEST_MISMATCH']);
    expect(err.message).toContain(layerDigests[0]!.slice(0, 19));
    const cache = join(work, `cache-${n}`);
    expect(existsSync(new BlobCache(cache).pathOf(layerDigests[0]!))).toBe(false);
  });

  it('a corrupted byte in a layer fetched ahead: DIGEST_MISMATCH, not cached, and the next pull repairs it', async () => {
    proxy.plan = ({ url }) => (isLayer(url, 2) ? 'corrupt' : undefined);
    await failingPull('DIGEST_MISMATCH');
    const cache = join(work, `cache-${n}`);
    const c = new BlobCache(cache);
    expect(existsSync(c.pathOf(layerDigests[2]!))).toBe(false);
    proxy.plan = () => undefined;
    const archive = await openRegistry(`${proxy.host}/app:1`, { retryBaseMs: 5, cache });
    try {
      await extractImage(await archive.selectImage(), join(work, 'repaired'));
    } finally {
      await archive.close();
    }
    expect(snapshot(join(work, 'repaired'))).toEqual(expected);
  });

  it('a blob redirected to another loopback port is followed', async () => {
    proxy.plan = ({ url }) => (url.includes('/blobs/') ? 'redirect' : undefined);
    proxy.cdnLog.length = 0;
    expect(snapshot((await pull()).rootfs)).toEqual(expected);
    expect(proxy.cdnLog.length).toBe(4);
  });
});
