import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { busyboxLayer, type TarEntry } from '@oci2lxc/fixtures';

/** Seeded PRNG (mulberry32), so a failing property test can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters that break naive quoting: whitespace, both quotes, backslash, $, `, globs, ;, |, #, ~,
// newline, tab, non-ASCII.
const NASTY = [' ', '  ', '\t', '"', "'", '\\', '$', '`', '*', '?', '[', ']', '{', '}', ';', '|', '&', '#', '~', '=', '%', '\n', '!', '(', ')', '<', '>', 'é', '€', '-', '--'];
const PLAIN = 'abcxyzABC019_/.:,@+';

export function randomString(r: () => number, opts: { allowNewline?: boolean; maxLen?: number } = {}): string {
  const len = Math.floor(r() * ((opts.maxLen ?? 8) + 1));
  let s = '';
  for (let i = 0; i < len; i++) {
    if (r() < 0.4) {
      const c = NASTY[Math.floor(r() * NASTY.length)]!;
      if (c === '\n' && !opts.allowNewline) continue;
      s += c;
    } else s += PLAIN[Math.floor(r() * PLAIN.length)]!;
  }
  return s;
}

export function randomName(r: () => number): string {
  const first = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcxyz';
  const rest = `${first}0123456789`;
  let s = first[Math.floor(r() * first.length)]!;
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) s += rest[Math.floor(r() * rest.length)]!;
  return s;
}

/** Write tar entries (from @oci2lxc/fixtures) into a directory. Only file/dir/symlink are needed here. */
export function materialize(entries: TarEntry[], root: string): void {
  for (const e of entries) {
    const p = join(root, e.path);
    mkdirSync(dirname(p), { recursive: true });
    if (e.type === 'dir') {
      mkdirSync(p, { recursive: true });
      if (e.mode !== undefined) chmodSync(p, e.mode);
    } else if (e.type === 'symlink') symlinkSync(e.linkname!, p);
    else {
      writeFileSync(p, e.content ?? '');
      chmodSync(p, e.mode ?? 0o644);
    }
  }
}

/** A busybox rootfs directory with a named user `app` (1234:1234, also in group `extra` 2000). */
export function busyboxRootfs(root: string, extraApplets: string[] = []): void {
  materialize(
    busyboxLayer({
      applets: [...new Set(['sh', 'cat', 'echo', 'env', 'id', 'ls', 'pwd', 'printf', 'sleep', 'true', 'mkdir', 'readlink', 'touch', ...extraApplets])],
      passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:App:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
      group: 'root:x:0:\napp:x:1234:\nextra:x:2000:app,other\nstaff:x:50:\nnogroup:x:65534:\n',
    }),
    root,
  );
}
