// Hostile layer contents, run through the real CLI: path traversal, symlink and hardlink escapes,
// whiteout tricks, devices, odd modes, broken layer streams. Every case runs in its own sandbox
// (a "host" tree next to the rootfs) and checks that nothing outside the rootfs changed.
// Cases marked `it.skip` with a FINDING comment document current misbehaviour (see the report).
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MediaTypes,
  blobFilePath,
  encodePax,
  blockDevice,
  buildTar,
  charDevice,
  dir,
  fifo,
  file,
  flipByte,
  hardlink,
  opaque,
  replaceContent,
  symlink,
  tempDir,
  whiteout,
  writeArchive,
  type ArchiveSpec,
  type BuiltArchive,
  type LayerSpec,
  type TarEntry,
  type WriteOptions,
} from '@oci2lxc/fixtures';
import { isRoot, runCli } from './run-cli.js';
import { documentedCodes, hostFacts, snapshot } from './host-snapshot.js';

// ---- sandbox and host-side snapshot ---------------------------------------------------------

const tmp = tempDir('oci2lxc-hostile-layers-');
const sentinels: string[] = [];
afterAll(() => {
  for (const s of sentinels) rmSync(s, { recursive: true, force: true });
  // GNU rm, not rmSync: a failed case may leave a tree deeper than PATH_MAX behind.
  spawnSync('rm', ['-rf', '--one-file-system', tmp.path]);
});

interface Ctx {
  /** The sandbox directory: host/, the archive and the rootfs live here. */
  sandbox: string;
  /** A tree standing for the host: a naive extractor would write here. */
  host: string;
  rootfs: string;
  archive: string;
  /** A unique absolute path outside the sandbox that must never appear. */
  pwned: string;
}

let counter = 0;
function makeCtx(): Ctx {
  const sandbox = join(tmp.path, `case-${++counter}`);
  const host = join(sandbox, 'host');
  mkdirSync(join(host, 'etc'), { recursive: true });
  mkdirSync(join(host, 'sub/deeper'), { recursive: true });
  writeFileSync(join(host, 'passwd'), 'root:x:0:0:host:/root:/bin/sh\n', { mode: 0o644 });
  writeFileSync(join(host, 'secret'), 'host secret\n', { mode: 0o600 });
  writeFileSync(join(host, 'etc/passwd'), 'host etc passwd\n');
  writeFileSync(join(host, 'sub/deeper/file'), 'deep\n');
  symlinkSync('secret', join(host, 'link'));
  chmodSync(join(host, 'sub'), 0o750);
  const pwned = `/tmp/oci2lxc-hostile-${process.pid}-${counter}-pwned`;
  sentinels.push(pwned);
  return { sandbox, host, rootfs: join(sandbox, 'rootfs'), archive: join(sandbox, 'image.tar'), pwned };
}


/** A tar whose entry names have every '~' replaced by the byte 0xff (not valid UTF-8). */
function nonUtf8Tar(entries: TarEntry[]): Buffer {
  const tar = buildTar(entries);
  for (let off = 0; off + 512 <= tar.length; off += 512) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) continue;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (Number.parseInt(h.toString('latin1', 148, 155), 8) !== sum) continue; // not a header
    for (let i = 0; i < 100; i++) if (h[i] === 0x7e) h[i] = 0xff;
    h.fill(0x20, 148, 156);
    let s2 = 0;
    for (const b of h) s2 += b;
    h.write(`${s2.toString(8).padStart(6, '0')}\0`, 148, 'latin1');
  }
  return tar;
}

// ---- cases ----------------------------------------------------------------------------------

const KNOWN_CODES = documentedCodes();

interface Outcome {
  /** Extraction must succeed; check the rootfs. */
  ok?: (rootfs: string, ctx: Ctx) => void;
  /** Extraction must fail with one of these codes. */
  fail?: string[];
  /** Strings the error message must contain (e.g. the layer digest, the entry path). */
  mention?: (built: BuiltArchive, ctx: Ctx) => string[];
}

interface Case extends Outcome {
  name: string;
  layers?: (ctx: Ctx) => (LayerSpec | TarEntry[])[];
  archive?: (ctx: Ctx) => { spec: ArchiveSpec; opts?: WriteOptions };
  /** Either outcome is acceptable (e.g. clamp a `..` name inside the rootfs, or refuse it). */
  either?: boolean;
  /** Pre-create the destination as an empty directory. */
  emptyDest?: boolean;
  /** Needs root (device nodes, ownership). */
  root?: boolean;
  /** Known misbehaviour: the case is skipped and documented. */
  finding?: string;
  extraArgs?: string[];
}

const layerDigest = (i: number) => (b: BuiltArchive) => [b.images[0]!.layers[i]!.digest];
const isFile = (p: string, content?: string): void => {
  expect(lstatSync(p).isFile(), `${p} is a regular file`).toBe(true);
  if (content !== undefined) expect(readFileSync(p, 'utf8')).toBe(content);
};
const absent = (p: string): void => expect(existsSync(p) || lstatSync(p, { throwIfNoEntry: false }) !== undefined, `${p} must not exist`).toBe(false);
/** The rootfs path that an absolute host path becomes under chroot semantics. */
const inside = (rootfs: string, abs: string): string => join(rootfs, abs);

