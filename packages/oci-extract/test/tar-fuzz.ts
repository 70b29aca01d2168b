// Differential tar fuzzing: seed archives (ustar, GNU, v7, PAX, globals, long names, base-256,
// prefixes, end markers), a seeded mutator (header fields, checksums, PAX records and lengths,
// GNU long names, block boundaries, zero blocks, truncation), our reader's header sequence in the
// oracle's JSON shape, and the comparison rules.
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { END_OF_ARCHIVE, fixChecksum, padBlocks, paxEntry, paxRecord, rawEntry, rawHeader } from '@oci2lxc/fixtures';
import { TarReader } from '../src/tar-reader.js';

export interface OracleEntry {
  name: string;
  linkname: string;
  type: string;
  mode: string;
  uid: string;
  gid: string;
  size: string;
  mtime: string;
  mtimeNsec: string;
  devmajor: string;
  devminor: string;
  xattrs: Record<string, string>;
  sparse: boolean;
}

export interface OracleResult {
  entries: OracleEntry[];
  error: string | null;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same cases everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds test/go-tar-oracle/main.go into `work` (caches there too; no network) and returns the binary. */
export function buildOracle(work: string): string {
  const out = join(work, 'go-tar-oracle');
  const env: NodeJS.ProcessEnv = { ...process.env, GOCACHE: join(work, 'gocache'), GOPATH: join(work, 'gopath'), GOPROXY: 'off', GO111MODULE: 'off', CGO_ENABLED: '0' };
  delete env.GOFLAGS;
  execFileSync('go', ['build', '-o', out, 'main.go'], { cwd: join(dirname(fileURLToPath(import.meta.url)), 'go-tar-oracle'), env, stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

/** Go's reading of each archive (one oracle process, length-prefixed input, one JSON line each). */
export function readWithGo(oracle: string, archives: Buffer[]): Promise<OracleResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(oracle, ['-batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.split('\n').filter((l) => l !== '');
      if (code !== 0 || lines.length !== archives.length) reject(new Error(`oracle exited ${code} after ${lines.length}/${archives.length} answers: ${err}`));
      else resolve(lines.map((l) => JSON.parse(l) as OracleResult));
    });
    for (const a of archives) {
      const len = Buffer.alloc(8);
      len.writeBigUInt64BE(BigInt(a.length));
      child.stdin.write(len);
      child.stdin.write(a);
    }
    child.stdin.end();
  });
}

const hexOf = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/** Our reader over `buf`, delivered in random-sized chunks, in the oracle's shape. */
export async function readOurs(buf: Buffer, rnd: () => number): Promise<OracleResult> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = rnd() < 0.3 ? 1 + Math.floor(rnd() * 700) : 512 * (1 + Math.floor(rnd() * 8));
    chunks.push(buf.subarray(i, i + n));
    i += n;
  }
  let k = 0;
  const source: AsyncIterator<Buffer> = { next: async () => (k < chunks.length ? { done: false, value: chunks[k++]! } : { done: true, value: undefined }) };
  const reader = new TarReader(source);
  const entries: OracleEntry[] = [];
  try {
    for (;;) {
      const h = await reader.next();
      if (h === undefined) break;
      const e: OracleEntry = {
        name: hexOf(h.name),
        linkname: hexOf(h.linkname),
        type: hexOf(h.typeflag),
        mode: String(h.mode),
        uid: String(h.uid),
        gid: String(h.gid),
        size: '0',
        mtime: String(h.mtimeSec),
        mtimeNsec: String(h.mtimeNsec),
        devmajor: String(h.devmajor),
        devminor: String(h.devminor),
        xattrs: Object.fromEntries([...h.xattrs].map(([key, v]) => [hexOf(key), v.toString('hex')])),
        sparse: h.sparse,
      };
      if (h.sparse) {
        entries.push(e);
        break;
      }
      let n = 0;
      for await (const c of reader.body()) n += c.length;
      e.size = String(n);
      entries.push(e);
    }
    await reader.drain();
    return { entries, error: null };
  } catch (err) {
    return { entries, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Where we refuse input Go accepts, on purpose (documented in the README): numbers JavaScript
 * cannot hold exactly, PAX record lengths with a sign or more than 16 digits.
 */
export const STRICTER = [/too large/, /out of range/, /length is not decimal/, /bad length/];

/** Undefined when the results agree under the rules, else what differs. */
export function difference(go: OracleResult, ours: OracleResult): string | undefined {
  const same = (a: OracleEntry, b: OracleEntry): boolean => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
  // A sparse entry ends both sequences (we refuse it; Go may also fail on its sparse map there).
  const ourSparse = ours.entries.findIndex((e) => e.sparse);
  if (ourSparse >= 0) {
    for (let i = 0; i < ourSparse; i++) if (!go.entries[i] || !same(go.entries[i]!, ours.entries[i]!)) return `entry ${i} differs before a sparse entry`;
    if (go.entries.length <= ourSparse && go.error === null) return 'we saw a sparse entry Go did not read';
    return undefined;
  }
  const prefix = Math.min(go.entries.length, ours.entries.length);
  for (let i = 0; i < prefix; i++) if (!same(go.entries[i]!, ours.entries[i]!)) return `entry ${i} differs:\n go  ${JSON.stringify(go.entries[i])}\n us  ${JSON.stringify(ours.entries[i])}`;
  if (go.error === null && ours.error === null) return go.entries.length === ours.entries.length ? undefined : `entry counts differ: go ${go.entries.length}, us ${ours.entries.length}`;
  if (go.error !== null && ours.error === null) return `Go fails (${go.error}) where we succeed with ${ours.entries.length} entries`;
  if (ours.entries.length > go.entries.length) return `we read ${ours.entries.length} entries before failing, Go ${go.entries.length}`;
  if (go.error === null) {
    if (!STRICTER.some((r) => r.test(ours.error!))) return `we fail (${ours.error}) where Go succeeds`;
  }
  return undefined;
}

function sortKeys(e: OracleEntry): OracleEntry {
  return { ...e, xattrs: Object.fromEntries(Object.entries(e.xattrs).sort(([a], [b]) => (a < b ? -1 : 1))) };
}

const long = (n: number, c = 'n'): string => `${'d/'.repeat(Math.floor(n / 4))}${c.repeat(n % 40 || 1)}`;

/** Seed archives: valid tars of every form the reader knows. */
export function seeds(): Buffer[] {
  const body = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));
  const gnuLong = (t: 'L' | 'K', v: string): Buffer => rawEntry({ name: '././@LongLink', typeflag: t, magic: 'gnu' }, Buffer.from(`${v}\0`));
  return [
    Buffer.concat([rawEntry({ name: 'a' }, body(10)), rawEntry({ name: 'd/', typeflag: '5', mode: 0o755 }), rawEntry({ name: 'd/s', typeflag: '2', linkname: '../a' }), rawEntry({ name: 'd/h', typeflag: '1', linkname: 'a' }), END_OF_ARCHIVE]),
    Buffer.concat([rawEntry({ name: 'c', typeflag: '3', devmajor: 1, devminor: 3 }), rawEntry({ name: 'b', typeflag: '4', devmajor: 8, devminor: 0 }), rawEntry({ name: 'p', typeflag: '6' }), rawEntry({ name: 'big' }, body(1500)), END_OF_ARCHIVE]),
    Buffer.concat([paxEntry(Buffer.concat([paxRecord('path', long(150)), paxRecord('mtime', '1700000000.123456789'), paxRecord('uid', '1000'), paxRecord('SCHILY.xattr.user.x', Buffer.from([0, 1, 0xff]))])), rawEntry({ name: 'short' }, body(3)), END_OF_ARCHIVE]),
    Buffer.concat([paxEntry(Buffer.concat([paxRecord('linkpath', long(120, 't')), paxRecord('gid', '77')])), rawEntry({ name: 'l', typeflag: '2' }), paxEntry(paxRecord('size', '5')), rawEntry({ name: 'sized', size: 0 }, Buffer.alloc(0)), padBlocks(body(5)), END_OF_ARCHIVE]),
    Buffer.concat([paxEntry(Buffer.concat([paxRecord('path', 'global'), paxRecord('comment', 'x')]), 'g'), rawEntry({ name: 'after-global' }, body(1)), END_OF_ARCHIVE]),
    Buffer.concat([gnuLong('L', long(130)), gnuLong('K', long(110, 'k')), rawEntry({ name: 'trunc', typeflag: '1', linkname: 'x', magic: 'gnu' }), rawEntry({ name: 'g2', magic: 'gnu', mtime: 5 }, body(700)), END_OF_ARCHIVE]),
    Buffer.concat([rawEntry({ name: 'v7dir/', typeflag: 0, magic: 'v7' }), rawEntry({ name: 'v7dir/f', typeflag: 0, magic: 'v7' }, body(513)), rawEntry({ name: 'c7', typeflag: '7' }, body(2))]), // no end marker
    Buffer.concat([rawEntry({ name: 'n', prefix: 'pre/fix', mtime: -1000, uid: 3_000_000, gid: 2 ** 31 }, body(20)), Buffer.alloc(512)]), // one zero block
    Buffer.concat([rawEntry({ name: 'x', typeflag: 'S', magic: 'gnu' }, body(10)), END_OF_ARCHIVE]),
    Buffer.concat([paxEntry(Buffer.concat([paxRecord('GNU.sparse.major', '1'), paxRecord('GNU.sparse.minor', '0')])), rawEntry({ name: 'sp' }, padBlocks(Buffer.from('0\n'))), END_OF_ARCHIVE]),
    Buffer.concat([rawEntry({ name: 'unk', typeflag: 'Z' }, body(30)), rawEntry({ name: 'D', typeflag: 'D' }, body(3)), END_OF_ARCHIVE, body(700)]),
    Buffer.concat([paxEntry(Buffer.concat([paxRecord('path', 'p2'), paxRecord('mtime', '-1.5'), paxRecord('atime', '3'), paxRecord('ctime', '4')])), gnuLong('L', 'gnu-wins'), rawEntry({ name: 'both', magic: 'gnu' }, body(1)), END_OF_ARCHIVE]),
    // Empty PAX values keep the header's own (Go); a record may be repeated (the last wins).
    Buffer.concat([paxEntry(Buffer.concat([paxRecord('path', ''), paxRecord('uid', ''), paxRecord('linkpath', ''), paxRecord('SCHILY.xattr.user.e', ''), paxRecord('gid', '5'), paxRecord('gid', '6')])), rawEntry({ name: 'kept', typeflag: '2', linkname: 'lt', uid: 9 }), END_OF_ARCHIVE]),
  ];
}

