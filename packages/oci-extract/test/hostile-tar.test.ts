// Issue #16: layers crafted against the tar reader itself (PAX globals, PAX lengths, chars whose
// low byte is `.` or `/`, shell quotes in node names, header-only types with sizes, bodies never
// read, ENOSPC). Every case checks the host side: a sandbox around the rootfs is unchanged.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { END_OF_ARCHIVE, paxEntry, paxRecord, rawEntry, rawHeader, tempDir } from '@oci2lxc/fixtures';
import { applyLayer, extractImage, ExtractError, parseIdMap } from '../src/index.js';
import { isRoot, layerStream, memoryImage, snapshot } from './helpers.js';

let work: { path: string; cleanup: () => void };
let rootfs: string;
let hostBefore: Map<string, unknown>;

/** Everything in the sandbox but the rootfs. */
function hostSide(): Map<string, unknown> {
  const all = snapshot(work.path);
  for (const k of [...all.keys()]) if (k === 'rootfs' || k.startsWith('rootfs/')) all.delete(k);
  // The sandbox's own mtime changes when the rootfs is created and removed; nothing else may.
  all.set('.', { ...all.get('.')!, mtimeMs: 0 });
  return all;
}

beforeEach(() => {
  work = tempDir('oci-extract-hostile-');
  rootfs = join(work.path, 'rootfs');
  mkdirSync(join(work.path, 'host', 'dir'), { recursive: true });
  writeFileSync(join(work.path, 'host', 'secret'), 'do not touch\n', { mode: 0o600 });
  writeFileSync(join(work.path, 'host', 'dir', 'file'), 'keep me\n');
  symlinkSync('secret', join(work.path, 'host', 'link'));
  hostBefore = hostSide();
});
afterEach(() => {
  expect(hostSide()).toEqual(hostBefore);
  work.cleanup();
});

const DOT = '\u012e'; // low byte 0x2E '.'
const SLASH = '\u012f'; // low byte 0x2F '/'
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
/** `../host/PWNED` if only the low bytes were kept. */
const ESC = `${DOT}${DOT}${SLASH}host${SLASH}PWNED`;

function tar(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, END_OF_ARCHIVE]);
}

async function extractRaw(...layers: Buffer[]): Promise<unknown> {
  const { image } = memoryImage({ layers: layers.map((rawTar) => ({ entries: [], rawTar, compression: 'none' as const })) });
  return extractImage(image, rootfs).catch((e: unknown) => e);
}

function code(err: unknown): string | undefined {
  return err instanceof ExtractError ? err.code : undefined;
}

