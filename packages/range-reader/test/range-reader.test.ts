import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, truncate, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RangeReader, RangeReaderError, ShortReadError, DEFAULT_STREAM_CHUNK, type PositionalFile, type SeekWhence } from '../src/index.js';

/** mulberry32: small seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, seed: number): Buffer {
  const rnd = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

let dir: string;
let filePath: string;
let data: Buffer;
let handle: FileHandle;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'range-reader-'));
  filePath = join(dir, 'data.bin');
  data = randomBytes(3 * 1024 * 1024 + 777, 42);
  writeFileSync(filePath, data);
  handle = await open(filePath, 'r');
});

afterAll(async () => {
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RangeReader basics', () => {
  it('reports start, size, position and remaining', () => {
    const r = new RangeReader(handle, 100, 50);
    expect(r.start).toBe(100);
    expect(r.size).toBe(50);
    expect(r.position).toBe(0);
    expect(r.remaining).toBe(50);
    r.seek(20);
    expect(r.position).toBe(20);
    expect(r.remaining).toBe(30);
  });

  it('reads within the range and returns 0 at its end', async () => {
    const r = new RangeReader(handle, 10, 20);
    const buf = Buffer.alloc(64);
    expect(await r.read(buf)).toBe(20);
    expect(buf.subarray(0, 20).equals(data.subarray(10, 30))).toBe(true);
    expect(buf.subarray(20).every((b) => b === 0)).toBe(true);
    expect(await r.read(buf)).toBe(0);
    expect(r.remaining).toBe(0);
  });

  it('writes at the buffer offset and honours length', async () => {
    const r = new RangeReader(handle, 0, 100);
    const buf = Buffer.alloc(10, 0xee);
    expect(await r.read(buf, 3, 4)).toBe(4);
    expect([...buf]).toEqual([0xee, 0xee, 0xee, ...data.subarray(0, 4), 0xee, 0xee, 0xee]);
    expect(r.position).toBe(4);
    expect(await r.read(buf, 10)).toBe(0); // zero-length request at the buffer's end
    await expect(r.read(buf, 11)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(r.read(buf, 5, 6)).rejects.toBeInstanceOf(RangeReaderError);
  });

  it('seeks from start, current and end; past the end clamps', () => {
    const r = new RangeReader(handle, 1000, 300);
    expect(r.seek(10)).toBe(10);
    expect(r.seek(5, 'current')).toBe(15);
    expect(r.seek(-5, 'current')).toBe(10);
    expect(r.seek(-1, 'end')).toBe(299);
    expect(r.seek(0, 'end')).toBe(300);
    expect(r.seek(10_000)).toBe(300);
    expect(r.seek(50, 'end')).toBe(300);
    expect(r.seek(1, 'current')).toBe(300);
  });

  it('a seek before the start is a RangeError with a code, and leaves the position alone', () => {
    const r = new RangeReader(handle, 0, 10);
    r.seek(4);
    let caught: unknown;
    try {
      r.seek(-5, 'current');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect(caught).toBeInstanceOf(RangeReaderError);
    expect((caught as RangeReaderError).code).toBe('NEGATIVE_POSITION');
    expect(r.position).toBe(4);
    expect(() => r.seek(-11, 'end')).toThrow(expect.objectContaining({ code: 'NEGATIVE_POSITION' }));
    expect(() => r.seek(-1)).toThrow(RangeError);
    expect(() => r.seek(1.5)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => r.seek(0, 'middle' as SeekWhence)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('rejects invalid ranges', () => {
    expect(() => new RangeReader(handle, -1, 10)).toThrow(expect.objectContaining({ code: 'INVALID_RANGE' }));
    expect(() => new RangeReader(handle, 0, -1)).toThrow(RangeError);
    expect(() => new RangeReader(handle, 0.5, 1)).toThrow(RangeError);
    expect(() => new RangeReader(handle, Number.MAX_SAFE_INTEGER, 10)).toThrow(expect.objectContaining({ code: 'INVALID_RANGE' }));
  });

  it('an empty range reads nothing and streams nothing', async () => {
    const r = new RangeReader(handle, 500, 0);
    expect(await r.read(Buffer.alloc(8))).toBe(0);
    expect((await collect(r.createReadStream())).length).toBe(0);
    expect((await r.readAll()).length).toBe(0);
  });

  it('readAll reads from the position to the end', async () => {
    const r = new RangeReader(handle, 77, 1000);
    r.seek(100);
    const all = await r.readAll();
    expect(all.equals(data.subarray(177, 1077))).toBe(true);
    expect(r.remaining).toBe(0);
  });

  it('readAt reads without moving the position', async () => {
    const r = new RangeReader(handle, 200, 100);
    r.seek(7);
    const buf = Buffer.alloc(30);
    expect(await r.readAt(90, buf)).toBe(10);
    expect(buf.subarray(0, 10).equals(data.subarray(290, 300))).toBe(true);
    expect(await r.readAt(100, buf)).toBe(0);
    expect(await r.readAt(5000, buf)).toBe(0);
    expect(r.position).toBe(7);
    await expect(r.readAt(-1, buf)).rejects.toBeInstanceOf(RangeError);
  });
});

describe('subrange', () => {
  it('is relative to the parent, clamped to it, and independent of its position', async () => {
    const r = new RangeReader(handle, 1000, 500);
    r.seek(123);
    const s = r.subrange(100, 50);
    expect(s.start).toBe(1100);
    expect(s.size).toBe(50);
    expect(s.position).toBe(0);
    expect((await s.readAll()).equals(data.subarray(1100, 1150))).toBe(true);
    expect(r.position).toBe(123);

    const clamped = r.subrange(400, 1_000_000);
    expect(clamped.size).toBe(100);
    expect((await clamped.readAll()).equals(data.subarray(1400, 1500))).toBe(true);
    expect(r.subrange(500).size).toBe(0);
    expect(r.subrange(10).size).toBe(490);
    // nested subranges stay inside every parent
    const nested = r.subrange(10, 100).subrange(90, 100);
    expect(nested.start).toBe(1100);
    expect(nested.size).toBe(10);
  });

  it('validates its arguments', () => {
    const r = new RangeReader(handle, 0, 10);
    expect(() => r.subrange(11)).toThrow(expect.objectContaining({ code: 'INVALID_RANGE' }));
    expect(() => r.subrange(-1)).toThrow(RangeError);
    expect(() => r.subrange(0, -2)).toThrow(RangeError);
  });
});

describe('random reads and seeks against Buffer.subarray', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: 3000 operations`, async () => {
      const rnd = prng(seed);
      const int = (n: number): number => Math.floor(rnd() * n);
      const start = int(100_000);
      const size = int(200_000);
      const expected = data.subarray(start, start + size);
      const r = new RangeReader(handle, start, size);
      let pos = 0;
      for (let i = 0; i < 3000; i++) {
        const op = int(10);
        if (op < 3) {
          const whence = (['start', 'current', 'end'] as const)[int(3)]!;
          const base = whence === 'start' ? 0 : whence === 'current' ? pos : size;
          const offset = int(size * 1.4 + 2) - Math.floor(size * 0.7);
          const target = base + offset;
          if (target < 0) {
            expect(() => r.seek(offset, whence)).toThrow(RangeError);
          } else {
            pos = Math.min(target, size);
            expect(r.seek(offset, whence)).toBe(pos);
          }
        } else {
          const bufSize = int(5000) + 1;
          const buf = Buffer.alloc(bufSize, 0xa5);
          const offset = int(bufSize + 1);
          const length = int(bufSize - offset + 1);
          const n = await r.read(buf, offset, length);
          const want = expected.subarray(pos, pos + length);
          expect(n).toBe(want.length);
          expect(buf.subarray(offset, offset + n).equals(want)).toBe(true);
          // bytes outside [offset, offset+n) are untouched
          expect(buf.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
          expect(buf.subarray(offset + n).every((b) => b === 0xa5)).toBe(true);
          pos += n;
        }
        expect(r.position).toBe(pos);
        expect(r.remaining).toBe(size - pos);
      }
    });
  }
});

describe('sharing one handle', () => {
  it('many readers interleaving reads on one handle each see their own range', async () => {
    const rnd = prng(7);
    const readers = Array.from({ length: 24 }, () => {
      const start = Math.floor(rnd() * 2_000_000);
      const size = Math.floor(rnd() * 300_000);
      return { r: new RangeReader(handle, start, size), want: data.subarray(start, start + size) };
    });
    const results = await Promise.all(
      readers.map(async ({ r }) => {
        const parts: Buffer[] = [];
        for (;;) {
          const buf = Buffer.alloc(1 + Math.floor(rnd() * 40_000));
          const n = await r.read(buf);
          if (n === 0) break;
          parts.push(buf.subarray(0, n));
        }
        return Buffer.concat(parts);
      }),
    );
    results.forEach((got, i) => expect(got.equals(readers[i]!.want)).toBe(true));
  });

  it('concurrent read() calls on one reader get consecutive slices', async () => {
    const r = new RangeReader(handle, 4096, 10_000);
    const bufs = Array.from({ length: 12 }, () => Buffer.alloc(1000));
    const counts = await Promise.all(bufs.map((b) => r.read(b)));
    expect(counts).toEqual([1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 0, 0]);
    expect(Buffer.concat(bufs.slice(0, 10)).equals(data.subarray(4096, 14_096))).toBe(true);
  });

  it('streams and readers on one handle run at the same time', async () => {
    const ranges = [
      [0, 1_500_000],
      [1_000_000, 2_000_000],
      [5, 3 * 1024 * 1024],
      [123_456, 7],
    ] as const;
    const outs = await Promise.all(ranges.map(([s, l]) => collect(new RangeReader(handle, s, l).createReadStream({ highWaterMark: 64 * 1024 }))));
    outs.forEach((o, i) => {
      const [s, l] = ranges[i]!;
      expect(o.equals(data.subarray(s, s + l))).toBe(true);
    });
  });
});

describe('createReadStream', () => {
  it('streams exactly the range for many chunk sizes', async () => {
    const rnd = prng(99);
    for (const hwm of [1, 7, 512, 65_536, 1_000_003, undefined]) {
      const start = Math.floor(rnd() * 1000);
      const size = hwm !== undefined && hwm < 512 ? 3000 : 2_500_000;
      const r = new RangeReader(handle, start, size);
      r.seek(17);
      const out = await collect(r.createReadStream(hwm === undefined ? {} : { highWaterMark: hwm }));
      expect(out.equals(data.subarray(start, start + size))).toBe(true);
      expect(r.position).toBe(17); // the stream does not move the reader
    }
  });

  it('reads 1 MiB at a time by default', async () => {
    const sizes: number[] = [];
    const counting: PositionalFile = {
      read: (buf, off, len, pos) => {
        sizes.push(len);
        return handle.read(buf, off, len, pos);
      },
    };
    const out = await collect(new RangeReader(counting, 0, data.length).createReadStream());
    expect(out.equals(data)).toBe(true);
    expect(DEFAULT_STREAM_CHUNK).toBe(1024 * 1024);
    expect(sizes.slice(0, 3)).toEqual([DEFAULT_STREAM_CHUNK, DEFAULT_STREAM_CHUNK, DEFAULT_STREAM_CHUNK]);
    expect(sizes.length).toBe(4);
  });

  it('rejects a bad highWaterMark', () => {
    const r = new RangeReader(handle, 0, 10);
    expect(() => r.createReadStream({ highWaterMark: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('stops with an AbortError when the signal aborts', async () => {
    const ac = new AbortController();
    const stream = new RangeReader(handle, 0, data.length).createReadStream({ highWaterMark: 4096, signal: ac.signal });
    let received = 0;
    await expect(
      pipeline(
        stream,
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            received += chunk.length;
            if (received >= 8192) ac.abort();
            cb();
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(received).toBeGreaterThanOrEqual(8192);
    expect(received).toBeLessThan(data.length);
    expect(stream.destroyed).toBe(true);
  });

  it('an already-aborted signal fails the stream before any data', async () => {
    const ac = new AbortController();
    ac.abort();
    const stream = new RangeReader(handle, 0, 1000).createReadStream({ signal: ac.signal });
    await expect(collect(stream)).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('files that end early', () => {
  it('a range past the end of the file is a ShortReadError, not a hang', async () => {
    const r = new RangeReader(handle, data.length - 10, 100);
    const buf = Buffer.alloc(100);
    const err = await r.read(buf).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShortReadError);
    expect(err).toMatchObject({ code: 'SHORT_READ', filePosition: data.length, missing: 90 });
    expect(r.position).toBe(0); // the failed read did not consume the range
    await expect(collect(new RangeReader(handle, data.length - 10, 100).createReadStream())).rejects.toMatchObject({ code: 'SHORT_READ' });
  });

  it('a file truncated while streaming fails the stream with SHORT_READ', async () => {
    const p = join(dir, 'shrinking.bin');
    writeFileSync(p, data);
    const h = await open(p, 'r');
    try {
      const stream = new RangeReader(h, 0, data.length).createReadStream({ highWaterMark: 256 * 1024 });
      let first = true;
      const err = await pipeline(
        stream,
        new Writable({
          write(_chunk, _enc, cb) {
            if (first) {
              first = false;
              truncate(p, 300_000).then(() => cb(), cb);
            } else cb();
          },
        }),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShortReadError);
      expect((err as ShortReadError).filePosition).toBeGreaterThanOrEqual(300_000);
      expect((err as ShortReadError).filePosition).toBeLessThan(data.length);
    } finally {
      await h.close();
    }
  });

  it('a file whose read() returns 0 forever is reported, and over-long reads are clamped', async () => {
    let calls = 0;
    const stuck: PositionalFile = {
      read: async () => {
        calls++;
        return { bytesRead: 0 };
      },
    };
    await expect(new RangeReader(stuck, 0, 10).read(Buffer.alloc(10))).rejects.toMatchObject({ code: 'SHORT_READ' });
    expect(calls).toBe(1);

    const liar: PositionalFile = {
      read: async (buf, off, len, pos) => {
        await handle.read(buf, off, len, pos);
        return { bytesRead: len * 10 };
      },
    };
    const r = new RangeReader(liar, 0, 50);
    const buf = Buffer.alloc(30);
    expect(await r.read(buf)).toBe(30);
    expect(r.position).toBe(30);
    expect(await r.read(buf)).toBe(20);
    expect(await r.read(buf)).toBe(0);
  });
});
