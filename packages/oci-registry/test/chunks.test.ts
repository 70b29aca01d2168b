// eachChunk hands a Readable's chunks on as they arrived (no Buffer.concat of what is buffered),
// pauses the stream while its queue is full, and reports errors and cut-off streams after the
// chunks that came before them.
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { eachChunk } from '../src/chunks.js';

describe('eachChunk', () => {
  it('yields the very chunks written, in order, however many were buffered', async () => {
    const s = new PassThrough();
    const written = Array.from({ length: 50 }, (_, i) => randomBytes(1 + i * 997));
    for (const c of written) s.write(c); // all buffered before the first read
    s.end();
    const got: Buffer[] = [];
    for await (const c of eachChunk(s)) got.push(c);
    expect(got.length).toBe(written.length);
    got.forEach((c, i) => expect(c.equals(written[i]!)).toBe(true));
  });

  it('pauses the stream while more than highWaterMark bytes wait, and resumes it when drained', async () => {
    const s = new PassThrough({ highWaterMark: 1024 });
    const it = eachChunk(s, 4096)[Symbol.asyncIterator]();
    const first = it.next(); // attaches the listeners
    for (let i = 0; i < 8; i++) s.write(Buffer.alloc(1024, i));
    await new Promise((r) => setImmediate(r));
    expect(s.isPaused()).toBe(true);
    const seen = [(await first).value as Buffer];
    for (let i = 1; i < 8; i++) seen.push((await it.next()).value as Buffer);
    expect(s.isPaused()).toBe(false);
    expect(seen.map((b) => b[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    s.end();
    expect((await it.next()).done).toBe(true);
  });

  it('yields what arrived before an error, then throws that error', async () => {
    const s = new PassThrough();
    s.write(Buffer.from('abc'));
    s.write(Buffer.from('def'));
    const boom = new Error('connection reset');
    setImmediate(() => s.destroy(boom));
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const c of eachChunk(s)) got.push(c.toString());
      })(),
    ).rejects.toBe(boom);
    expect(got.join('')).toBe('abcdef');
  });

  it('a stream closed without end or error is a premature close, not a clean end', async () => {
    const s = new PassThrough();
    s.write(Buffer.from('partial'));
    setImmediate(() => s.destroy());
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of eachChunk(s)) got.push(c.toString());
    })().then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe('ERR_STREAM_PREMATURE_CLOSE');
    expect(got.join('')).toBe('partial');
  });

  it('a consumer that stops early destroys the stream and leaves no listener behind', async () => {
    const s = new PassThrough();
    s.write(Buffer.from('one'));
    s.write(Buffer.from('two'));
    for await (const c of eachChunk(s)) {
      expect(c.toString()).toBe('one');
      break;
    }
    expect(s.destroyed).toBe(true);
    expect(s.listenerCount('data')).toBe(0);
    expect(s.listenerCount('error')).toBe(0);
  });
});