describe('PAX', () => {
  it('ignores a global header: its path renames nothing (the issue repro)', async () => {
    const layer = tar(paxEntry(paxRecord('path', utf8(`${DOT}${DOT}${SLASH}`.repeat(8) + ESC)), 'g'), paxEntry(paxRecord('mtime', '1')), rawEntry({ name: 'benign' }, utf8('owned\n')));
    const res = await extractRaw(layer);
    expect(res).not.toBeInstanceOf(Error);
    expect(readFileSync(join(rootfs, 'benign'), 'utf8')).toBe('owned\n');
    expect(lstatSync(join(rootfs, 'benign')).mtimeMs).toBe(1000);
    expect(readdirSync(rootfs)).toEqual(['benign']);
  });

  it('ignores global linkpath, uid and mode-like records too', async () => {
    const g = paxEntry(Buffer.concat([paxRecord('linkpath', '../host/secret'), paxRecord('uid', '4242'), paxRecord('path', 'x')]), 'g');
    const layer = tar(g, rawEntry({ name: 'l', typeflag: '1', linkname: 'f' }), rawEntry({ name: 'f' }, utf8('f')));
    const err = await extractRaw(layer);
    expect(code(err)).toBe('HARDLINK_TARGET_MISSING'); // 'f' does not exist yet: the global linkpath was not used
    expect(existsSync(rootfs)).toBe(false);
  });

  it('refuses a record whose length runs past the data (second route of the repro)', async () => {
    const r = paxRecord('path', utf8(ESC));
    const n = Number(r.toString('latin1').split(' ')[0]);
    const bad = Buffer.concat([Buffer.from(String(n + 2)), r.subarray(String(n).length, r.length - 1)]);
    const err = await extractRaw(tar(paxEntry(bad), rawEntry({ name: 'benign' }, utf8('x'))));
    expect(code(err)).toBe('CORRUPT_LAYER');
    expect((err as Error).message).toMatch(/PAX/);
    expect(existsSync(rootfs)).toBe(false);
  });

  it.each([
    ['a non-decimal length', Buffer.from('0x10 path=x\n')],
    ['a length one short', Buffer.from('10 path=ab\n')],
    ['a record without =', Buffer.from('9 pathxy\n')],
    ['trailing NUL padding', Buffer.concat([paxRecord('path', 'x'), Buffer.alloc(3)])],
    ['a NUL in path', paxRecord('path', Buffer.from('a\0b'))],
    ['uid=0x10', paxRecord('uid', '0x10')],
    ['gid=12abc', paxRecord('gid', '12abc')],
    ['mtime=1e3', paxRecord('mtime', '1e3')],
    ['size=+-1', paxRecord('size', '+-1')],
  ])('refuses %s with CORRUPT_LAYER naming the entry', async (_name, records) => {
    mkdirSync(rootfs);
    const err = await applyLayer(layerStream(tar(paxEntry(records), rawEntry({ name: 'victim' }, utf8('x')))), rootfs).catch((e: unknown) => e);
    expect(code(err)).toBe('CORRUPT_LAYER');
  });

  it('keeps xattr values as raw bytes and drops empty ones (as Go)', async () => {
    // No setfattr needed to check this: a user.* attribute on a file we own.
    const value = Buffer.from([0x01, 0x00, 0xff, 0xc4, 0xae]);
    mkdirSync(rootfs);
    await applyLayer(layerStream(tar(paxEntry(Buffer.concat([paxRecord('SCHILY.xattr.user.bin', value), paxRecord('SCHILY.xattr.user.empty', '')])), rawEntry({ name: 'f' }, utf8('x')))), rootfs);
    const out = execFileSync('getfattr', ['-d', '-e', 'hex', '-m', '-', join(rootfs, 'f')], { encoding: 'utf8' });
    expect(out).toContain(`user.bin=0x${value.toString('hex')}`);
    expect(out).not.toContain('user.empty');
  });
});

describe('names are bytes from the header to the syscall', () => {
  it.each([
    ['ustar name', (n: Buffer) => rawEntry({ name: n }, utf8('x'))],
    ['PAX path', (n: Buffer) => Buffer.concat([paxEntry(paxRecord('path', n)), rawEntry({ name: 'harmless' }, utf8('x'))])],
    ['GNU long name', (n: Buffer) => Buffer.concat([rawEntry({ name: '././@LongLink', typeflag: 'L', magic: 'gnu' }, Buffer.concat([n, Buffer.alloc(1)])), rawEntry({ name: 'harmless', magic: 'gnu' }, utf8('x'))])],
  ])('U+012E/U+012F in a %s stay one literal name inside the rootfs', async (_how, make) => {
    const name = utf8(ESC);
    const err = await extractRaw(tar(make(name)));
    expect(err).not.toBeInstanceOf(Error);
    expect(readdirSync(Buffer.from(rootfs), { encoding: 'buffer' })).toEqual([name]);
  });

  it('plants every char U+0100–U+FFFF whose low byte is . / \' \\ or NUL in names (files, directories), link targets, whiteouts, FIFOs and devices', async () => {
    const chars: string[] = [];
    for (let c = 0x100; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue; // not encodable alone
      if ([0x2e, 0x2f, 0x27, 0x5c, 0x00].includes(c & 0xff)) chars.push(String.fromCharCode(c));
    }
    expect(chars.length).toBeGreaterThan(1200);
    // One mknod process per node: FIFOs for every char, device nodes (root) for the quote-like ones.
    const device = (c: string): boolean => isRoot && [0x27, 0x5c, 0x00].includes(c.charCodeAt(0) & 0xff);
    const layer1: Buffer[] = [];
    const layer2: Buffer[] = [];
    const expected = new Map<string, Buffer[]>();
    chars.forEach((c, i) => {
      const low = c.charCodeAt(0) & 0xff;
      const d = low === 0x2e ? c : DOT;
      const s = low === 0x2f ? c : SLASH;
      const up = `${d}${d}${s}${d}${d}${s}host`; // ../../host from t<i>/ with low bytes only
      const esc = `${up}${s}pwn${low === 0x2e || low === 0x2f ? '' : `${c}'x`}`;
      const t = `t${i}`;
      layer1.push(
        rawEntry({ name: `${t}/`, typeflag: '5', mode: 0o755 }),
        rawEntry({ name: utf8(`${t}/${esc}`) }, utf8('x')),
        rawEntry({ name: utf8(`${t}/${up}d/`), typeflag: '5', mode: 0o777 }),
        paxEntry(paxRecord('path', utf8(`${t}/${esc}p`))),
        rawEntry({ name: 'harmless' }, utf8('x')),
        rawEntry({ name: `${t}/s`, typeflag: '2', linkname: utf8(up) }),
        rawEntry({ name: `${t}/s/via-link` }, utf8('x')),
        rawEntry({ name: `${t}/h`, typeflag: '1', linkname: utf8(`${t}/${esc}`) }),
        rawEntry({ name: utf8(`${t}/${esc}f`), typeflag: '6', mode: 0o644 }),
        ...(device(c) ? [rawEntry({ name: utf8(`${t}/${esc}c`), typeflag: '3', mode: 0o644, devmajor: 1, devminor: 3 })] : []),
      );
      layer2.push(rawEntry({ name: utf8(`${t}/.wh.${esc}`) }), rawEntry({ name: utf8(`${t}/.wh.${up}`) }));
      expected.set(t, [utf8(`${esc}p`), utf8(`${esc}f`), utf8(`${up}d`), ...(device(c) ? [utf8(`${esc}c`)] : []), utf8('h'), utf8('s')].sort(Buffer.compare));
    });
    const err = await extractRaw(tar(...layer1), tar(...layer2));
    expect(err).not.toBeInstanceOf(Error);
    for (const [t, names] of expected) {
      const dir = Buffer.from(join(rootfs, t));
      expect(readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare)).toEqual(names);
    }
    // The hardlink kept the literal file's content after its first name was whited out.
    expect(readFileSync(join(rootfs, 't0', 'h'), 'utf8')).toBe('x');
    expect(readdirSync(rootfs).filter((n) => !/^t\d+$/.test(n))).toEqual([]);
  }, 120_000);
});