function runCase(c: Case): void {
  const ctx = makeCtx();
  let built: BuiltArchive;
  if (c.archive) {
    const a = c.archive(ctx);
    built = writeArchive(a.spec, ctx.archive, a.opts);
  } else {
    built = writeArchive({ images: [{ layers: c.layers!(ctx) }] }, ctx.archive);
  }
  if (c.emptyDest) mkdirSync(ctx.rootfs, { mode: 0o711 });
  const destBefore = c.emptyDest ? statSync(ctx.rootfs) : undefined;
  const before = snapshot(ctx.sandbox, 'rootfs');
  const facts = hostFacts();

  const r = runCli(['extract', ctx.archive, ctx.rootfs, '--quiet', ...(c.extraArgs ?? [])]);
  if (process.env.OCI2LXC_HOSTILE_DEBUG) process.stdout.write(`[${c.name}] ${r.status} ${r.stderr}\n`);

  // Host side first: nothing outside the rootfs may be created, changed or removed.
  expect(Object.fromEntries(snapshot(ctx.sandbox, 'rootfs'))).toEqual(Object.fromEntries(before));
  expect(hostFacts()).toBe(facts);
  absent(ctx.pwned);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stderr, 'no raw control characters on stderr').not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);

  if (r.status === 0 && (c.ok || c.either)) {
    c.ok?.(ctx.rootfs, ctx);
    return;
  }
  if (c.ok && !c.either) expect(r.status, `expected success, got: ${r.stderr}`).toBe(0);
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, 'one line on stderr').toHaveLength(1);
  const m = /^oci2lxc extract: error ([A-Z_]+): (.*)$/.exec(lines[0]!);
  expect(m, r.stderr).not.toBeNull();
  const code = m![1]!;
  expect(KNOWN_CODES.has(code), `unstable code ${code}: ${r.stderr}`).toBe(true);
  if (c.fail) expect(c.fail, r.stderr).toContain(code);
  for (const s of c.mention?.(built, ctx) ?? []) expect(m![2], r.stderr).toContain(s);
  if (destBefore) {
    expect(readdirSync(ctx.rootfs)).toEqual([]);
    const now = statSync(ctx.rootfs);
    expect(now.mode).toBe(destBefore.mode);
    expect(now.mtimeMs).toBe(destBefore.mtimeMs);
  } else {
    absent(ctx.rootfs);
  }
}

/** OCI2LXC_HOSTILE_FINDINGS=1 runs the documented findings too (they fail until fixed). */
const showFindings = process.env.OCI2LXC_HOSTILE_FINDINGS === '1';

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) {
      if (c.finding && !showFindings) {
        // FINDING: see c.finding
        it.skip(`${c.name} — FINDING: ${c.finding}`, () => runCase(c));
      } else if (c.root && !isRoot) {
        it.skip(`${c.name} (needs root)`, () => runCase(c));
      } else {
        it(c.name, () => runCase(c));
      }
    }
  });
}

// ---- names ----------------------------------------------------------------------------------

table('hostile entry names', [
  {
    name: '../ climbing out of the rootfs is clamped inside or refused',
    layers: () => [[file('../host/passwd', 'pwned'), file('../../escape', 'pwned')]],
    either: true,
    fail: ['UNSAFE_PATH'],
    ok: (r) => {
      isFile(join(r, 'host/passwd'), 'pwned');
      isFile(join(r, 'escape'), 'pwned');
    },
  },
  {
    name: './../../x style names',
    layers: () => [[file('./../../host/secret', 'pwned'), dir('./../x/'), file('x/../../../y', 'y')]],
    either: true,
    fail: ['UNSAFE_PATH'],
    ok: (r) => {
      isFile(join(r, 'host/secret'), 'pwned');
      isFile(join(r, 'y'), 'y');
      expect(lstatSync(join(r, 'x')).isDirectory()).toBe(true);
    },
  },
  {
    name: 'absolute names land inside the rootfs',
    layers: (c) => [[file(c.pwned, 'pwned'), file(join(c.host, 'passwd'), 'pwned'), file('/etc/oci2lxc-abs', 'abs')]],
    either: true,
    fail: ['UNSAFE_PATH'],
    ok: (r, c) => {
      isFile(inside(r, c.pwned), 'pwned');
      isFile(inside(r, join(c.host, 'passwd')), 'pwned');
      isFile(join(r, 'etc/oci2lxc-abs'), 'abs');
    },
  },
  {
    name: 'names with // and trailing slashes',
    layers: () => [[file('a//b///c', 'c'), dir('d//e//'), file('//f', 'f')]],
    ok: (r) => {
      isFile(join(r, 'a/b/c'), 'c');
      expect(lstatSync(join(r, 'd/e')).isDirectory()).toBe(true);
      isFile(join(r, 'f'), 'f');
    },
  },
  {
    name: 'backslashes are ordinary name bytes',
    layers: () => [[file('..\\..\\host\\passwd', 'bs'), file('a\\..\\..\\b', 'bs2')]],
    ok: (r) => {
      isFile(join(r, '..\\..\\host\\passwd'), 'bs');
      isFile(join(r, 'a\\..\\..\\b'), 'bs2');
    },
  },
  {
    name: 'PAX path overriding a benign ustar name with ../../',
    layers: (c) => [[file('benign', 'pwned', { pax: { path: '../../host/passwd' } }), file('benign2', 'pwned', { pax: { path: c.pwned } })]],
    either: true,
    fail: ['UNSAFE_PATH'],
    ok: (r, c) => {
      absent(join(r, 'benign'));
      isFile(join(r, 'host/passwd'), 'pwned');
      isFile(inside(r, c.pwned), 'pwned');
    },
  },
  {
    name: 'PAX path with a NUL byte followed by ../ components',
    layers: () => [[file('benign', 'x', { pax: { path: 'ok\0/../../host/passwd' } })]],
    either: true,
    fail: ['UNSAFE_PATH', 'CORRUPT_LAYER'],
    ok: (r) => isFile(join(r, 'host/passwd'), 'x'),
  },
  {
    name: 'PAX path with a NUL byte inside a component is refused',
    layers: () => [[file('benign', 'x', { pax: { path: 'a\0b' } }), file('c', 'c', { pax: { linkpath: 'x\0y' } })]],
    fail: ['UNSAFE_PATH', 'CORRUPT_LAYER'],
    mention: layerDigest(0),
  },
  {
    name: 'GNU long name (L) traversal',
    layers: () => [[file(`${'../'.repeat(40)}host/${'x'.repeat(60)}`, 'pwned', { longNames: 'gnu' })]],
    either: true,
    fail: ['UNSAFE_PATH'],
    ok: (r) => isFile(join(r, 'host', 'x'.repeat(60)), 'pwned'),
  },
  {
    name: 'PAX long name traversal',
    layers: () => [[file(`${'./'.repeat(30)}${'../'.repeat(40)}host/passwd`, 'pwned')]],
    either: true,
    fail: ['UNSAFE_PATH'],
    ok: (r) => isFile(join(r, 'host/passwd'), 'pwned'),
  },
  {
    name: 'empty name as a file is refused',
    layers: () => [[file('', 'x')]],
    fail: ['UNSAFE_PATH', 'CORRUPT_LAYER'],
  },
  {
    name: '"." and ".." as files are refused',
    layers: () => [[file('..', 'x')]],
    fail: ['UNSAFE_PATH'],
  },
  {
    name: '"." and ".." as directories only touch the rootfs itself',
    layers: () => [[dir('.', { mode: 0o750 }), dir('..', { mode: 0o700 }), dir('../..', { mode: 0o755 }), file('f', 'f')]],
    ok: (r) => {
      isFile(join(r, 'f'), 'f');
      expect(statSync(r).mode & 0o7777).toBe(0o755);
    },
  },
  {
    name: 'global PAX header with path/linkpath does not rename later entries out of the rootfs',
    layers: () => [[{ path: 'pax_global_header', typeflag: 'g', content: encodePax({ path: '../../host/passwd', linkpath: '../../host/secret' }) }, file('benign', 'b'), symlink('sl', 'target')]],
    either: true,
    fail: ['UNSUPPORTED_ENTRY', 'CORRUPT_LAYER'],
    ok: (r) => {
      isFile(join(r, 'benign'), 'b');
      expect(readlinkSync(join(r, 'sl'))).toBe('target');
    },
  },
  {
    name: 'name longer than PATH_MAX (deep nesting) fails cleanly or lands inside',
    layers: () => [[file(`${'d/'.repeat(2100)}f`, 'deep', { longNames: 'pax' })]],
    either: true,
    fail: ['IO_ERROR', 'UNSAFE_PATH', 'CORRUPT_LAYER', 'UNSUPPORTED_ENTRY'],
    ok: (r) => expect(existsSync(join(r, 'd/d/d'))).toBe(true),
  },
  {
    name: 'name component longer than NAME_MAX fails with a typed error naming the entry',
    layers: () => [[file(`x/${'n'.repeat(300)}`, 'long')]],
    fail: ['IO_ERROR', 'UNSAFE_PATH', 'CORRUPT_LAYER', 'UNSUPPORTED_ENTRY'],
    mention: (b) => [...layerDigest(0)(b), 'nnnnnnnn'],
  },
  {
    name: 'non-UTF-8 names are written byte for byte',
    layers: () => [{ entries: [], rawTar: nonUtf8Tar([dir('d~'), file('d~/f~~', 'x'), symlink('l~', 'd~')]) }],
    ok: (r) => {
      const names = readdirSync(Buffer.from(r), { encoding: 'buffer' }).map((b) => b.toString('hex')).sort();
      expect(names).toEqual(['64ff', '6cff']);
      expect(readFileSync(Buffer.from(`${r}/d\xff/f\xff\xff`, 'latin1'), 'utf8')).toBe('x');
    },
  },
]);

