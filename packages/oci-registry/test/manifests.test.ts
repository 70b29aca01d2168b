// Hostile or odd manifests, served by rewriting the real registry's answers in our proxy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { file, writeArchive } from '@oci2lxc/fixtures';
import { openRegistry } from '../src/index.js';
import { push, startRegistry, type TestRegistry } from './registry.js';
import { startProxy, type FaultyProxy } from './proxy.js';

let work: string;
let reg: TestRegistry;
let proxy: FaultyProxy;
let digest: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'oci2lxc-manifests-'));
  writeArchive({ images: [{ ref: 'latest', layers: [[file('f', 'x')]] }] }, join(work, 'app.tar'));
  reg = await startRegistry();
  await push(reg, `oci-archive:${join(work, 'app.tar')}`, 'app:1');
  proxy = await startProxy(reg.host);
  const a = await openRegistry(`${reg.host}/app:1`);
  digest = a.digest;
  await a.close();
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.reset();
  proxy.plan = ({ url }) => (url.includes('/manifests/') ? 'rewrite' : undefined);
});

const open = (ref: string): Promise<unknown> =>
  openRegistry(`${proxy.host}/${ref}`, { retryBaseMs: 5 }).then(
    async (a) => {
      await a.close();
      return a;
    },
    (e: unknown) => e,
  );

describe('manifests', () => {
  it('asks for OCI and Docker v2 types only', async () => {
    proxy.plan = () => undefined;
    await open('app:1');
    const accept = proxy.log.find((r) => r.url.includes('/manifests/'))?.accept ?? '';
    expect(accept.split(/,\s*/).sort()).toEqual(
      [
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.oci.image.manifest.v1+json',
      ].sort(),
    );
  });

  it('schema 1 is refused with a clear error (by Content-Type or by schemaVersion)', async () => {
    proxy.rewrite = (_b, h) => ({ body: Buffer.from('{"schemaVersion":1,"name":"app","tag":"1","fsLayers":[]}'), headers: { ...h, 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' } });
    const a = await open('app:1');
    expect(a).toMatchObject({ code: 'UNSUPPORTED_SCHEMA1' });
    expect((a as Error).message).toMatch(/schema 1/);
    proxy.rewrite = (_b, h) => ({ body: Buffer.from('{"schemaVersion":1,"fsLayers":[]}'), headers: { ...h, 'content-type': 'application/json' } });
    expect(await open('app:1')).toMatchObject({ code: 'UNSUPPORTED_SCHEMA1' });
  });

  it('a manifest over 4 MiB is refused (declared or streamed)', async () => {
    proxy.rewrite = (b, h) => ({ body: Buffer.concat([b.subarray(0, b.length - 1), Buffer.from(`,"pad":"${'x'.repeat(4 * 1024 * 1024)}"}`)]), headers: h });
    const err = await open('app:1');
    expect(err).toMatchObject({ code: 'MANIFEST_TOO_LARGE' });
  });

  it('by digest: bytes that do not hash to the digest are DIGEST_MISMATCH', async () => {
    proxy.rewrite = (b, h) => ({ body: Buffer.concat([b, Buffer.from(' ')]), headers: h });
    const err = await open(`app@${digest}`);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', subject: digest });
  });

  it('by tag: bytes that differ from Docker-Content-Digest are DIGEST_MISMATCH', async () => {
    proxy.rewrite = (b, h) => ({ body: Buffer.concat([b, Buffer.from('\n')]), headers: h });
    const err = await open('app:1');
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect((err as Error).message).toContain(digest);
  });

  it('not JSON, or an invalid manifest: typed errors', async () => {
    proxy.rewrite = (_b, h) => ({ body: Buffer.from('<html>'), headers: { ...h, 'docker-content-digest': undefined } });
    expect(await open('app:1')).toMatchObject({ code: 'INVALID_MANIFEST' });
    proxy.rewrite = (_b, h) => ({
      body: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: 'sha256:../../etc/passwd', size: 1 }, layers: [] })),
      headers: { ...h, 'docker-content-digest': undefined },
    });
    expect(await open('app:1')).toMatchObject({ code: 'INVALID_DIGEST' });
  });

  it('a config whose descriptor is over the JSON cap is BLOB_TOO_LARGE, refused before any byte of it is fetched', async () => {
    proxy.rewrite = (b, h) => {
      const m = JSON.parse(b.toString('utf8')) as { config: { size: number } };
      m.config.size = 4 * 1024 * 1024 + 1;
      return { body: Buffer.from(JSON.stringify(m)), headers: { ...h, 'docker-content-digest': undefined } };
    };
    const err = await openRegistry(`${proxy.host}/app:1`, { retryBaseMs: 5 }).then(
      async (a) => {
        await a.selectImage({}).finally(() => a.close());
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'BLOB_TOO_LARGE' });
    expect((err as Error).message).toMatch(/4194305 bytes, more than the 4194304 allowed/);
    expect(proxy.log.filter((r) => r.url.includes('/blobs/'))).toEqual([]);
  });

  it('an empty index: nothing runnable, a typed error', async () => {
    const self = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] as unknown[] };
    proxy.rewrite = (_b, h) => ({ body: Buffer.from(JSON.stringify(self)), headers: { ...h, 'docker-content-digest': undefined, 'content-type': self.mediaType } });
    expect(await open('app:1')).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});
