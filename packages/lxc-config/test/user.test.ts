import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@oci2lxc/fixtures';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LxcConfigError, resolveUser } from '../src/index.js';
import { busyboxRootfs } from './helpers.js';

let tmp: { path: string; cleanup: () => void };
let root: string;
beforeEach(() => {
  tmp = tempDir('lxc-config-user-');
  root = join(tmp.path, 'rootfs');
  busyboxRootfs(root);
});
afterEach(() => tmp.cleanup());

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LxcConfigError);
    return (err as LxcConfigError).code;
  }
  return undefined;
}

describe('resolveUser', () => {
  it.each([
    [undefined, { uid: 0, gid: 0, groups: [], name: 'root', home: '/root' }],
    ['', { uid: 0, gid: 0, groups: [], name: 'root', home: '/root' }],
    ['app', { uid: 1234, gid: 1234, groups: [1234, 2000], name: 'app', home: '/home/app' }],
    // Docker: `app:` is `app`, `+1234` is 1234 (Go's Atoi); the primary gid first in the groups (moby).
    ['app:', { uid: 1234, gid: 1234, groups: [1234, 2000], name: 'app', home: '/home/app' }],
    ['+1234', { uid: 1234, gid: 1234, groups: [1234, 2000], name: 'app', home: '/home/app' }],
    ['app:+50', { uid: 1234, gid: 50, groups: [], name: 'app', home: '/home/app' }],
    ['1234', { uid: 1234, gid: 1234, groups: [1234, 2000], name: 'app', home: '/home/app' }],
    ['app:staff', { uid: 1234, gid: 50, groups: [], name: 'app', home: '/home/app' }],
    ['app:77', { uid: 1234, gid: 77, groups: [], name: 'app', home: '/home/app' }],
    ['1234:staff', { uid: 1234, gid: 50, groups: [], name: 'app', home: '/home/app' }],
    ['4321', { uid: 4321, gid: 0, groups: [], home: '/' }],
    ['4321:4322', { uid: 4321, gid: 4322, groups: [], home: '/' }],
  ])('%j', (spec, expected) => {
    expect(resolveUser(root, spec)).toEqual(expected);
  });

  it('unknown names are errors naming the field', () => {
    expect(code(() => resolveUser(root, 'ghost'))).toBe('UNKNOWN_USER');
    expect(code(() => resolveUser(root, 'app:ghosts'))).toBe('UNKNOWN_GROUP');
    expect(code(() => resolveUser(root, 'a:b:c'))).toBe('INVALID_ARGUMENT');
    expect(code(() => resolveUser(root, '-1'))).toBe('UNKNOWN_USER');
    expect(code(() => resolveUser(root, '99999999999'))).toBe('INVALID_ARGUMENT');
  });

  it('without a rootfs only numbers work', () => {
    expect(resolveUser(undefined, '1000:1000')).toEqual({ uid: 1000, gid: 1000, groups: [], home: '/' });
    expect(() => resolveUser(undefined, 'app')).toThrow(/no rootfs given/);
    expect(code(() => resolveUser(undefined, '1000:staff'))).toBe('UNKNOWN_GROUP');
  });

  it('follows symlinks inside the rootfs chroot-style', () => {
    mkdirSync(join(root, 'usr/share/base'), { recursive: true });
    writeFileSync(join(root, 'usr/share/base/passwd'), 'linked:x:777:778::/srv:/bin/sh\n');
    // Absolute target: must be read as <rootfs>/usr/share/base/passwd.
    const p = join(root, 'etc/passwd');
    rmSync(p);
    symlinkSync('/usr/share/base/passwd', p);
    expect(resolveUser(root, 'linked')).toMatchObject({ uid: 777, gid: 778, home: '/srv' });
  });

  it('never reads host files through symlinks (absolute, ../ escapes, symlinked /etc)', () => {
    // A host file that would resolve the user if it were read.
    const host = join(tmp.path, 'host');
    mkdirSync(host);
    writeFileSync(join(host, 'passwd'), 'hostuser:x:4242:4242::/host:/bin/sh\n');
    const before = readFileSync(join(host, 'passwd'));

    rmSync(join(root, 'etc/passwd'));
    symlinkSync(join(host, 'passwd'), join(root, 'etc/passwd')); // absolute host path
    expect(code(() => resolveUser(root, 'hostuser'))).toBe('UNKNOWN_USER');

    rmSync(join(root, 'etc/passwd'));
    symlinkSync('../../../../../../../../host/passwd', join(root, 'etc/passwd')); // ../ clamps at rootfs
    expect(code(() => resolveUser(root, 'hostuser'))).toBe('UNKNOWN_USER');

    rmSync(join(root, 'etc'), { recursive: true });
    symlinkSync('../host', join(root, 'etc')); // <tmp>/host on the host, /host inside
    expect(code(() => resolveUser(root, 'hostuser'))).toBe('UNKNOWN_USER');

    // A symlink loop is refused, not followed forever.
    rmSync(join(root, 'etc'));
    mkdirSync(join(root, 'etc'));
    symlinkSync('passwd', join(root, 'etc/passwd'));
    expect(code(() => resolveUser(root, 'app'))).toBe('UNSAFE_PATH');

    expect(readFileSync(join(host, 'passwd'))).toEqual(before);
  });

  it('refuses a directory or FIFO as /etc/passwd instead of reading it', () => {
    rmSync(join(root, 'etc/passwd'));
    mkdirSync(join(root, 'etc/passwd'));
    expect(code(() => resolveUser(root, 'app'))).toBe('UNSAFE_PATH');
    rmSync(join(root, 'etc/passwd'), { recursive: true });
    execFileSync('mkfifo', [join(root, 'etc/passwd')]);
    expect(code(() => resolveUser(root, 'app'))).toBe('UNSAFE_PATH');
  });
});