// ---- symlinks -------------------------------------------------------------------------------

table('symlink escapes', [
  {
    name: 'a -> <host> then a/passwd is written inside the rootfs',
    layers: (c) => [[symlink('a', c.host), file('a/passwd', 'pwned'), file('a/newfile', 'pwned')]],
    ok: (r, c) => {
      expect(readlinkSync(join(r, 'a'))).toBe(c.host);
      isFile(inside(r, join(c.host, 'passwd')), 'pwned');
      isFile(inside(r, join(c.host, 'newfile')), 'pwned');
    },
  },
  {
    name: 'a -> /etc then a/oci2lxc-x',
    layers: () => [[symlink('a', '/etc'), file('a/oci2lxc-hostile-x', 'pwned')]],
    ok: (r) => isFile(join(r, 'etc/oci2lxc-hostile-x'), 'pwned'),
  },
  {
    name: 'a -> ../../.. then a/host/passwd',
    layers: () => [[symlink('a', '../../..'), file('a/host/passwd', 'pwned'), file('a/host/secret', 'pwned')]],
    ok: (r) => {
      isFile(join(r, 'host/passwd'), 'pwned');
      isFile(join(r, 'host/secret'), 'pwned');
    },
  },
  {
    name: 'chain a -> b, b -> ../.. then a/host/x',
    layers: () => [[symlink('a', 'b'), symlink('b', '../..'), file('a/host/x', 'pwned')]],
    ok: (r) => isFile(join(r, 'host/x'), 'pwned'),
  },
  {
    name: 'nested chain d/l -> ../../../, then d/l/host/passwd',
    layers: () => [[dir('d'), symlink('d/l', '../../../'), file('d/l/host/passwd', 'pwned')]],
    ok: (r) => isFile(join(r, 'host/passwd'), 'pwned'),
  },
  {
    name: 'symlink in layer 1, write through it in layer 2',
    layers: (c) => [[symlink('a', c.host)], [file('a/passwd', 'pwned'), dir('a/sub', { mode: 0o777 }), file('a/sub/deeper/file', 'pwned')]],
    ok: (r, c) => {
      isFile(inside(r, join(c.host, 'passwd')), 'pwned');
      isFile(inside(r, join(c.host, 'sub/deeper/file')), 'pwned');
    },
  },
  {
    name: 'relative symlink in layer 1 (../host), write through it in layer 2',
    layers: () => [[symlink('a', '../host')], [file('a/passwd', 'pwned'), symlink('b', '../../host/sub'), file('b/deeper/file', 'x')]],
    ok: (r) => {
      isFile(join(r, 'host/passwd'), 'pwned');
      isFile(join(r, 'host/sub/deeper/file'), 'x');
    },
  },
  {
    name: 'symlink replaced by a directory in a later layer',
    layers: (c) => [[symlink('a', c.host)], [dir('a', { mode: 0o700 }), file('a/passwd', 'mine')]],
    ok: (r) => {
      expect(lstatSync(join(r, 'a')).isDirectory()).toBe(true);
      isFile(join(r, 'a/passwd'), 'mine');
    },
  },
  {
    name: 'directory replaced by a symlink to the host, then written through, in one layer',
    layers: (c) => [[dir('a'), file('a/x', 'x'), symlink('a', c.host), file('a/passwd', 'pwned')]],
    ok: (r, c) => {
      expect(lstatSync(join(r, 'a')).isSymbolicLink()).toBe(true);
      isFile(inside(r, join(c.host, 'passwd')), 'pwned');
    },
  },
  {
    name: 'directory with restrictive mode replaced by a symlink to the host: deferred chmod must not follow it',
    layers: (c) => [[dir('d', { mode: 0o700, mtime: 1000 }), dir('d/e', { mode: 0o555 })], [whiteout('d'), symlink('d', c.host), symlink('e', join(c.host, 'sub'))]],
    ok: (r) => expect(lstatSync(join(r, 'd')).isSymbolicLink()).toBe(true),
  },
  {
    name: 'directory entry on a symlink to the host (mode 0777) does not chmod the host',
    layers: (c) => [[symlink('d', c.host), dir('d', { mode: 0o777, mtime: 1 }), symlink('s', join(c.host, 'sub')), dir('s/deeper', { mode: 0o777 })]],
    ok: (r) => expect(lstatSync(join(r, 'd')).isDirectory()).toBe(true),
  },
  {
    name: 'dead symlink parent: a -> missing/dir then a/x',
    layers: () => [[symlink('a', 'missing/dir'), file('a/x', 'x')]],
    either: true,
    fail: ['NOT_A_DIRECTORY', 'UNSAFE_PATH'],
    ok: (r) => isFile(join(r, 'missing/dir/x'), 'x'),
  },
  {
    name: 'dead absolute symlink parent to a host path that does not exist',
    layers: (c) => [[symlink('a', c.pwned), file('a/x', 'x')]],
    either: true,
    fail: ['NOT_A_DIRECTORY', 'UNSAFE_PATH'],
    ok: (r, c) => isFile(join(inside(r, c.pwned), 'x'), 'x'),
  },
  {
    name: 'symlink loop a -> a then a/x',
    layers: () => [[symlink('a', 'a'), file('a/x', 'x')]],
    fail: ['UNSAFE_PATH', 'NOT_A_DIRECTORY'],
    mention: (b) => [...layerDigest(0)(b), 'a/x'],
  },
  {
    name: 'symlink loop a -> b -> a then a/x',
    layers: () => [[symlink('a', 'b'), symlink('b', 'a'), file('a/x', 'x')]],
    fail: ['UNSAFE_PATH', 'NOT_A_DIRECTORY'],
    mention: (b) => [...layerDigest(0)(b), 'a/x'],
  },
  {
    name: 'symlink to a host file is replaced, never written through',
    layers: (c) => [[symlink('f', join(c.host, 'passwd')), file('f', 'pwned')], [symlink('g', '../host/secret')], [file('g', 'pwned')]],
    ok: (r) => {
      isFile(join(r, 'f'), 'pwned');
      isFile(join(r, 'g'), 'pwned');
    },
  },
  {
    name: 'file then symlink of the same name, then file through the link (three layers)',
    layers: (c) => [[file('x', 'x')], [symlink('x', join(c.host, 'secret'))], [file('x', 'y', { mode: 0o4755 })]],
    ok: (r) => isFile(join(r, 'x'), 'y'),
  },
  {
    name: 'xattrs on a symlink pointing at the host never reach the host file',
    layers: (c) => [[symlink('s', join(c.host, 'passwd'), { xattrs: { 'user.pwned': '1', 'trusted.pwned': '1' } }), dir('d', { xattrs: { 'user.a': 'b' } }), symlink('d2', c.host)]],
    ok: (r) => expect(lstatSync(join(r, 's')).isSymbolicLink()).toBe(true),
  },
  {
    name: 'xattr on a dir that is then replaced by a symlink to the host in the same layer',
    layers: (c) => [[dir('d', { xattrs: { 'user.pwned': '1' } }), file('d/f', 'f', { xattrs: { 'user.pwned': '2' } }), symlink('d', c.host)]],
    ok: (r) => expect(lstatSync(join(r, 'd')).isSymbolicLink()).toBe(true),
  },
  {
    name: 'node-tar style cache poisoning: ./foo/ dir, foo -> host symlink, foo//bar file',
    layers: (c) => [[dir('./foo/'), file('foo/x', 'x'), symlink('foo', c.host), file('./foo//passwd', 'pwned'), dir('foo/sub/'), file('foo/sub/deeper/file', 'pwned')]],
    ok: (r, c) => {
      expect(lstatSync(join(r, 'foo')).isSymbolicLink()).toBe(true);
      isFile(inside(r, join(c.host, 'passwd')), 'pwned');
    },
  },
  {
    name: 'symlink named "." or ".." pointing at the host is refused',
    layers: (c) => [[symlink('.', c.host), file('passwd', 'pwned')]],
    fail: ['UNSAFE_PATH', 'UNSUPPORTED_ENTRY'],
  },
  {
    name: 'symlink named "sub/.." pointing at the host is refused',
    layers: (c) => [[dir('sub'), symlink('sub/..', c.host), file('passwd', 'pwned')]],
    fail: ['UNSAFE_PATH', 'UNSUPPORTED_ENTRY'],
  },
  {
    name: 'hardlink to a symlink to the host, then write through the hardlink',
    layers: (c) => [[symlink('s', c.host), hardlink('h', 's'), file('h/passwd', 'pwned')], [file('h/secret', 'pwned')]],
    ok: (r, c) => {
      expect(lstatSync(join(r, 'h')).isSymbolicLink()).toBe(true);
      isFile(inside(r, join(c.host, 'passwd')), 'pwned');
      isFile(inside(r, join(c.host, 'secret')), 'pwned');
    },
  },
  {
    name: 'xattr name trying to inject a setfattr "# file:" line',
    layers: (c) => [[file('f', 'f', { xattrs: { [`user.a\n# file: ${join(c.host, 'passwd')}\nuser.pwned`]: '1', 'user.b=x': '2' } })]],
    either: true,
    fail: ['XATTR_FAILED', 'CORRUPT_LAYER'],
    ok: (r) => isFile(join(r, 'f'), 'f'),
  },
  {
    name: 'file name trying to inject a setfattr "# file:" line',
    layers: (c) => [[file(`a\n# file: ${join(c.host, 'passwd')}`, 'f', { xattrs: { 'user.pwned': '1' } }), file(`b\n${'x'.repeat(10)}`, 'g', { xattrs: { 'user.ok': '1' } })]],
    ok: (r, c) => isFile(join(r, `a\n# file: ${join(c.host, 'passwd')}`), 'f'),
  },
  {
    name: 'id-mapped extraction with symlinks to host files changes no host owner',
    root: true,
    extraArgs: ['--idmap', '0:100000:65536'],
    layers: (c) => [[symlink('s', join(c.host, 'passwd'), { uid: 5, gid: 5 }), symlink('d', c.host), dir('d', { uid: 7 }), file('s', 'x', { uid: 9 })]],
    ok: (r) => {
      expect(lstatSync(r).uid).toBe(100000);
      expect(lstatSync(join(r, 's')).uid).toBe(100009);
      expect(lstatSync(join(r, 'd')).uid).toBe(100007);
    },
  },
  {
    name: 'very long symlink chain (beyond MAXSYMLINKS) is refused',
    layers: () => [[...Array.from({ length: 50 }, (_, i) => symlink(`l${i}`, `l${i + 1}`)), dir('l50'), file('l0/x', 'x')]],
    fail: ['UNSAFE_PATH'],
  },
]);

