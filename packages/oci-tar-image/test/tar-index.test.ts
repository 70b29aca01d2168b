import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { buildTar, encodeEntry, encodePax, file, dir, symlink, hardlink, tempDir, type TarEntry } from '@oci2lxc/fixtures';
import { CountingFile } from '../src/file-source.js';
import { indexTar, normalizePath, type TarIndex } from '../src/tar-index.js';
import { parseNumeric } from '../src/tar-headers.js';
import { expectCode } from './helpers.js';

let tmp: { path: string; cleanup: () => void };
let n = 0;
beforeAll(() => {
  tmp = tempDir('oti-tar-');
});
afterAll(() => tmp.cleanup());

async function indexBuffer(tar: Buffer): Promise<{ index: TarIndex; data: Buffer; bytesRead: number }> {
  const p = join(tmp.path, `t${n++}.tar`);
  writeFileSync(p, tar);
  const h = await open(p, 'r');
  try {
    const f = new CountingFile(h);
    const index = await indexTar(f, tar.length, { archivePath: p });
    return { index, data: tar, bytesRead: f.bytesRead };
  } finally {
    await h.close();
  }
}

function content(r: { index: TarIndex; data: Buffer }, path: string): string | undefined {
  const e = r.index.resolveFile(path);
  return e ? r.data.subarray(e.offset, e.offset + e.size).toString() : undefined;
}

describe('normalizePath', () => {
  it('drops ./, leading and trailing slashes and folds ..', () => {
    expect(normalizePath('./a/b')).toBe('a/b');
    expect(normalizePath('/a//b/')).toBe('a/b');
    expect(normalizePath('a/./b/../c')).toBe('a/c');
    expect(normalizePath('./')).toBe('');
    expect(normalizePath('../x')).toBeUndefined();
    expect(normalizePath('a/../../x')).toBeUndefined();
  });
});

