// An image made by umoci itself: unpack → edit the rootfs with ordinary file system calls →
// repack, three times (content; deletions → `.wh.` whiteouts; an opaque-whiteout layer added
// verbatim, because umoci's repack only ever writes individual whiteouts).
import { chmodSync, chownSync, linkSync, lutimesSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTar, dir, file, opaque } from '@oci2lxc/fixtures';
import { run, umoci } from './tools.js';

export interface UmociImage {
  /** OCI image layout directory written by umoci. */
  layout: string;
  tag: string;
  /** `layout:tag`, as umoci and skopeo's `oci:` transport take it. */
  ref: string;
  /** The runtime config set with `umoci config`. */
  config: { Entrypoint: string[]; Cmd: string[]; Env: string[]; WorkingDir: string; User: string; StopSignal: string };
}

/** Deterministic pseudo-random bytes (xorshift32), so content differs per file but not per run. */
function bytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Builds the image in `work` (layout `work/layout`, scratch bundle `work/bundle`). Needs root:
 * it creates device nodes, chowns files and sets trusted.* xattrs.
 */
export function buildUmociImage(work: string): UmociImage {
  const layout = join(work, 'layout');
  const bundle = join(work, 'bundle');
  const tag = 't';
  const ref = `${layout}:${tag}`;
  const config = {
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['echo "hello world"'],
    Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'GREETING=two words', 'EMPTY='],
    WorkingDir: '/srv/app',
    User: '1000:1000',
    StopSignal: 'SIGQUIT',
  };

  umoci(['init', '--layout', layout]);
  umoci(['new', '--image', ref]);
  umoci([
    'config',
    '--image',
    ref,
    ...config.Entrypoint.flatMap((e) => ['--config.entrypoint', e]),
    ...config.Cmd.flatMap((c) => ['--config.cmd', c]),
    ...config.Env.flatMap((e) => ['--config.env', e]),
    '--config.workingdir',
    config.WorkingDir,
    '--config.user',
    config.User,
    '--config.stopsignal',
    config.StopSignal,
  ]);
  umoci(['unpack', '--image', ref, bundle]);
  const r = (p: string): string => join(bundle, 'rootfs', p);

  // ---- round 1: every kind of file system object ------------------------------------------
  let t = 1_500_000_000;
  const stamp = (p: string): void => {
    t += 3601;
    lutimesSync(r(p), t, t);
  };
  for (const d of ['etc', 'usr/bin', 'usr/lib/pkg/deep/er/still/deeper', 'srv/app', 'data/keep', 'data/gone/inner', 'empty-me/sub', 'opq/lower', 'tmp', 'home/user']) {
    mkdirSync(r(d), { recursive: true });
  }
  writeFileSync(r('etc/hello'), 'hello\n');
  writeFileSync(r('etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n');
  writeFileSync(r('usr/bin/tool'), bytes(1, 300_000));
  chmodSync(r('usr/bin/tool'), 0o4755);
  writeFileSync(r('usr/bin/sgid'), bytes(2, 1000));
  chmodSync(r('usr/bin/sgid'), 0o2711);
  writeFileSync(r('usr/bin/empty'), '');
  chmodSync(r('usr/bin/empty'), 0o000);
  linkSync(r('usr/bin/tool'), r('usr/bin/tool-hard'));
  linkSync(r('usr/bin/tool'), r('etc/tool-hard2'));
  linkSync(r('etc/hello'), r('etc/hello-hard'));
  symlinkSync('../etc/hello', r('usr/hello-rel'));
  symlinkSync('/etc/hello', r('usr/hello-abs'));
  symlinkSync('does/not/exist', r('usr/dangling'));
  symlinkSync('lib/pkg', r('usr/pkg-dirlink'));
  const longName = `usr/lib/pkg/deep/er/still/deeper/${'a-very-long-file-name-'.repeat(6)}end.txt`;
  writeFileSync(r(longName), 'long\n');
  writeFileSync(r('usr/lib/pkg/ünïcödé ñame.txt'), 'unicode\n');
  writeFileSync(r('srv/app/main.js'), bytes(3, 20_000));
  run('mkfifo', [r('srv/app/fifo')]);
  run('mknod', [r('data/null'), 'c', '1', '3']);
  run('mknod', [r('data/loop9'), 'b', '7', '9']);
  writeFileSync(r('data/xattr-file'), 'x\n');
  run('setfattr', ['-n', 'user.comment', '-v', 'hello xattr', r('data/xattr-file')]);
  run('setfattr', ['-n', 'user.binary', '-v', '0x00ff10', r('data/xattr-file')]);
  run('setfattr', ['-n', 'trusted.overlay-like', '-v', 'y', r('data/xattr-file')]);
  run('setfattr', ['-n', 'user.on-dir', '-v', 'd', r('data/keep')]);
  writeFileSync(r('data/keep/k'), 'keep\n');
  chownSync(r('data/keep/k'), 1000, 1000);
  writeFileSync(r('data/keep/nobody'), 'n\n');
  chownSync(r('data/keep/nobody'), 65534, 65534);
  writeFileSync(r('data/keep/big-id'), 'b\n');
  chownSync(r('data/keep/big-id'), 100_000, 100_001);
  chownSync(r('home/user'), 1000, 1000);
  chmodSync(r('home/user'), 0o700);
  chmodSync(r('tmp'), 0o1777);
  writeFileSync(r('data/gone/del'), 'deleted later\n');
  writeFileSync(r('data/gone/inner/x'), 'x\n');
  writeFileSync(r('empty-me/a'), 'a\n');
  writeFileSync(r('empty-me/sub/b'), 'b\n');
  writeFileSync(r('opq/lower/l'), 'lower\n');
  writeFileSync(r('opq/top-lower'), 'lower\n');
  writeFileSync(r('etc/replaced'), 'old\n');
  // Distinct mtimes everywhere (children before their directories, whose mtime a child changes).
  for (const p of [
    'etc/hello', 'etc/passwd', 'usr/bin/tool', 'usr/bin/sgid', 'usr/bin/empty', 'usr/hello-rel', 'usr/hello-abs', 'usr/dangling', 'usr/pkg-dirlink',
    longName, 'usr/lib/pkg/ünïcödé ñame.txt', 'srv/app/main.js', 'srv/app/fifo', 'data/null', 'data/loop9', 'data/xattr-file',
    'data/keep/k', 'data/keep/nobody', 'data/keep/big-id', 'data/gone/del', 'data/gone/inner/x', 'empty-me/a', 'empty-me/sub/b',
    'opq/lower/l', 'opq/top-lower', 'etc/replaced',
    'usr/lib/pkg/deep/er/still/deeper', 'usr/lib/pkg/deep/er/still', 'usr/lib/pkg/deep/er', 'usr/lib/pkg/deep', 'usr/lib/pkg', 'usr/lib',
    'usr/bin', 'usr', 'etc', 'srv/app', 'srv', 'data/keep', 'data/gone/inner', 'data/gone', 'data', 'empty-me/sub', 'empty-me', 'opq/lower', 'opq',
    'tmp', 'home/user', 'home', '.',
  ]) stamp(p);
  umoci(['repack', '--refresh-bundle', '--image', ref, bundle]);

  // ---- round 2: deletions (umoci writes `.wh.NAME` entries) and changes --------------------
  unlinkSync(r('etc/hello-hard')); // one name of a hardlink group
  rmSync(r('data/gone'), { recursive: true }); // a whole directory
  rmSync(r('empty-me/a'));
  rmSync(r('empty-me/sub'), { recursive: true }); // directory left empty
  unlinkSync(r('etc/replaced'));
  mkdirSync(r('etc/replaced')); // file replaced by a directory
  writeFileSync(r('etc/replaced/now-a-dir'), 'new\n');
  writeFileSync(r('etc/hello'), 'hello again\n'); // changed content
  chmodSync(r('srv/app/main.js'), 0o600); // metadata-only change
  for (const p of ['etc/replaced/now-a-dir', 'etc/replaced', 'etc/hello', 'srv/app/main.js', 'empty-me', 'data', 'etc']) stamp(p);
  umoci(['repack', '--refresh-bundle', '--image', ref, bundle]);

  // ---- round 3: an opaque whiteout, added verbatim (umoci repack never writes one) ----------
  const layer3 = join(work, 'layer3.tar');
  writeFileSync(
    layer3,
    buildTar([
      dir('opq', { mtime: 1_650_000_000 }),
      opaque('opq'),
      file('opq/upper', 'upper\n', { mtime: 1_650_000_001 }),
      dir('usr/bin', { mtime: 1_650_000_002 }),
      file('usr/bin/added', 'added\n', { mode: 0o755, mtime: 1_650_000_003 }),
    ]),
  );
  umoci(['raw', 'add-layer', '--image', ref, layer3]);
  rmSync(bundle, { recursive: true, force: true });
  return { layout, tag, ref, config };
}