const INTERESTING = [0, 0x20, 0x30, 0x37, 0x38, 0x2f, 0x2e, 0x0a, 0x3d, 0x2b, 0x2d, 0x80, 0xff, 0x40, 0x7f, 0x31, 0x35, 0x78, 0x67, 0x4c, 0x4b, 0x53];
const FIELDS: [number, number][] = [
  [0, 100], // name
  [100, 8], // mode
  [108, 8], // uid
  [116, 8], // gid
  [124, 12], // size
  [136, 12], // mtime
  [148, 8], // checksum
  [156, 1], // typeflag
  [157, 100], // linkname
  [257, 6], // magic
  [263, 2], // version
  [329, 8], // devmajor
  [337, 8], // devminor
  [345, 155], // prefix / GNU atime+ctime
  [508, 4], // star trailer
];

/** Offsets of blocks that look like headers (a valid checksum). */
function headerOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let o = 0; o + 512 <= buf.length; o += 512) {
    const b = buf.subarray(o, o + 512);
    const copy = Buffer.from(b);
    fixChecksum(copy);
    if (copy.subarray(148, 156).equals(b.subarray(148, 156)) && b.some((x) => x !== 0)) out.push(o);
  }
  return out;
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** One to three mutations of a seed. */
export function mutate(seed: Buffer, rnd: () => number): Buffer {
  let buf = Buffer.from(seed);
  const rounds = 1 + Math.floor(rnd() * 3);
  for (let r = 0; r < rounds; r++) {
    const headers = headerOffsets(buf);
    const h = headers.length > 0 ? pick(rnd, headers) : 0;
    const op = Math.floor(rnd() * 12);
    const fix = rnd() < 0.85;
    if (op <= 3 && buf.length >= 512) {
      // A header field: an interesting value, digits, base-256 or text.
      const [off, len] = pick(rnd, FIELDS);
      const at = h + off;
      const kind = Math.floor(rnd() * 6);
      if (kind === 0) buf[at + Math.floor(rnd() * len)] = pick(rnd, INTERESTING);
      else if (kind === 1) buf.write(Math.floor(rnd() * 8 ** Math.min(len - 1, 11)).toString(8).padStart(len - 1, pick(rnd, ['0', ' ', '\0'])).slice(0, len), at, 'latin1');
      else if (kind === 2) {
        buf[at] = pick(rnd, [0x80, 0xff, 0xc0, 0x81]);
        for (let i = 1; i < len; i++) buf[at + i] = rnd() < 0.5 ? 0 : Math.floor(rnd() * 256);
      } else if (kind === 3) buf.write(pick(rnd, ['ustar\0', 'ustar ', ' \0', '00', 'tar\0', '5', 'x', 'g', 'L', 'K', '0\0', '\0']), at, 'latin1');
      else if (kind === 4) buf.fill(pick(rnd, [0, 0x20, 0x30]), at, at + len);
      else buf.write(pick(rnd, ['a/', '/', '..', 'x/y/', 'ĮĮį', '\x7f\x80', ' 1 ']), at, 'latin1');
      if (fix) fixChecksum(buf.subarray(h, h + 512));
    } else if (op <= 5) {
      // A PAX record: lengths, separators, NULs, keys.
      const text = buf.toString('latin1');
      const m = [...text.matchAll(/(\d+) ([A-Za-z.]+)=/g)];
      if (m.length > 0) {
        const rec = pick(rnd, m);
        const at = rec.index!;
        const digits = rec[1]!;
        const kind = Math.floor(rnd() * 7);
        const n = Number(digits);
        if (kind === 0) buf.write(String(n + pick(rnd, [-2, -1, 1, 2])).padStart(digits.length, '0').slice(-digits.length), at, 'latin1');
        else if (kind === 1) buf[at] = pick(rnd, [0x2b, 0x2d, 0x20, 0x30, 0x78]);
        else if (kind === 2) buf[at + n - 1] = pick(rnd, [0, 0x20, 0x0a, 0x3d]);
        else if (kind === 3) buf[at + digits.length + 1 + Math.floor(rnd() * rec[2]!.length)] = pick(rnd, [0, 0x3d, 0x20, 0x0a]);
        else if (kind === 4) buf.write(pick(rnd, ['path', 'linkpath', 'uid', 'gid', 'size', 'mtime', 'atime', 'GNU.sparse.map', 'SCHILY.xattr.a']).slice(0, rec[2]!.length).padEnd(rec[2]!.length, 'x'), at + digits.length + 1, 'latin1');
        else if (kind === 5) {
          const v = at + digits.length + 2 + rec[2]!.length;
          if (v < at + n - 1) buf[v + Math.floor(rnd() * (at + n - 1 - v))] = pick(rnd, [0x30, 0x2e, 0x2d, 0x2b, 0x78, 0x20, 0x00, 0x61]);
        } else buf.fill(0, at + n, Math.min(buf.length, at + n + Math.floor(rnd() * 4)));
      }
    } else if (op === 6) {
      // Truncation.
      const cut = rnd() < 0.5 ? 512 * Math.floor(rnd() * (buf.length / 512 + 1)) : Math.floor(rnd() * buf.length);
      buf = buf.subarray(0, cut);
    } else if (op === 7) {
      // A zero block inserted or a block removed at a block boundary.
      const at = 512 * Math.floor(rnd() * (buf.length / 512 + 1));
      buf = rnd() < 0.5 ? Buffer.concat([buf.subarray(0, at), Buffer.alloc(512), buf.subarray(at)]) : Buffer.concat([buf.subarray(0, at), buf.subarray(at + 512)]);
    } else if (op === 8) {
      // A new header block in the middle (any type, odd sizes).
      const at = 512 * Math.floor(rnd() * (buf.length / 512 + 1));
      const block = rawHeader({ name: pick(rnd, ['n', 'd/', 'x/y', '']), typeflag: pick(rnd, ['0', '1', '2', '3', '5', '6', 'x', 'g', 'L', 'K', '\0', 'S', 'V']), size: pick(rnd, [0, 1, 511, 512, 513, 100_000]), magic: pick(rnd, ['ustar', 'gnu', 'v7'] as const) });
      buf = Buffer.concat([buf.subarray(0, at), block, buf.subarray(at)]);
    } else if (op === 9) {
      // A random byte anywhere.
      if (buf.length > 0) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
      if (fix && headers.length > 0) fixChecksum(buf.subarray(h, h + 512));
    } else if (op === 10) {
      // The checksum in another form (signed sum, spaces, no NUL) or wrong.
      const b = buf.subarray(h, h + 512);
      if (b.length === 512) {
        b.fill(0x20, 148, 156);
        let uns = 0;
        let sig = 0;
        for (const x of b) {
          uns += x;
          sig += x >= 128 ? x - 256 : x;
        }
        const v = pick(rnd, [uns, sig, uns + 1, sig - 1]);
        b.write(`${(v >>> 0).toString(8).padStart(pick(rnd, [6, 7]), pick(rnd, ['0', ' ']))}${pick(rnd, ['\0 ', '\0', ' '])}`.slice(0, 8), 148, 'latin1');
      }
    } else {
      // Bytes after the end marker, or garbage in place of padding.
      buf = Buffer.concat([buf, Buffer.from(Array.from({ length: Math.floor(rnd() * 1200) }, () => (rnd() < 0.5 ? 0 : Math.floor(rnd() * 256))))]);
    }
  }
  return buf;
}
