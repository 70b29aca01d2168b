// The installed commands are run through their shebang. Node 20 reads `--env-file FILE` anywhere
// in argv, even after the script's name (nodejs/node#51006): it would fail on a missing file
// before our code runs, and load a present file into the CLI's own environment (proxy settings
// meant for the container would steer our registry pulls). The shebang ends node's options with
// `--`, so `--env-file` reaches our parser only.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, templateBin } from './run-cli.js';

describe('shebang', () => {
  it('--env-file FILE after the command is ours, not node\'s (missing file: our usage error)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oci2lxc-shebang-'));
    try {
      const missing = join(dir, 'missing.env');
      const r = spawnSync(bin, ['config', join(dir, 'image.tar'), '--env-file', missing], { encoding: 'utf8' });
      expect(r.stderr).not.toMatch(/^node:/m);
      expect(r.status === 1 || r.status === 2).toBe(true);
      expect(r.stderr).toContain('oci2lxc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a present --env-file is not loaded into the CLI process (NODE_OPTIONS in it has no effect)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oci2lxc-shebang-'));
    try {
      const envFile = join(dir, 'app.env');
      // Were node to load this file, it would try to preload a module that does not exist and die.
      writeFileSync(envFile, `NODE_OPTIONS=--require ${join(dir, 'no-such-module.cjs')}\n`);
      for (const cmd of [bin, templateBin]) {
        const args = cmd === bin ? ['config', '--help', '--env-file', envFile] : ['--help', '--env-file', envFile];
        const r = spawnSync(cmd, args, { encoding: 'utf8' });
        expect(r.stderr).not.toContain('no-such-module');
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^Usage: /m);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
