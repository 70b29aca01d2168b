// Hostile inputs to `config --rootfs` and `create`: a rootfs whose /etc and wrapper directory are
// symlinks to the host, container names that are paths, an existing container directory that is
// a symlink to the host, and a create that fails halfway. Host side checked by a sandbox snapshot.
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobFilePath, dir, file, flipByte, symlink, tempDir, writeArchive, type ArchiveSpec, type WriteOptions } from '@oci2lxc/fixtures';
import { isRoot, runCli } from './run-cli.js';

const tmp = tempDir('oci2lxc-hostile-cli-');
afterAll(() => void spawnSync('rm', ['-rf', '--one-file-system', tmp.path]));

const hasLxc = spawnSync('lxc-create', ['--version']).status === 0;

interface Ctx {
  sandbox: string;
  host: string;
  archive: string;
}

let counter = 0;
function makeCtx(spec: ArchiveSpec, opts?: WriteOptions): Ctx {
  const sandbox = join(tmp.path, `case-${++counter}`);
  const host = join(sandbox, 'host');
  mkdirSync(join(host, 'etc'), { recursive: true });
  mkdirSync(join(host, 'wrapdir'), { recursive: true });
  writeFileSync(join(host, 'passwd'), 'root:x:0:0::/:/bin/sh\nhostuser:x:4242:4243::/:/bin/sh\n');
  writeFileSync(join(host, 'group'), 'root:x:0:\nhostgroup:x:4243:\n');
  writeFileSync(join(host, 'etc/passwd'), 'hostuser:x:4242:4243::/:/bin/sh\n');
  writeFileSync(join(host, 'init'), '#!/bin/sh\necho host file\n', { mode: 0o755 });
  const archive = join(sandbox, 'image.tar');
  writeArchive(spec, archive, opts);
  return { sandbox, host, archive };
}