describe('Go archive/tar semantics', () => {
  it('reads no body for link, symlink, char, block, dir and FIFO headers, whatever their size', async () => {
    mkdirSync(rootfs);
    const parts = [
      rawEntry({ name: 'd', typeflag: '5', size: 4096 }),
      rawEntry({ name: 's', typeflag: '2', linkname: 'd', size: 512 }),
      rawEntry({ name: 'p', typeflag: '6', size: 100_000 }),
      rawEntry({ name: 'f' }, utf8('file')),
      rawEntry({ name: 'l', typeflag: '1', linkname: 'f', size: 9 }),
    ];
    await applyLayer(layerStream(tar(...parts), 1000), rootfs);
    expect(readdirSync(rootfs).sort()).toEqual(['d', 'f', 'l', 'p', 's']);
    expect(lstatSync(join(rootfs, 'l')).nlink).toBe(2);
  });

  it('stops at the end-of-archive marker; what follows is hashed, not applied', async () => {
    mkdirSync(rootfs);
    const data = Buffer.concat([tar(rawEntry({ name: 'before' }, utf8('1'))), rawEntry({ name: 'after', mode: 0o4755 }, utf8('2')), END_OF_ARCHIVE]);
    const { createHash } = await import('node:crypto');
    const res = await applyLayer(layerStream(data), rootfs);
    expect(res.diffId).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
    expect(readdirSync(rootfs)).toEqual(['before']);
  });

  it('fails on a zero block followed by a header, and on a truncated header', async () => {
    mkdirSync(rootfs);
    const a = await applyLayer(layerStream(Buffer.concat([Buffer.alloc(512), rawEntry({ name: 'x' }, utf8('1'))])), rootfs).catch((e: unknown) => e);
    expect(code(a)).toBe('CORRUPT_LAYER');
    const b = await applyLayer(layerStream(rawEntry({ name: 'x' }, utf8('1')).subarray(0, 300)), rootfs).catch((e: unknown) => e);
    expect(code(b)).toBe('CORRUPT_LAYER');
  });

  it('turns an old-style (typeflag NUL) entry named x/ into a directory', async () => {
    mkdirSync(rootfs);
    await applyLayer(layerStream(tar(rawEntry({ name: 'x/', typeflag: 0, magic: 'v7', mode: 0o750 }), rawEntry({ name: 'x/y', typeflag: 0, magic: 'v7' }, utf8('y')))), rootfs);
    expect(lstatSync(join(rootfs, 'x')).isDirectory()).toBe(true);
    expect(lstatSync(join(rootfs, 'x')).mode & 0o777).toBe(0o750);
    expect(readFileSync(join(rootfs, 'x', 'y'), 'utf8')).toBe('y');
  });

  it('keeps negative mtimes (base-256 header field and PAX)', async () => {
    mkdirSync(rootfs);
    await applyLayer(
      layerStream(tar(rawEntry({ name: 'old', mtime: -86_400 }, utf8('1')), paxEntry(paxRecord('mtime', '-1.5')), rawEntry({ name: 'older' }, utf8('2')), rawEntry({ name: 'dir', typeflag: '5', mtime: -10 }))),
      rootfs,
    );
    expect(lstatSync(join(rootfs, 'old')).mtimeMs).toBe(-86_400_000);
    expect(lstatSync(join(rootfs, 'older')).mtimeMs).toBe(-1500);
    expect(lstatSync(join(rootfs, 'dir')).mtimeMs).toBe(-10_000);
  });

  it('reads base-256 sizes and ids', async () => {
    mkdirSync(rootfs);
    const body = Buffer.alloc(3000, 7);
    const h = rawHeader({ name: 'b', size: body.length, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
    h[124] = 0x80;
    h.fill(0, 125, 136);
    h.writeUInt16BE(body.length, 134);
    const { fixChecksum, padBlocks } = await import('@oci2lxc/fixtures');
    await applyLayer(layerStream(tar(fixChecksum(h), padBlocks(body))), rootfs);
    expect(readFileSync(join(rootfs, 'b'))).toEqual(body);
  });
});

describe('whiteouts', () => {
  it('d/new then .wh.d gives exactly the tree of .wh.d then d/new (modes, owners, contents)', async () => {
    const lower = tar(rawEntry({ name: 'd/', typeflag: '5', mode: 0o700, uid: process.getuid?.() ?? 0, mtime: 5 }), rawEntry({ name: 'd/old' }, utf8('old')), rawEntry({ name: 'd/sub/', typeflag: '5', mode: 0o711 }), rawEntry({ name: 'd/sub/x' }, utf8('x')));
    const orders = [
      tar(rawEntry({ name: 'd/new' }, utf8('new')), rawEntry({ name: 'd/sub/y' }, utf8('y')), rawEntry({ name: '.wh.d' })),
      tar(rawEntry({ name: '.wh.d' }), rawEntry({ name: 'd/new' }, utf8('new')), rawEntry({ name: 'd/sub/y' }, utf8('y'))),
      tar(rawEntry({ name: 'd/sub/y' }, utf8('y')), rawEntry({ name: 'd/.wh..wh..opq' }), rawEntry({ name: '.wh.d' }), rawEntry({ name: 'd/new' }, utf8('new'))),
    ];
    const trees = [];
    for (const [i, upper] of orders.entries()) {
      const r = join(rootfs, `r${i}`);
      mkdirSync(r, { recursive: true });
      await applyLayer(layerStream(lower), r);
      await applyLayer(layerStream(upper), r);
      const t = snapshot(r);
      t.delete('.');
      // Directories made implicitly get "now" as their time, in any order.
      for (const [k, v] of t) if (v.type === 'dir') t.set(k, { ...v, mtimeMs: 0 });
      trees.push([...t]);
    }
    expect(trees[0]!.map(([p]) => p)).toEqual(['d', 'd/new', 'd/sub', 'd/sub/y']);
    expect(trees[0]).toEqual(trees[1]);
    expect(trees[2]).toEqual(trees[1]);
  });
});

describe('every run settles', () => {
  it('a directory header with size != 0 and a swapped blob: DIFF_ID_MISMATCH, destination as found', async () => {
    const good = tar(rawEntry({ name: 'd', typeflag: '5' }), rawEntry({ name: 'd/f' }, utf8('ok')));
    const swapped = Buffer.concat([rawEntry({ name: 'd', typeflag: '5', size: 1024 }), rawEntry({ name: 'd/f' }, utf8('evil')), END_OF_ARCHIVE]);
    const { image } = memoryImage({ layers: [{ entries: [], rawTar: good, compression: 'none' }] }, { serve: () => layerStream(swapped) });
    const err = await extractImage(image, rootfs).catch((e: unknown) => e);
    expect(code(err)).toBe('DIFF_ID_MISMATCH');
    expect(existsSync(rootfs)).toBe(false);
  });

  it.each([
    ['ID_NOT_MAPPED', [rawEntry({ name: 'big', uid: 70_000 }, Buffer.alloc(100_000, 1))]],
    ['NOT_A_DIRECTORY', [rawEntry({ name: 'f' }, utf8('x')), rawEntry({ name: 'f/big' }, Buffer.alloc(100_000, 1))]],
    ['UNSAFE_PATH', [rawEntry({ name: '.' }, Buffer.alloc(100_000, 1))]],
    ['UNSUPPORTED_ENTRY', [rawEntry({ name: 'big', typeflag: 'D' }, Buffer.alloc(100_000, 1))]],
    ['CORRUPT_LAYER', [paxEntry(paxRecord('path', Buffer.from('a\0b'))), rawEntry({ name: 'big' }, Buffer.alloc(100_000, 1))]],
  ])('an entry rejected before its > 64 KiB body is read: %s, no unhandled error', async (expected, parts) => {
    const { image } = memoryImage({ layers: [{ entries: [], rawTar: tar(...(parts as Buffer[])), compression: 'gzip' }] });
    const err = await extractImage(image, rootfs, { idMap: parseIdMap('0:100000:65536') }).catch((e: unknown) => e);
    expect(code(err)).toBe(expected);
    expect(existsSync(rootfs)).toBe(false);
  });

  it('a process whose layer source stalls with nothing pending exits 1 with a typed error, never 0 (built package)', () => {
    // A source that never ends and holds no handle: the event loop empties mid-layer. Before,
    // such a stall ended the process with status 0 and a partial tree; the beforeExit guard turns
    // it into an error. Runs the built package (turbo builds it before the tests).
    mkdirSync(rootfs);
    const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');
    const script = `
      import { applyLayer } from ${JSON.stringify(dist)};
      import { Readable } from 'node:stream';
      const src = new Readable({ read() {} });
      src.push(Buffer.from(${JSON.stringify(rawHeader({ name: 'f', size: 4096 }).toString('base64'))}, 'base64'));
      applyLayer(src, ${JSON.stringify(rootfs)}).then(
        () => console.log('settled: ok'),
        (e) => { console.log('settled: ' + e.code); process.exitCode = 1; },
      );`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout.trim()).toBe('settled: IO_ERROR');
    expect(r.status).toBe(1);
  });

  it('caps error messages (a 600 KB name) and says how much was left out', async () => {
    mkdirSync(rootfs);
    const err = await applyLayer(layerStream(tar(paxEntry(paxRecord('path', 'z'.repeat(600_000))), rawEntry({ name: 'x' }, utf8('x')))), rootfs).catch((e: unknown) => e);
    expect(code(err)).toBe('UNSAFE_PATH');
    expect((err as Error).message.length).toBeLessThan(1200);
    expect((err as Error).message).toMatch(/\d+ more characters left out/);
  });

  describe.skipIf(!isRoot)('ENOSPC in a large file (8 MiB tmpfs)', () => {
    let mnt: string;
    beforeEach(() => {
      mnt = mkdtempSync(join(tmpdir(), 'oci-extract-enospc-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'tmpfs', mnt]);
    });
    afterEach(() => {
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });

    it.each([1, 2, 3])('never succeeds: NO_SPACE, destination removed (run %i)', async () => {
      const big = Buffer.alloc(48 * 1024 * 1024);
      const layer = gzipSync(tar(rawEntry({ name: 'small' }, utf8('s')), rawEntry({ name: 'zeros' }, big), rawEntry({ name: 'after' }, utf8('a'))));
      const dest = join(mnt, 'rootfs');
      mkdirSync(dest);
      const err = await applyLayer(layerStream(layer), dest, { compression: 'gzip' }).catch((e: unknown) => e);
      expect(code(err)).toBe('NO_SPACE');
      const { image } = memoryImage({ layers: [{ entries: [], rawTar: tar(rawEntry({ name: 'zeros' }, big)), compression: 'gzip' }] });
      rmSync(dest, { recursive: true, force: true });
      const err2 = await extractImage(image, dest).catch((e: unknown) => e);
      expect(code(err2)).toBe('NO_SPACE');
      expect(existsSync(dest)).toBe(false);
    }, 60_000);
  });
});
