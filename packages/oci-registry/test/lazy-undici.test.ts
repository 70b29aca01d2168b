// Importing the package must not load undici (about 7 MiB of the CLI's memory and its start-up
// time): a program that only reads local archives never talks HTTP. It is loaded on first use.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

function run(script: string): string {
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: dist });
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

describe('undici is loaded on first use', () => {
  it('CJS build: not after require, loaded by makeDispatcher', () => {
    const out = run(`
      const loaded = () => Object.keys(require.cache).some((k) => /[\\\\/]undici[\\\\/]/.test(k));
      const m = require(${JSON.stringify(`${dist}index.cjs`)});
      const before = loaded();
      m.makeDispatcher({}).close();
      console.log(JSON.stringify([before, loaded()]));`);
    expect(JSON.parse(out)).toEqual([false, true]);
  });

  it('ESM build: not after import, loaded by makeDispatcher', () => {
    const out = run(`
      const loaded = () => Object.keys(require.cache).some((k) => /[\\\\/]undici[\\\\/]/.test(k));
      import(${JSON.stringify(`${dist}index.js`)}).then((m) => {
        const before = loaded();
        m.makeDispatcher({}).close();
        console.log(JSON.stringify([before, loaded()]));
      });`);
    expect(JSON.parse(out)).toEqual([false, true]);
  });

  it('loads only the dispatchers and request: not undici\'s index, nor its fetch (~150 ms, ~8 MiB)', () => {
    const out = run(`
      const files = () => Object.keys(require.cache).filter((k) => /[\\/]undici[\\/]/.test(k));
      const m = require(${JSON.stringify(`${dist}index.cjs`)});
      const server = require('node:http').createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', async () => {
        const t = new m.Transport({ retries: 0 });
        const res = await t.request(new URL('http://127.0.0.1:' + server.address().port + '/v2/'), { subject: 'test' });
        const chunks = [];
        for await (const c of res.body) chunks.push(c);
        await t.close();
        server.close();
        const f = files();
        console.log(JSON.stringify([res.status, Buffer.concat(chunks).toString(), f.some((k) => /[\\/]undici[\\/]index\\.js$/.test(k)), f.some((k) => /[\\/]web[\\/]fetch[\\/]/.test(k))]));
      });`);
    expect(JSON.parse(out)).toEqual([200, 'ok', false, false]);
  });
});
