import { lstatSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dir, file, hardlink, symlink, tempDir } from '@oci2lxc/fixtures';
import { applyLayer } from '../src/index.js';
import { layerStream } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function root(): string {
  const t = tempDir('oci-extract-basic-');
  cleanups.push(t.cleanup);
  const r = join(t.path, 'rootfs');
  mkdirSync(r);
  return r;
}

describe('applyLayer basics', () => {
  it('writes files, dirs, symlinks and hardlinks', async () => {
    const r = root();
    const res = await applyLayer(
      layerStream([dir('etc'), file('etc/hostname', 'box\n', { mode: 0o640 }), symlink('etc/link', '../etc/hostname'), hardlink('etc/hard', 'etc/hostname'), file('deep/a/b/c.txt', 'x')]),
      r,
    );
    expect(res.entries).toBe(5);
    expect(res.diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(readFileSync(join(r, 'etc/hostname'), 'utf8')).toBe('box\n');
    expect(lstatSync(join(r, 'etc/hostname')).mode & 0o7777).toBe(0o640);
    expect(readlinkSync(join(r, 'etc/link'))).toBe('../etc/hostname');
    expect(lstatSync(join(r, 'etc/hard')).ino).toBe(lstatSync(join(r, 'etc/hostname')).ino);
    expect(readFileSync(join(r, 'deep/a/b/c.txt'), 'utf8')).toBe('x');
    expect(lstatSync(join(r, 'deep/a')).mode & 0o7777).toBe(0o755);
  });
});
