import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { file, writeArchive } from '@oci2lxc/fixtures';
import { makeDispatcher, openRegistry, Transport } from '../src/index.js';
import { push, startRegistry, type TestRegistry } from './registry.js';
import { startProxy, type FaultyProxy } from './proxy.js';

let work: string;
let reg: TestRegistry;
let proxy: FaultyProxy;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'oci2lxc-proxy-env-'));
  writeArchive({ images: [{ ref: 'latest', layers: [[file('f', 'via proxy')]] }] }, join(work, 'app.tar'));
  reg = await startRegistry();
  await push(reg, `oci-archive:${join(work, 'app.tar')}`, 'app:1');
  // Our loopback proxy doubles as a forward proxy (CONNECT tunnels).
  proxy = await startProxy(reg.host);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function pullWith(env: NodeJS.ProcessEnv): Promise<string> {
  const transport = new Transport({ dispatcher: makeDispatcher({}, env), retryBaseMs: 5 });
  try {
    const archive = await openRegistry(`http://${reg.host}/app:1`, { transport });
    try {
      return (await archive.selectImage()).manifestDigest;
    } finally {
      await archive.close();
    }
  } finally {
    await transport.dispatcher.close();
  }
}

describe('proxy from the environment (undici EnvHttpProxyAgent)', () => {
  it('HTTP_PROXY carries the requests; NO_PROXY bypasses it', async () => {
    proxy.reset();
    const viaProxy = await pullWith({ HTTP_PROXY: `http://${proxy.host}` });
    expect(proxy.log.length).toBeGreaterThanOrEqual(1);
    // undici tunnels through the proxy with CONNECT, for http and https targets alike
    expect(proxy.log.every((r) => r.method === 'CONNECT' && r.url === reg.host)).toBe(true);
    proxy.reset();
    const direct = await pullWith({ HTTP_PROXY: `http://${proxy.host}`, NO_PROXY: '127.0.0.1' });
    expect(proxy.log).toEqual([]);
    expect(direct).toBe(viaProxy);
  });
});
