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
});