// ---- hardlinks ------------------------------------------------------------------------------

table('hardlink escapes', [
  {
    name: 'hardlink to /etc/passwd (absolute, not in the image)',
    layers: () => [[hardlink('p', '/etc/passwd')]],
    fail: ['HARDLINK_TARGET_MISSING'],
    mention: (b) => [...layerDigest(0)(b), 'p'],
  },
  {
    name: 'hardlink to an absolute host path',
    layers: (c) => [[hardlink('p', join(c.host, 'passwd'))]],
    fail: ['HARDLINK_TARGET_MISSING'],
  },
  {
    name: 'hardlink to ../host/passwd',
    layers: () => [[hardlink('p', '../host/passwd'), hardlink('q', '../../host/secret')]],
    fail: ['HARDLINK_TARGET_MISSING'],
  },
  {
    name: 'hardlink whose PAX linkpath climbs out (ustar linkname benign)',
    layers: () => [[file('benign', 'b'), hardlink('p', 'benign', { pax: { linkpath: '../../host/passwd' } })]],
    fail: ['HARDLINK_TARGET_MISSING'],
  },
  {
    name: 'hardlink with a GNU long linkname that climbs out',
    layers: () => [[hardlink('p', `${'../'.repeat(40)}host/passwd`, { longNames: 'gnu' })]],
    fail: ['HARDLINK_TARGET_MISSING'],
  },
  {
    name: 'hardlink through a symlinked dir pointing at the host',
    layers: (c) => [[symlink('l', c.host), hardlink('p', 'l/passwd')], [hardlink('q', 'l/secret')]],
    fail: ['HARDLINK_TARGET_MISSING'],
  },
  {
    name: 'hardlink through a relative symlinked dir climbing out',
    layers: () => [[symlink('l', '../../host'), hardlink('p', 'l/passwd')]],
    fail: ['HARDLINK_TARGET_MISSING'],
  },
  {
    name: 'hardlink to a symlink pointing outside links the symlink itself',
    layers: (c) => [[symlink('s', join(c.host, 'passwd')), hardlink('h', 's'), symlink('t', '../host/secret')], [hardlink('h2', 't')]],
    ok: (r, c) => {
      expect(lstatSync(join(r, 'h')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(r, 'h'))).toBe(join(c.host, 'passwd'));
      expect(lstatSync(join(r, 'h2')).isSymbolicLink()).toBe(true);
      expect(lstatSync(join(r, 's')).ino).toBe(lstatSync(join(r, 'h')).ino);
    },
  },
  {
    name: 'hardlink to a nonexistent target',
    layers: () => [[file('a', 'a'), hardlink('b', 'nope')]],
    fail: ['HARDLINK_TARGET_MISSING'],
    mention: (b) => [...layerDigest(0)(b), 'nope'],
  },
  {
    name: 'hardlink to a directory',
    layers: () => [[dir('d'), hardlink('h', 'd')]],
    fail: ['UNSUPPORTED_ENTRY'],
    mention: (b) => [...layerDigest(0)(b), 'h'],
  },
  {
    name: 'hardlink to the root directory',
    layers: () => [[hardlink('h', '.')]],
    fail: ['UNSUPPORTED_ENTRY', 'HARDLINK_TARGET_MISSING'],
  },
  {
    name: 'hardlink to itself',
    layers: () => [[file('a', 'a'), hardlink('a', 'a')]],
    ok: (r) => isFile(join(r, 'a'), 'a'),
  },
  {
    name: 'hardlink placed through a symlinked parent lands inside',
    layers: (c) => [[file('t', 'target'), symlink('l', c.host), hardlink('l/evil', 't')]],
    ok: (r, c) => {
      isFile(inside(r, join(c.host, 'evil')), 'target');
      expect(lstatSync(join(r, 't')).nlink).toBe(2);
    },
  },
  {
    name: 'file written over a hardlinked name does not modify the other link',
    layers: () => [[file('t', 'orig'), hardlink('h', 't')], [file('h', 'new')]],
    ok: (r) => {
      isFile(join(r, 't'), 'orig');
      isFile(join(r, 'h'), 'new');
    },
  },
]);