describe('indexTar', () => {
  it('indexes files with offsets and sizes, reading headers only', async () => {
    const big = Buffer.alloc(100_000, 7);
    const r = await indexBuffer(buildTar([dir('d'), file('d/a.txt', 'hello'), file('big', big), file('e', '')]));
    expect(content(r, 'd/a.txt')).toBe('hello');
    expect(r.index.resolveFile('big')?.size).toBe(100_000);
    expect(r.index.resolveFile('e')?.size).toBe(0);
    expect(r.index.entries.get('d')?.type).toBe('dir');
    expect(r.index.resolveFile('d')).toBeUndefined(); // a directory is not a file
    expect(r.index.resolveFile('nope')).toBeUndefined();
    expect(r.index.complete).toBe(true);
    // 6 header blocks (4 entries + the end marker's two zero blocks), never the 100 kB of data
    expect(r.bytesRead).toBe(6 * 512);
  });

  it('normalises ./ prefixes and leading slashes', async () => {
    const r = await indexBuffer(buildTar([file('./x/y', '1'), file('/abs', '2'), file('./', ''), file('.//z//w', '3')]));
    expect(content(r, 'x/y')).toBe('1');
    expect(content(r, 'abs')).toBe('2');
    expect(content(r, './z/w')).toBe('3');
  });

  it('a member written twice is refused when used (readers disagree on which copy counts)', async () => {
    const r = await indexBuffer(buildTar([file('a', 'old'), file('./a', 'new'), dir('d/'), dir('./d/'), file('d/x', 'x')]));
    expect(r.index.duplicates.has('a')).toBe(true);
    await expectCode(async () => content(r, 'a'), 'DUPLICATE_ENTRY', "'a'");
    // A directory repeated as a directory is harmless, and unrelated members still resolve.
    expect(r.index.duplicates.has('d')).toBe(false);
    expect(content(r, 'd/x')).toBe('x');
  });

  it('joins the ustar prefix field', async () => {
    const long = `${'p'.repeat(120)}/${'n'.repeat(90)}`;
    const r = await indexBuffer(buildTar([file(long, 'prefixed')]));
    expect(content(r, long)).toBe('prefixed');
  });

  it('reads PAX path, linkpath and size records, and global headers', async () => {
    const longName = `${'a'.repeat(150)}/${'b'.repeat(150)}`;
    const longTarget = `${'c'.repeat(200)}`;
    const global = Buffer.concat(encodeEntry({ path: 'pax_global_header', typeflag: 'g', content: encodePax({ comment: 'git archive' }) }));
    const tar = Buffer.concat([
      global,
      ...encodeEntry(file(longName, 'pax named')),
      ...encodeEntry(file(longTarget, 'target')),
      ...encodeEntry(symlink('short-link', longTarget)),
      ...encodeEntry({ path: 'header-name', content: 'real path', pax: { path: 'from/pax' } }),
      Buffer.alloc(1024),
    ]);
    const r = await indexBuffer(tar);
    expect(content(r, longName)).toBe('pax named');
    expect(r.index.entries.get('short-link')?.linkname).toBe(longTarget);
    expect(content(r, 'short-link')).toBe('target');
    expect(content(r, 'from/pax')).toBe('real path');
    expect(r.index.has('header-name')).toBe(false);
    expect(r.index.has('pax_global_header')).toBe(false);
  });

  it('a PAX size record overrides the header size', async () => {
    const data = Buffer.from('0123456789');
    const tar = Buffer.concat([...encodeEntry({ path: 'f', content: data, sizeOverride: 3, pax: { size: '10' } }), ...encodeEntry(file('g', 'after')), Buffer.alloc(1024)]);
    const r = await indexBuffer(tar);
    expect(content(r, 'f')).toBe('0123456789');
    expect(content(r, 'g')).toBe('after');
  });

  it('reads GNU long names and long link names', async () => {
    const longName = `${'x'.repeat(130)}/${'y'.repeat(130)}`;
    const longTarget = 'z'.repeat(180);
    const r = await indexBuffer(
      buildTar([
        { ...file(longName, 'gnu named'), longNames: 'gnu' },
        { ...file(longTarget, 'gnu target'), longNames: 'gnu' },
        { ...hardlink('hl', longTarget), longNames: 'gnu' },
      ]),
    );
    expect(content(r, longName)).toBe('gnu named');
    expect(content(r, 'hl')).toBe('gnu target');
    expect(r.index.has('././@LongLink')).toBe(false);
  });

  it('decodes base-256 sizes (members of 8 GiB and more)', async () => {
    expect(parseNumeric(Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]), 0, 12, 'size')).toBe(16);
    const size = 8 * 1024 ** 3 + 512; // does not fit 11 octal digits
    const head = Buffer.concat(encodeEntry({ path: 'huge', content: Buffer.alloc(0), sizeOverride: size }));
    expect(head[124]).toBe(0x80);
    const p = join(tmp.path, 'huge.tar');
    const fd = openSync(p, 'w');
    writeSync(fd, head, 0, head.length, 0);
    const tail = Buffer.concat([...encodeEntry(file('after', 'x')), Buffer.alloc(1024)]);
    writeSync(fd, tail, 0, tail.length, 512 + size); // a sparse file: the 8 GiB are a hole
    ftruncateSync(fd, 512 + size + tail.length);
    closeSync(fd);
    const h = await open(p, 'r');
    try {
      const f = new CountingFile(h);
      const index = await indexTar(f, 512 + size + tail.length, { archivePath: p });
      expect(index.resolveFile('huge')?.size).toBe(size);
      expect(index.resolveFile('after')?.offset).toBe(512 + size + 512);
      expect(f.bytesRead).toBe(4 * 512); // huge's header, after's header, the end marker's two zero blocks
    } finally {
      await h.close();
    }
  });

  it('stops at the first zero block', async () => {
    const tar = Buffer.concat([buildTar([file('a', '1')]), ...encodeEntry(file('ignored', '2'))]);
    const r = await indexBuffer(tar);
    expect(r.index.has('a')).toBe(true);
    expect(r.index.has('ignored')).toBe(false);
  });

  it('a bad checksum is INVALID_TAR naming the offset', async () => {
    const tar = buildTar([file('a', '1'), file('b', '2')]);
    tar[1024 + 10] = 0x41; // inside the name of b's header
    await expectCode(indexBuffer(tar), 'INVALID_TAR', 'offset 1024', "after entry 'a'", 'checksum');
  });

  it('a garbage size field is INVALID_TAR', async () => {
    const tar = buildTar([file('a', '1')]);
    tar.write('99999999999', 124, 'latin1'); // not octal
    let sum = 0;
    tar.fill(0x20, 148, 156);
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.write(`${sum.toString(8).padStart(6, '0')}\0`, 148, 'latin1');
    await expectCode(indexBuffer(tar), 'INVALID_TAR', 'size');
  });

  it('malformed or oversized PAX data is INVALID_TAR', async () => {
    const bad = Buffer.concat([...encodeEntry({ path: 'PaxHeaders/x', typeflag: 'x', content: '99 path=x\n' }), ...encodeEntry(file('x', '1')), Buffer.alloc(1024)]);
    await expectCode(indexBuffer(bad), 'INVALID_TAR', 'PAX');
    const huge = Buffer.concat([...encodeEntry({ path: 'PaxHeaders/x', typeflag: 'x', content: Buffer.alloc(0), sizeOverride: 2 * 1024 * 1024 }), Buffer.alloc(1024)]);
    await expectCode(indexBuffer(huge), 'INVALID_TAR', 'too large');
    const dangling = Buffer.concat([...encodeEntry({ path: 'PaxHeaders/x', typeflag: 'x', content: encodePax({ path: 'p' }) }), Buffer.alloc(1024)]);
    await expectCode(indexBuffer(dangling), 'INVALID_TAR', 'describes no entry');
  });

  it('truncation anywhere is TRUNCATED_ARCHIVE or INVALID_TAR, never a hang', async () => {
    const longName = `${'l'.repeat(150)}/${'m'.repeat(150)}`;
    const tar = buildTar([dir('d'), file('d/one', 'a'.repeat(1500)), file(longName, 'pax'), { ...file(`g/${'q'.repeat(120)}`, 'gnu'), longNames: 'gnu' }, file('last', 'z')]);
    const names = new Set<string>();
    for (let cut = 0; cut < tar.length - 1024; cut += 97) {
      const err = await indexBuffer(tar.subarray(0, cut)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `cut at ${cut}`).toBeDefined();
      const code = (err as { code?: string }).code;
      expect(['TRUNCATED_ARCHIVE', 'INVALID_TAR', 'NOT_AN_IMAGE'], `cut at ${cut}: ${String(err)}`).toContain(code);
      if (cut > 0) expect(code).toBe('TRUNCATED_ARCHIVE');
      names.add((err as Error).message);
    }
    await expectCode(indexBuffer(tar.subarray(0, 512 + 700)), 'TRUNCATED_ARCHIVE', "entry 'd/one'");
    await expectCode(indexBuffer(tar.subarray(0, 512 + 100)), 'TRUNCATED_ARCHIVE', "incomplete header at offset 512 after entry 'd/'");
    await expectCode(indexBuffer(Buffer.alloc(0)), 'NOT_AN_IMAGE', 'empty');
    // the whole archive without its end marker is truncated too
    await expectCode(indexBuffer(tar.subarray(0, tar.length - 1024)), 'TRUNCATED_ARCHIVE', 'end-of-archive');
  });
});