function snapshot(root: string, skip: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const abs = rel === '' ? root : join(root, rel);
    const st = lstatSync(abs);
    let desc = `${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    if (rel !== '') desc += ` nlink=${st.nlink} mtime=${st.mtimeMs}`;
    if (st.isFile()) desc += ` sha=${createHash('sha256').update(readFileSync(abs)).digest('hex')}`;
    else if (st.isSymbolicLink()) desc += ` -> ${readlinkSync(abs)}`;
    out[rel] = desc;
    if (st.isDirectory()) for (const n of readdirSync(abs).sort()) if (!skip.has(rel === '' ? n : `${rel}/${n}`)) walk(rel === '' ? n : `${rel}/${n}`);
  };
  walk('');
  return out;
}

const knownCodes = (): Set<string> => {
  const out = new Set<string>();
  const src = (rel: string): string => readFileSync(new URL(rel, import.meta.url), 'utf8');
  for (const f of ['../../oci-tar-image/src/errors.ts', '../../oci-extract/src/errors.ts', '../../lxc-config/src/errors.ts', '../../lxc-container/src/errors.ts']) {
    for (const m of src(f).matchAll(/\|\s*'([A-Z_]+)'/g)) out.add(m[1]!);
  }
  for (const f of readdirSync(new URL('../src/', import.meta.url), { recursive: true, encoding: 'utf8' })) {
    if (f.endsWith('.ts')) for (const m of src(`../src/${f}`).matchAll(/new CliError\(\s*'([A-Z_]+)'/g)) out.add(m[1]!);
  }
  return out;
};
const KNOWN = knownCodes();

function expectFailure(r: { status: number | null; stderr: string }, cmd: string, codes: string[]): void {
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('layer ') && !l.startsWith('warning: '));
  expect(lines, r.stderr).toHaveLength(1);
  const m = new RegExp(`^oci2lxc ${cmd}: error ([A-Z_]+): `).exec(lines[0]!);
  expect(m, r.stderr).not.toBeNull();
  expect(KNOWN.has(m![1]!), r.stderr).toBe(true);
  expect(codes, r.stderr).toContain(m![1]!);
}

describe('config --rootfs on a hostile rootfs', () => {
  const spec = (extra: Partial<ArchiveSpec['images'][number]> = {}): ArchiveSpec => ({
    images: [{ layers: [[file('bin/app', 'x', { mode: 0o755 })]], config: { Cmd: ['/bin/app'], User: 'hostuser', Env: ['A=1'] }, ...extra }],
  });

  it.each([
    ['etc -> <host> (absolute)', (c: Ctx, r: string) => symlinkSync(c.host, join(r, 'etc'))],
    ['etc -> ../../../host (climbing)', (_c: Ctx, r: string) => symlinkSync('../../../host', join(r, 'etc'))],
    ['etc/passwd -> <host>/passwd', (c: Ctx, r: string) => (mkdirSync(join(r, 'etc')), symlinkSync(join(c.host, 'passwd'), join(r, 'etc/passwd')))],
  ])('user names are never resolved from host files: %s', (_name, setup) => {
    const c = makeCtx(spec());
    const rootfs = join(c.sandbox, 'rootfs');
    mkdirSync(rootfs);
    setup(c, rootfs);
    const before = snapshot(c.sandbox, new Set());
    const r = runCli(['config', c.archive, '--rootfs', rootfs, '--json']);
    expect(snapshot(c.sandbox, new Set())).toEqual(before);
    expect(r.stdout).not.toMatch(/4242/);
    if (r.status === 0) expect(r.stdout).not.toMatch(/4243/);
    else expectFailure(r, 'config', ['UNKNOWN_USER', 'UNSAFE_PATH']);
  });

  it.each([
    ['.oci2lxc -> <host>/wrapdir', (c: Ctx, r: string) => symlinkSync(join(c.host, 'wrapdir'), join(r, '.oci2lxc'))],
    ['.oci2lxc/init -> <host>/init', (c: Ctx, r: string) => (mkdirSync(join(r, '.oci2lxc')), symlinkSync(join(c.host, 'init'), join(r, '.oci2lxc/init')))],
    ['.oci2lxc -> ../host/wrapdir', (_c: Ctx, r: string) => symlinkSync('../host/wrapdir', join(r, '.oci2lxc'))],
  ])('the start wrapper is never written through a symlink to the host: %s', (_name, setup) => {
    // Env with a newline cannot be a config line: the wrapper is needed.
    const c = makeCtx(spec({ config: { Cmd: ['/bin/app'], Env: ['A=line1\nline2'] } }));
    const rootfs = join(c.sandbox, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    writeFileSync(join(rootfs, 'bin/sh'), '#!shell\n', { mode: 0o755 });
    setup(c, rootfs);
    const before = snapshot(c.sandbox, new Set(['rootfs']));
    const r = runCli(['config', c.archive, '--rootfs', rootfs, '--lxc-version', '4.0']);
    expect(snapshot(c.sandbox, new Set(['rootfs']))).toEqual(before);
    if (r.status === 0) {
      expect(r.stdout).toMatch(/lxc\.init\.cmd/);
      // The wrapper landed inside the rootfs, as a regular file.
      const found = spawnSync('find', [rootfs, '-type', 'f', '-newer', join(rootfs, 'bin/sh')], { encoding: 'utf8' }).stdout.trim();
      expect(found, r.stdout).not.toBe('');
    } else expectFailure(r, 'config', ['UNSAFE_PATH', 'INVALID_ARGUMENT']);
  });
});

describe.skipIf(!isRoot || !hasLxc)('create with hostile names, paths and archives', () => {
  const okSpec: ArchiveSpec = { images: [{ layers: [[dir('bin'), file('bin/app', 'x', { mode: 0o755 })]], config: { Cmd: ['/bin/app'] } }] };

  it.each(['../escape', '..', 'a/../../escape', '-rf', 'x\ny', ''])('refuses the container name %j and creates nothing', (name) => {
    const c = makeCtx(okSpec);
    const lxcpath = join(c.sandbox, 'lxc');
    mkdirSync(lxcpath);
    const before = snapshot(c.sandbox, new Set());
    const r = runCli(['create', name, c.archive, '--lxcpath', lxcpath, '--network', 'none', '-q']);
    expect([1, 2], r.stderr).toContain(r.status);
    expect(snapshot(c.sandbox, new Set())).toEqual(before);
    expect(existsSync(join(c.sandbox, 'escape'))).toBe(false);
  });

  it('an existing container dir that is a symlink to the host: refused without --force, host untouched with --force', () => {
    const c = makeCtx(okSpec);
    const lxcpath = join(c.sandbox, 'lxc');
    mkdirSync(lxcpath);
    symlinkSync('../host', join(lxcpath, 'web'));
    const hostBefore = snapshot(c.host, new Set());
    const r1 = runCli(['create', 'web', c.archive, '--lxcpath', lxcpath, '--network', 'none', '-q']);
    expectFailure(r1, 'create', ['CONTAINER_EXISTS']);
    const r2 = runCli(['create', 'web', c.archive, '--lxcpath', lxcpath, '--network', 'none', '-q', '--force']);
    expect(snapshot(c.host, new Set())).toEqual(hostBefore);
    if (r2.status === 0) {
      expect(lstatSync(join(lxcpath, 'web')).isDirectory()).toBe(true);
      expect(readFileSync(join(lxcpath, 'web/rootfs/bin/app'), 'utf8')).toBe('x');
    }
  });

  it('a create that fails in a later layer leaves nothing behind and touches no host file', () => {
    const c = makeCtx(
      { images: [{ layers: [[symlink('e', '/etc'), file('e/oci2lxc-hostile', 'x'), symlink('h', '../../../host')], [file('h/passwd', 'pwned')], [file('b', 'b'.repeat(5000))]], config: { Cmd: ['/b'] } }] },
      { mutate: (files, b) => flipByte(files, blobFilePath(b.images[0]!.layers[2]!.digest), 60) },
    );
    const lxcpath = join(c.sandbox, 'lxc');
    mkdirSync(lxcpath);
    // lxc/ itself changes (a staging directory comes and goes); its contents are checked below.
    const before = snapshot(c.sandbox, new Set(['lxc']));
    const r = runCli(['create', 'app', c.archive, '--lxcpath', lxcpath, '--network', 'none', '-q']);
    expectFailure(r, 'create', ['DIGEST_MISMATCH', 'CORRUPT_LAYER']);
    expect(snapshot(c.sandbox, new Set(['lxc']))).toEqual(before);
    expect(readdirSync(lxcpath)).toEqual([]);
    expect(existsSync('/etc/oci2lxc-hostile')).toBe(false);
  });
});
