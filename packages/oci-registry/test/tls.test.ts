// A registry serving HTTPS with a certificate from a throwaway CA (made by openssl here; the
// host's CA store is never touched): untrusted is a typed error naming the host, with no fall-back
// to plain HTTP even on loopback; trusted through the `ca` option or NODE_EXTRA_CA_CERTS (the
// system-store path) it pulls; --insecure-registry skips verification for that host only; the
// Bearer token flow works over TLS.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dir, file, writeArchive } from '@oci2lxc/fixtures';
import { openImageArchive } from '@oci2lxc/oci-tar-image';
import { extractImage } from '@oci2lxc/oci-extract';
import { openRegistry, RegistryError, systemCa, type OpenRegistryOptions } from '../src/index.js';
import { makeTestCa, push, startRegistry, type RegistryTls, type TestRegistry } from './registry.js';
import { snapshot } from './tree.js';

let work: string;
let tls: RegistryTls;
let ca: string;
let reg: TestRegistry;
let tokenReg: TestRegistry;
let expected: Record<string, string>;
const savedExtra = process.env.NODE_EXTRA_CA_CERTS;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'oci2lxc-tls-test-'));
  tls = makeTestCa(work);
  ca = readFileSync(tls.caFile, 'utf8');
  delete process.env.NODE_EXTRA_CA_CERTS;
  writeArchive({ images: [{ ref: 'latest', layers: [[dir('etc'), file('etc/os-release', 'ID=tls\n')], [file('data/blob', Buffer.alloc(300_000, 3))]] }] }, join(work, 'app.tar'));
  [reg, tokenReg] = await Promise.all([startRegistry({ kind: 'none' }, { tls }), startRegistry({ kind: 'token', users: { alice: 'secret' } }, { tls })]);
  await push(reg, `oci-archive:${join(work, 'app.tar')}`, 'app:1');
  await push(tokenReg, `oci-archive:${join(work, 'app.tar')}`, 'private/app:1', { creds: 'alice:secret' });
  const a = await openImageArchive(join(work, 'app.tar'));
  try {
    await extractImage(await a.selectImage(), join(work, 'expected'));
  } finally {
    await a.close();
  }
  expected = snapshot(join(work, 'expected'));
}, 120_000);

afterEach(() => {
  if (savedExtra === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
  else process.env.NODE_EXTRA_CA_CERTS = savedExtra;
});

afterAll(async () => {
  await reg?.stop();
  await tokenReg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

let n = 0;
async function pullTree(ref: string, options: OpenRegistryOptions = {}): Promise<{ tree: Record<string, string>; protocol: string }> {
  const archive = await openRegistry(ref, { retryBaseMs: 5, ...options });
  try {
    const out = join(work, `out-${n++}`);
    await extractImage(await archive.selectImage(), out);
    return { tree: snapshot(out), protocol: (await archive.client.base()).protocol };
  } finally {
    await archive.close();
  }
}

describe('a registry on HTTPS with a test CA', () => {
  it('untrusted certificate: INSECURE_REGISTRY naming the host, at once, no fall-back to plain HTTP on loopback', async () => {
    const started = Date.now();
    const err = await openRegistry(`${reg.host}/app:1`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: 'INSECURE_REGISTRY' });
    const message = (err as Error).message;
    expect(message).toContain(`TLS certificate of ${reg.host} is not trusted`);
    expect(message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    expect(message).toContain(`--insecure-registry ${reg.host}`);
    // Not retried with backoff (4 retries from 500 ms would take more than 7 s).
    expect(Date.now() - started).toBeLessThan(5000);
    // The same through `localhost` (also loopback), and for a by-digest reference.
    await expect(openRegistry(`localhost:${reg.port}/app@sha256:${'a'.repeat(64)}`)).rejects.toMatchObject({ code: 'INSECURE_REGISTRY' });
  });

  it('trusting another CA is not enough: INSECURE_REGISTRY', async () => {
    const otherDir = mkdtempSync(join(work, 'other-ca-'));
    const other = makeTestCa(otherDir);
    const err = await openRegistry(`${reg.host}/app:1`, { ca: readFileSync(other.caFile, 'utf8') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INSECURE_REGISTRY' });
  });

  it('trusted through the `ca` option: pulls over https, tree equals the archive', async () => {
    const { tree, protocol } = await pullTree(`${reg.host}/app:1`, { ca });
    expect(protocol).toBe('https:');
    expect(tree).toEqual(expected);
    expect(tree['data/blob']).toMatch(/^file /);
  });

  it('trusted through NODE_EXTRA_CA_CERTS (added to the system bundle): pulls', async () => {
    process.env.NODE_EXTRA_CA_CERTS = tls.caFile;
    expect(systemCa()).toContain(ca.trim());
    const { tree, protocol } = await pullTree(`${reg.host}/app:1`);
    expect(protocol).toBe('https:');
    expect(tree).toEqual(expected);
  });

  it('--insecure-registry HOST: HTTPS without verification for that host (not plain HTTP)', async () => {
    const { tree, protocol } = await pullTree(`${reg.host}/app:1`, { insecureRegistries: [reg.host] });
    expect(protocol).toBe('https:');
    expect(tree).toEqual(expected);
    // Another host stays verified.
    await expect(openRegistry(`localhost:${reg.port}/app:1`, { insecureRegistries: [reg.host] })).rejects.toMatchObject({ code: 'INSECURE_REGISTRY' });
  });

  it('Bearer token flow over TLS (token server on loopback): pulls with credentials', async () => {
    const before = tokenReg.tokenRequests.length;
    const { tree, protocol } = await pullTree(`${tokenReg.host}/private/app:1`, { ca, credentials: { username: 'alice', password: 'secret' } });
    expect(protocol).toBe('https:');
    expect(tree).toEqual(expected);
    const asked = tokenReg.tokenRequests.slice(before);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((r) => r.status === 200 && r.authorization?.startsWith('Basic '))).toBe(true);
    expect(asked[0]!.url).toContain('scope=repository%3Aprivate%2Fapp%3Apull');
  });
});