// ---- whiteouts ------------------------------------------------------------------------------

table('whiteout tricks', [
  {
    name: 'whiteout through a symlinked parent (absolute host path)',
    layers: (c) => [[symlink('lnk', c.host)], [whiteout('lnk/passwd'), whiteout('lnk/sub'), whiteout('lnk/link')]],
    ok: (r) => expect(lstatSync(join(r, 'lnk')).isSymbolicLink()).toBe(true),
  },
  {
    name: 'whiteout through a symlinked parent (relative, climbing)',
    layers: () => [[symlink('lnk', '../host'), symlink('up', '../../')], [whiteout('lnk/passwd'), whiteout('up/host'), whiteout('up/up')]],
    ok: (r) => expect(lstatSync(join(r, 'lnk')).isSymbolicLink()).toBe(true),
  },
  {
    name: 'opaque whiteout through a symlinked parent',
    layers: (c) => [[symlink('lnk', c.host), symlink('rel', '../host/sub')], [opaque('lnk'), opaque('rel')]],
    ok: (r) => expect(lstatSync(join(r, 'lnk')).isSymbolicLink()).toBe(true),
  },
  {
    name: 'opaque whiteout through a symlink to / hits only the rootfs',
    layers: () => [[file('keep', 'k'), symlink('root', '/')], [file('new', 'n'), opaque('root')]],
    ok: (r) => {
      isFile(join(r, 'new'), 'n');
      absent(join(r, 'keep'));
    },
  },
  {
    name: 'whiteout names climbing out: ../.wh.host and absolute host path whiteouts',
    layers: (c) => [[file('host', 'inside')], [file('../.wh.host'), whiteout(join(c.host, 'passwd')), whiteout(`../../${c.sandbox.split('/').pop()}/host`)]],
    ok: (r) => absent(join(r, 'host')),
  },
  {
    name: '.wh.., .wh..., .wh. alone are ignored',
    layers: () => [[file('a', 'a'), dir('d'), file('d/x', 'x')], [file('.wh..'), file('.wh...'), file('.wh.'), file('d/.wh..'), file('d/.wh.')]],
    ok: (r) => {
      isFile(join(r, 'a'), 'a');
      isFile(join(r, 'd/x'), 'x');
    },
  },
  {
    name: 'root-level opaque whiteout clears only lower layers',
    layers: () => [[file('old', 'o'), dir('d'), file('d/x', 'x')], [file('new', 'n'), opaque('.')]],
    ok: (r) => {
      expect(readdirSync(r)).toEqual(['new']);
    },
  },
  {
    name: 'whiteout of the rootfs via ./.wh.. and ../.wh.. is ignored',
    layers: () => [[file('a', 'a')], [file('./.wh..'), file('../.wh..'), file('/.wh..')]],
    ok: (r) => isFile(join(r, 'a'), 'a'),
  },
  {
    name: 'whiteout after the file in the same layer keeps the file',
    layers: () => [[file('a', 'lower')], [file('a', 'upper'), whiteout('a')]],
    ok: (r) => isFile(join(r, 'a'), 'upper'),
  },
  {
    name: 'whiteout before the file in the same layer',
    layers: () => [[file('a', 'lower')], [whiteout('a'), file('a', 'upper')]],
    ok: (r) => isFile(join(r, 'a'), 'upper'),
  },
  {
    name: 'whiteout of a lower dir with a mode 0000 subtree',
    layers: () => [[dir('d', { mode: 0 }), dir('d/e', { mode: 0 }), file('d/e/f', 'f', { mode: 0 })], [whiteout('d')]],
    ok: (r) => absent(join(r, 'd')),
  },
  {
    name: 'a whiteout name used as a directory is refused',
    layers: () => [[file('.wh.x/y', 'y')]],
    fail: ['UNSUPPORTED_ENTRY'],
  },
  {
    name: 'whiteout with data and whiteout as symlink/dir types',
    layers: () => [[file('a', 'a'), file('b', 'b'), file('c', 'c')], [file('.wh.a', 'data!'), symlink('.wh.b', '/etc/passwd'), dir('.wh.c')]],
    ok: (r) => {
      expect(readdirSync(r)).toEqual([]);
    },
  },
]);

