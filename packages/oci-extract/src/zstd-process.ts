// zstd decompression in a child process (`zstd -dc`), when the binary is installed: the main
// thread then only hashes, parses and writes while another core decompresses, as GNU
// `tar --zstd` does. zstd-napi stays the fallback. Backpressure holds both ways: stdin is written
// only as the pipe drains, and stdout is read only as fast as the tar parser takes it (the child
// blocks on a full pipe), so a zstd bomb cannot fill memory here either. The child is killed
// whenever the stage ends early (a failed layer, an abort, a source error such as a compressed
// digest mismatch reported by the layer stream).
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DecompressError } from './decompress-error.js';

const OUT_SIZE = 256 * 1024;
let found: string | null | undefined;

/** The `zstd` executable on PATH (looked up once), or undefined. */
export function zstdBinary(): string | undefined {
  if (found === undefined) {
    found = null;
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
      if (dir === '') continue;
      try {
        accessSync(join(dir, 'zstd'), constants.X_OK);
        found = join(dir, 'zstd');
        break;
      } catch {
        // next
      }
    }
  }
  return found ?? undefined;
}

/** A pipeline stage: compressed chunks in, decompressed chunks out (the child's 64 KiB reads). */
export function zstdProcessStage(bin: string) {
  return async function* zstdProcess(source: AsyncIterable<Buffer>, opts?: { signal?: AbortSignal }): AsyncGenerator<Buffer> {
    // -q: no progress. (--no-check would skip frame checksums; they are kept.)
    const child = spawn(bin, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    const closed = new Promise<{ code: number | null; spawnError?: Error }>((resolve) => {
      child.once('error', (e) => resolve({ code: null, spawnError: e }));
      child.once('close', (code) => resolve({ code }));
    });
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    opts?.signal?.addEventListener('abort', kill, { once: true });
    child.stdin.on('error', () => {}); // EPIPE when zstd exits on bad input: its stderr says why

    let input = 0;
    let sourceError: unknown;
    const pump = (async (): Promise<void> => {
      try {
        let head = Buffer.alloc(0);
        for await (const chunk of source) {
          if (child.stdin.destroyed) break; // zstd exited (bad input): its status says why
          // The binary also decodes gzip, xz and lz4 (even with --format=zstd): a zstd layer must
          // start with a zstd frame, as zstd-napi requires.
          if (input < 4) {
            head = Buffer.concat([head, chunk.subarray(0, 4 - input)]);
            if (head.length === 4 && !isZstdMagic(head)) throw new DecompressError('zstd', 'unknown frame descriptor (not zstd data)');
          }
          input += chunk.length;
          if (!child.stdin.write(chunk) && !child.stdin.destroyed) {
            await new Promise<void>((resolve) => {
              const done = (): void => {
                child.stdin.off('drain', done);
                child.stdin.off('close', done);
                resolve();
              };
              child.stdin.on('drain', done);
              child.stdin.on('close', done);
            });
          }
        }
        child.stdin.end();
      } catch (err) {
        sourceError = err; // the source's own error (e.g. the layer's digest) wins
        kill();
      }
    })();

    try {
      // The pipe gives 64 KiB reads; copying them into 256 KiB buffers costs less than handing 4x
      // as many chunks to the hash, the tar parser and the file writes. (1 MiB was faster still,
      // but small files' bodies kept whole 1 MiB buffers alive: peak RSS 168 MiB.)
      const size = OUT_SIZE;
      let buf = Buffer.allocUnsafe(size);
      let filled = 0;
      for await (const out of child.stdout as AsyncIterable<Buffer>) {
        let off = 0;
        while (off < out.length) {
          const n = out.copy(buf, filled, off);
          off += n;
          filled += n;
          if (filled === size) {
            yield buf;
            buf = Buffer.allocUnsafe(size);
            filled = 0;
          }
        }
      }
      if (filled > 0) yield buf.subarray(0, filled);
      await pump;
      if (sourceError !== undefined) throw sourceError;
      const { code, spawnError } = await closed;
      if (spawnError) throw new DecompressError('zstd', `cannot run ${bin}: ${spawnError.message}`, { cause: spawnError });
      if (input === 0) throw new DecompressError('zstd', 'empty stream (no zstd frame)');
      if (code !== 0) throw new DecompressError('zstd', `zstd -d failed: ${oneLine(stderr) || `exit status ${code}`}`);
    } finally {
      kill();
      opts?.signal?.removeEventListener('abort', kill);
      child.stdout.destroy();
    }
  };
}

/** A zstd frame (28 b5 2f fd) or a skippable frame (5? 2a 4d 18). */
function isZstdMagic(b: Buffer): boolean {
  const m = b.readUInt32LE(0);
  return m === 0xfd2fb528 || (m & 0xfffffff0) >>> 0 === 0x184d2a50;
}

/** zstd's message without its `/*stdin*\` noise, control characters and newlines. */
function oneLine(s: string): string {
  return s
    .replace(/\/\*stdin\*\\\s*:?\s*/g, '')
    .replace(/^zstd:\s*/gm, '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .trim();
}