describe('link resolution', () => {
  async function links(entries: TarEntry[]) {
    return indexBuffer(buildTar(entries));
  }

  it('follows symlinks relative to the link directory, as skopeo writes them', async () => {
    const r = await links([file('abc.tar', 'layer'), dir('id1'), symlink('id1/layer.tar', '../abc.tar'), symlink('id2', 'id1'), symlink('chain', 'id2/layer.tar')]);
    expect(content(r, 'id1/layer.tar')).toBe('layer');
    expect(content(r, 'id2/layer.tar')).toBe('layer'); // through a symlinked directory
    expect(content(r, 'chain')).toBe('layer');
    expect(r.index.resolveFile('id1/layer.tar')?.path).toBe('abc.tar');
  });

  it('follows hardlinks (archive paths) and hardlinks to symlinks', async () => {
    const r = await links([file('./real.tar', 'bytes'), dir('id'), hardlink('./id/layer.tar', './real.tar'), symlink('s', 'real.tar'), hardlink('h2', 's'), hardlink('h3', 'id/layer.tar')]);
    expect(content(r, 'id/layer.tar')).toBe('bytes');
    expect(content(r, 'h2')).toBe('bytes');
    expect(content(r, 'h3')).toBe('bytes');
  });

  it('dangling links resolve to nothing', async () => {
    const r = await links([symlink('a', 'missing'), hardlink('b', 'missing')]);
    expect(r.index.resolveFile('a')).toBeUndefined();
    expect(r.index.resolveFile('b')).toBeUndefined();
  });

  it('symlink and hardlink loops are LINK_LOOP', async () => {
    const r = await links([symlink('a', 'b'), symlink('b', 'a'), symlink('self', './self'), hardlink('h1', 'h2'), hardlink('h2', 'h1'), dir('d'), symlink('d/up', '../d/up')]);
    for (const p of ['a', 'b', 'self', 'h1', 'd/up']) {
      expect(() => r.index.resolveFile(p), p).toThrow(expect.objectContaining({ code: 'LINK_LOOP' }));
    }
  });

  it('links that leave the archive root are refused', async () => {
    const r = await links([symlink('abs', '/etc/passwd'), dir('d'), symlink('d/up', '../../etc/passwd'), hardlink('hup', '../x'), symlink('empty', '')]);
    for (const p of ['abs', 'd/up', 'hup', '../etc/passwd', 'empty']) {
      expect(() => r.index.resolveFile(p), p).toThrow(expect.objectContaining({ code: 'INVALID_TAR' }));
    }
  });

  it('members named outside the root are not indexed', async () => {
    const r = await links([file('../evil', 'x'), file('ok', 'y')]);
    expect([...r.index.entries.keys()]).toEqual(['ok']);
  });
});