// ---- special files and modes ----------------------------------------------------------------

table('devices, setuid and modes', [
  {
    name: 'char, block devices and fifos are created inside only',
    root: true,
    layers: (c) => [[dir('dev'), charDevice('dev/null', 1, 3), blockDevice('dev/loop0', 7, 0), fifo('dev/fifo'), symlink('lnk', c.host), fifo('lnk/fifo'), charDevice('lnk/null', 1, 3), charDevice('../host/zero', 1, 5)]],
    ok: (r, c) => {
      expect(lstatSync(join(r, 'dev/null')).isCharacterDevice()).toBe(true);
      expect(lstatSync(join(r, 'dev/loop0')).isBlockDevice()).toBe(true);
      expect(lstatSync(join(r, 'dev/fifo')).isFIFO()).toBe(true);
      expect(lstatSync(inside(r, join(c.host, 'fifo'))).isFIFO()).toBe(true);
      expect(lstatSync(join(r, 'host/zero')).isCharacterDevice()).toBe(true);
    },
  },
  {
    name: 'device node over a symlink to a host file replaces the symlink',
    root: true,
    layers: (c) => [[symlink('n', join(c.host, 'passwd'))], [charDevice('n', 1, 3), fifo('m')], [symlink('m', join(c.host, 'secret'))]],
    ok: (r) => {
      expect(lstatSync(join(r, 'n')).isCharacterDevice()).toBe(true);
      expect(lstatSync(join(r, 'm')).isSymbolicLink()).toBe(true);
    },
  },
  {
    name: 'device name with shell metacharacters',
    root: true,
    layers: (c) => [[fifo(`a'; touch ${c.pwned}; echo '`), fifo('$(touch /tmp/oci2lxc-x)'), fifo('b\nc')]],
    ok: (r, c) => {
      expect(lstatSync(join(r, `a'; touch ${c.pwned}; echo '`)).isFIFO()).toBe(true);
      absent('/tmp/oci2lxc-x');
    },
  },
  {
    name: 'setuid/setgid/sticky modes are kept',
    root: true,
    layers: () => [[file('suid', '#!', { mode: 0o4755 }), file('sgid', '#!', { mode: 0o2755, uid: 1000, gid: 1000 }), dir('tmp', { mode: 0o1777 })]],
    ok: (r) => {
      expect(lstatSync(join(r, 'suid')).mode & 0o7777).toBe(0o4755);
      expect(lstatSync(join(r, 'sgid')).mode & 0o7777).toBe(0o2755);
      expect(lstatSync(join(r, 'sgid')).uid).toBe(1000);
      expect(lstatSync(join(r, 'tmp')).mode & 0o7777).toBe(0o1777);
    },
  },
  {
    name: 'mode 0000 directory, then files inside it in a later layer',
    layers: () => [[dir('locked', { mode: 0 }), file('locked/a', 'a', { mode: 0 })], [file('locked/b', 'b'), dir('locked/sub', { mode: 0 }), file('locked/sub/c', 'c')]],
    ok: (r) => {
      expect(lstatSync(join(r, 'locked')).mode & 0o7777).toBe(0);
      expect(lstatSync(join(r, 'locked/b')).isFile()).toBe(true);
      expect(lstatSync(join(r, 'locked/sub/c')).isFile()).toBe(true);
    },
  },
  {
    name: 'duplicate entries: file, then dir, then file for the same path',
    layers: () => [[file('x', '1'), dir('x'), file('x/inner', 'i'), file('x', '3'), symlink('y', 'x'), dir('y'), file('y/z', 'z')]],
    ok: (r) => {
      isFile(join(r, 'x'), '3');
      isFile(join(r, 'y/z'), 'z');
    },
  },
  {
    name: 'file whose parent is a lower-layer file',
    layers: () => [[file('f', 'f')], [file('f/g', 'g')]],
    either: true,
    fail: ['NOT_A_DIRECTORY'],
    ok: (r) => isFile(join(r, 'f/g'), 'g'),
  },
  {
    name: 'id map: uid outside the map is refused',
    layers: () => [[file('a', 'a', { uid: 70000 })]],
    extraArgs: ['--idmap', '0:100000:65536'],
    fail: ['ID_NOT_MAPPED'],
    mention: () => ['70000'],
  },
  {
    name: 'huge uid/gid (PAX) are refused',
    layers: () => [[file('a', 'a', { pax: { uid: '99999999999999999999' } })], [file('b', 'b', { pax: { gid: '-1' } })]],
    fail: ['CORRUPT_LAYER', 'ID_NOT_MAPPED'],
  },
  {
    name: 'unsupported typeflags (GNU sparse S, multi-volume M, V label) are refused',
    layers: () => [[{ path: 'sparse', typeflag: 'S', content: 'x' }]],
    fail: ['UNSUPPORTED_ENTRY', 'CORRUPT_LAYER'],
  },
]);

