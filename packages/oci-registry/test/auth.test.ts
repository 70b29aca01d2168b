import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { file, writeArchive } from '@oci2lxc/fixtures';
import { extractImage } from '@oci2lxc/oci-extract';
import { lookupCredentials, openRegistry, type OpenRegistryOptions } from '../src/index.js';
import { push, startRegistry, type TestRegistry } from './registry.js';
import { startProxy, type FaultyProxy } from './proxy.js';

let work: string;
let token: TestRegistry;
let basic: TestRegistry;
const users = { alice: 'wonder land', bob: 'builder' };

function authFile(entries: Record<string, unknown>): string {
  const p = join(work, `auth-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify(entries));
  return p;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function pull(ref: string, options: OpenRegistryOptions = {}): Promise<string> {
  const archive = await openRegistry(ref, { retryBaseMs: 10, authFiles: [], ...options });
  try {
    const out = join(work, `rootfs-${Math.random().toString(36).slice(2)}`);
    await extractImage(await archive.selectImage(), out);
    return readFileSync(join(out, 'hello'), 'utf8');
  } finally {
    await archive.close();
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'oci2lxc-auth-test-'));
  writeArchive({ images: [{ ref: 'latest', layers: [[file('hello', 'world')]] }] }, join(work, 'app.tar'));
  [token, basic] = await Promise.all([
    startRegistry({ kind: 'token', users, anonymousPull: (repo) => repo.startsWith('public/') }),
    startRegistry({ kind: 'htpasswd', users }),
  ]);
  const src = `oci-archive:${join(work, 'app.tar')}`;
  await push(token, src, 'public/app:1', { creds: 'alice:wonder land' });
  await push(token, src, 'private/app:1', { creds: 'alice:wonder land' });
  await push(basic, src, 'app:1', { creds: 'bob:builder' });
}, 120_000);

afterAll(async () => {
  await Promise.all([token?.stop(), basic?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('token auth (as Docker Hub)', () => {
  it('anonymous pull of a public repository gets an anonymous token for the pull scope', async () => {
    token.tokenRequests.length = 0;
    expect(await pull(`${token.host}/public/app:1`)).toBe('world');
    expect(token.tokenRequests.length).toBeGreaterThan(0);
    expect(token.tokenRequests.every((r) => r.authorization === undefined)).toBe(true);
    const url = new URL(token.tokenRequests[0]!.url, 'http://x');
    expect(url.searchParams.get('service')).toBe('oci2lxc-test-registry');
    expect(url.searchParams.get('scope')).toBe('repository:public/app:pull');
  });

  it('a private repository with credentials from $REGISTRY_AUTH_FILE-style auth.json', async () => {
    token.tokenRequests.length = 0;
    const f = authFile({ auths: { [token.host]: { auth: b64('alice:wonder land') } } });
    expect(await pull(`${token.host}/private/app:1`, { authFiles: [f] })).toBe('world');
    expect(token.tokenRequests.some((r) => r.authorization === `Basic ${b64('alice:wonder land')}`)).toBe(true);
  });

  it('a private repository without credentials: UNAUTHORIZED saying so', async () => {
    const err = await pull(`${token.host}/private/app:1`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((err as Error).message).toMatch(/needs credentials for private\/app/);
  });

  it('wrong credentials: UNAUTHORIZED naming the user and the token server', async () => {
    const err = await pull(`${token.host}/private/app:1`, { credentials: { username: 'alice', password: 'nope' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect((err as Error).message).toMatch(/token server http:\/\/127\.0\.0\.1:\d+ refused the credentials of 'alice'/);
  });
});

describe('htpasswd Basic auth', () => {
  it('pulls with credentials from ~/.docker/config.json-style auths (username/password fields)', async () => {
    const f = authFile({ auths: { [`http://${basic.host}`]: { username: 'bob', password: 'builder' } } });
    expect(await pull(`${basic.host}/app:1`, { authFiles: [join(work, 'missing.json'), f] })).toBe('world');
  });

  it('no credentials / wrong credentials: UNAUTHORIZED, two clear messages', async () => {
    const none = await pull(`${basic.host}/app:1`).catch((e: unknown) => e);
    expect(none).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((none as Error).message).toMatch(/needs credentials/);
    const wrong = await pull(`${basic.host}/app:1`, { credentials: { username: 'bob', password: 'x' } }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((wrong as Error).message).toMatch(/refused the credentials of 'bob'/);
  });

  it('credHelpers: docker-credential-<name> get, the server on stdin, no shell', async () => {
    const bin = join(work, 'bin');
    const seen = join(work, 'helper-stdin');
    rmSync(bin, { recursive: true, force: true });
    await import('node:fs').then((fs) => fs.mkdirSync(bin));
    writeFileSync(
      join(bin, 'docker-credential-oci2lxc-test'),
      `#!/bin/sh\n[ "$1" = get ] || exit 3\ncat > '${seen}'\nprintf '{"ServerURL":"x","Username":"bob","Secret":"builder"}'\n`,
    );
    chmodSync(join(bin, 'docker-credential-oci2lxc-test'), 0o755);
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      const f = authFile({ auths: { [basic.host]: { auth: b64('bob:wrong') } }, credHelpers: { [basic.host]: 'oci2lxc-test' } });
      expect(await lookupCredentials(basic.host, 'app', [f])).toEqual({ username: 'bob', password: 'builder' });
      expect(readFileSync(seen, 'utf8')).toBe(basic.host);
      expect(await pull(`${basic.host}/app:1`, { authFiles: [f] })).toBe('world');
      // A helper name that could be a path or option is refused before anything runs.
      const bad = authFile({ credHelpers: { [basic.host]: '../../bin/sh' } });
      await expect(lookupCredentials(basic.host, 'app', [bad])).rejects.toMatchObject({ code: 'CREDENTIALS_ERROR' });
    } finally {
      process.env.PATH = oldPath;
    }
  });
});

describe('redirects', () => {
  let proxy: FaultyProxy;
  beforeAll(async () => {
    proxy = await startProxy(basic.host, `Basic ${b64('bob:builder')}`);
  });
  afterAll(async () => proxy?.stop());

  it('a blob redirected (307) to another origin is fetched without the Authorization header', async () => {
    proxy.plan = ({ url }) => (url.includes('/blobs/') ? 'redirect' : undefined);
    proxy.cdnLog.length = 0;
    expect(await pull(`${proxy.host}/app:1`, { credentials: { username: 'bob', password: 'builder' } })).toBe('world');
    expect(proxy.cdnLog.length).toBeGreaterThanOrEqual(2); // config and layer
    expect(proxy.cdnLog.every((r) => r.authorization === undefined)).toBe(true);
    // …while the registry itself did get the credentials
    expect(proxy.log.some((r) => r.url.includes('/blobs/') && r.authorization === `Basic ${b64('bob:builder')}`)).toBe(true);
  });
});
