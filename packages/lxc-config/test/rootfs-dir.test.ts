import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@oci2lxc/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDirectoryInRoot, LxcConfigError } from '../src/index.js';

const tmp = tempDir('lxc-config-dir-');
afterAll(() => tmp.cleanup());
let n = 0;

/** A rootfs next to a "host" directory that must never change. */
function sandbox() {
  const base = join(tmp.path, `s${n++}`);
  const root = join(base, 'rootfs');
  const host = join(base, 'host');
  mkdirSync(root, { recursive: true });
  mkdirSync(host);
  writeFileSync(join(host, 'keep'), 'k');
  return { root, host };
}

describe('ensureDirectoryInRoot (a missing WorkingDir, as Docker creates it)', () => {
  it('creates missing components 0755 and reports it; an existing directory is left alone', () => {
    const { root } = sandbox();
    const old = process.umask(0o077);
    try {
      expect(ensureDirectoryInRoot(root, '/srv/app/data')).toBe(true);
    } finally {
      process.umask(old);
    }
    for (const d of ['srv', 'srv/app', 'srv/app/data']) expect(statSync(join(root, d)).mode & 0o777).toBe(0o755);
    expect(ensureDirectoryInRoot(root, '/srv/app/data')).toBe(false);
  });

  it('gives created directories the owner of the rootfs itself (an id-shifted rootfs)', () => {
    const { root } = sandbox();
    if (process.getuid?.() !== 0) return;
    chownSync(root, 100000, 100000);
    ensureDirectoryInRoot(root, '/work');
    const st = statSync(join(root, 'work'));
    expect([st.uid, st.gid]).toEqual([100000, 100000]);
  });

  it('follows symlinks inside the rootfs, chroot-style: an absolute or climbing link never leaves it', () => {
    const { root, host } = sandbox();
    symlinkSync(host, join(root, 'abs'));
    symlinkSync('../../../../host', join(root, 'climb'));
    mkdirSync(join(root, 'real'));
    symlinkSync('/real', join(root, 'inside'));
    ensureDirectoryInRoot(root, '/abs/x');
    ensureDirectoryInRoot(root, '/climb/y');
    ensureDirectoryInRoot(root, '/inside/z');
    expect(readdirSync(host)).toEqual(['keep']);
    // Both links resolve inside the rootfs: <root><host path>/x and <root>/host/y.
    expect(existsSync(join(root, host, 'x'))).toBe(true);
    expect(existsSync(join(root, 'host', 'y'))).toBe(true);
    expect(existsSync(join(root, 'real', 'z'))).toBe(true);
    expect(lstatSync(join(root, 'abs')).isSymbolicLink()).toBe(true);
  });

  it('a file in the way is an UNSAFE_PATH error', () => {
    const { root } = sandbox();
    writeFileSync(join(root, 'file'), '');
    expect(() => ensureDirectoryInRoot(root, '/file/sub')).toThrow(LxcConfigError);
    try {
      ensureDirectoryInRoot(root, '/file/sub');
    } catch (err) {
      expect((err as LxcConfigError).code).toBe('UNSAFE_PATH');
    }
  });

  it('a symlink loop is an error, not a hang', () => {
    const { root } = sandbox();
    symlinkSync('/loop', join(root, 'loop'));
    expect(() => ensureDirectoryInRoot(root, '/loop/x')).toThrow(/symbolic links/);
  });
});