// ---- broken layer streams -------------------------------------------------------------------

const firstLayerBlob = (b: BuiltArchive): string => blobFilePath(b.images[0]!.layers[0]!.digest);

table('broken and lying layers', [
  {
    name: 'header size field far larger than the data (1 TB) fails, does not hang',
    layers: () => [{ entries: [file('big', 'short', { sizeOverride: 1e12 })], compression: 'none' }],
    fail: ['CORRUPT_LAYER', 'DIGEST_MISMATCH'],
    mention: layerDigest(0),
  },
  {
    name: 'header size field in base-256 (2^62) fails, does not hang',
    layers: () => [{ entries: [file('big', 'short', { sizeOverride: 2 ** 62 })], compression: 'gzip' }],
    fail: ['CORRUPT_LAYER', 'DIGEST_MISMATCH'],
    mention: layerDigest(0),
  },
  {
    name: 'PAX size record larger than the data',
    layers: () => [{ entries: [file('big', 'short', { pax: { size: '99999999999' } })], compression: 'none' }],
    fail: ['CORRUPT_LAYER', 'DIGEST_MISMATCH'],
  },
  {
    name: 'tar without end-of-archive marker and cut mid-entry',
    layers: () => [{ entries: [], rawTar: buildTar([file('a', 'a'.repeat(3000))]).subarray(0, 1024) }],
    fail: ['CORRUPT_LAYER'],
    mention: layerDigest(0),
  },
  {
    name: 'truncated layer blob (gzip, size from the descriptor)',
    archive: () => ({
      spec: { images: [{ layers: [[file('a', randomBytes(100_000))]] }] },
      opts: { mutate: (files, b) => replaceContent(files, firstLayerBlob(b), b.images[0]!.layers[0]!.blob.subarray(0, 20_000)) },
    }),
    fail: ['SIZE_MISMATCH', 'TRUNCATED_ARCHIVE', 'CORRUPT_LAYER'],
    mention: layerDigest(0),
  },
  {
    name: 'truncated uncompressed layer in a Docker archive (no descriptor digest)',
    archive: () => ({
      spec: { format: 'docker', images: [{ layers: [[file('a', 'x'.repeat(10_000))], [file('b', 'b')]] }] },
      opts: {
        mutate: (files, b) => {
          const l = files.find((f) => f.type === 'file' && f.data && b.images[0]!.layers[0]!.blob.equals(f.data))!;
          l.data = l.data!.subarray(0, 2048);
        },
      },
    }),
    fail: ['DIGEST_MISMATCH', 'CORRUPT_LAYER', 'SIZE_MISMATCH'],
  },
  {
    name: 'zero-length layer',
    layers: () => [{ entries: [], rawTar: Buffer.alloc(0), compression: 'none' }],
    either: true,
    fail: ['CORRUPT_LAYER'],
    ok: (r) => expect(readdirSync(r)).toEqual([]),
  },
  {
    name: 'zero-length layer declared gzip',
    archive: () => ({
      spec: { images: [{ layers: [{ entries: [], rawTar: Buffer.alloc(0), compression: 'none', mediaType: MediaTypes.ociLayerGzip }] }] },
    }),
    fail: ['CORRUPT_LAYER'],
  },
  {
    name: 'layer that is not a tar at all (correct digests)',
    layers: () => [[file('ok', 'ok')], { entries: [], rawTar: randomBytes(4096), compression: 'none' }],
    fail: ['CORRUPT_LAYER'],
    mention: layerDigest(1),
  },
  {
    name: 'layer of all zero bytes except a bad header',
    layers: () => [{ entries: [], rawTar: Buffer.concat([Buffer.from('garbage header'), Buffer.alloc(2000)]), compression: 'gzip' }],
    fail: ['CORRUPT_LAYER'],
    mention: layerDigest(0),
  },
  {
    name: 'media type gzip, content plain tar',
    layers: () => [{ entries: [file('a', 'a')], compression: 'none', mediaType: MediaTypes.ociLayerGzip }],
    fail: ['CORRUPT_LAYER'],
    mention: layerDigest(0),
  },
  {
    name: 'media type gzip, content zstd',
    layers: () => [{ entries: [file('a', 'a')], compression: 'zstd', mediaType: MediaTypes.ociLayerGzip }],
    fail: ['CORRUPT_LAYER'],
    mention: layerDigest(0),
  },
  {
    name: 'media type zstd, content gzip',
    layers: () => [{ entries: [file('a', 'a')], compression: 'gzip', mediaType: MediaTypes.ociLayerZstd }],
    fail: ['CORRUPT_LAYER'],
    mention: layerDigest(0),
  },
  {
    name: 'media type plain tar, content gzip',
    layers: () => [{ entries: [file('a', 'a')], compression: 'gzip', mediaType: MediaTypes.ociLayer }],
    fail: ['CORRUPT_LAYER'],
    mention: layerDigest(0),
  },
  {
    name: 'diff_id mismatch (written content is removed again)',
    archive: () => ({
      spec: { images: [{ layers: [[file('a', 'a')], [file('b', 'b')]], extraConfig: { rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`, `sha256:${'1'.repeat(64)}`] } } }] },
    }),
    fail: ['DIFF_ID_MISMATCH'],
    mention: layerDigest(0),
  },
  {
    name: 'compressed digest mismatch (byte flipped inside a file body of an uncompressed layer)',
    archive: () => ({
      spec: { images: [{ layers: [{ entries: [file('a', 'x'.repeat(5000))], compression: 'none' }] }] },
      opts: { mutate: (files, b) => flipByte(files, firstLayerBlob(b), 1000) },
    }),
    fail: ['DIGEST_MISMATCH'],
    mention: layerDigest(0),
  },
  {
    // The reader is mid-file when the source fails verification: the source's verdict must win.
    name: 'compressed digest mismatch (byte flipped inside a 1.5 MiB file of an uncompressed layer)',
    archive: () => ({
      spec: { images: [{ layers: [{ entries: [file('big', randomBytes(1536 * 1024))], compression: 'none' }] }] },
      opts: { mutate: (files, b) => flipByte(files, firstLayerBlob(b), 1024 * 1024) },
    }),
    fail: ['DIGEST_MISMATCH'],
    mention: layerDigest(0),
  },
  {
    name: 'compressed digest mismatch (gzip stream byte flipped)',
    archive: () => ({
      spec: { images: [{ layers: [[file('a', 'x'.repeat(5000))], [file('b', randomBytes(5000))]] }] },
      opts: { mutate: (files, b) => flipByte(files, blobFilePath(b.images[0]!.layers[1]!.digest), 100) },
    }),
    fail: ['DIGEST_MISMATCH', 'CORRUPT_LAYER'],
    mention: layerDigest(1),
  },
  {
    name: 'config lists more diff_ids than the manifest has layers',
    archive: () => ({
      spec: { images: [{ layers: [[file('a', 'a')]], extraConfig: { rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`, `sha256:${'1'.repeat(64)}`] } } }] },
    }),
    fail: ['INVALID_MANIFEST', 'CORRUPT_LAYER'],
  },
  {
    name: 'failure in a later layer removes non-UTF-8 names written by an earlier one',
    archive: () => ({
      spec: {
        images: [
          {
            layers: [
              { entries: [], rawTar: nonUtf8Tar([dir('caf~-dir'), file('caf~-dir/~~', 'x'), file('~', 'y'), dir('~d', { mode: 0 })]), compression: 'none' },
              [file('b', 'b'.repeat(5000))],
            ],
          },
        ],
      },
      opts: { mutate: (files, b) => flipByte(files, blobFilePath(b.images[0]!.layers[1]!.digest), 60) },
    }),
    fail: ['DIGEST_MISMATCH', 'CORRUPT_LAYER'],
  },
  {
    name: 'failure in a later layer, existing empty destination: emptied and restored',
    emptyDest: true,
    archive: () => ({
      spec: { images: [{ layers: [[dir('d', { mode: 0 }), file('d/f', 'f'), symlink('h', '/')], { entries: [], rawTar: nonUtf8Tar([file('~~', 'z'), dir('~x'), file('~x/~', 'y')]) }, [file('b', 'b'.repeat(5000))]] }] },
      opts: { mutate: (files, b) => flipByte(files, blobFilePath(b.images[0]!.layers[2]!.digest), 60) },
    }),
    fail: ['DIGEST_MISMATCH', 'CORRUPT_LAYER'],
  },
  {
    name: 'failure after a symlink to the host was created: cleanup does not follow it',
    archive: (c) => ({
      spec: { images: [{ layers: [[symlink('lnk', c.host), symlink('rel', '../host'), dir('d'), symlink('d/up', '../../host/sub')], [hardlink('x', 'missing')]] }] },
    }),
    fail: ['HARDLINK_TARGET_MISSING'],
    mention: layerDigest(1),
  },
]);
