// The writer thread (see write-thread.ts): runs each batch's files in order with the one file
// sequence (runJobSync), and stops at the first failure; later batches are skipped until the
// next 'reset'.
import { parentPort } from 'node:worker_threads';
import { runJobSync } from '../write-file.js';
import { BATCH_FILES, FIELDS, Field, SLOT_BYTES, type FromWriter, type ToWriter } from './write-layout.js';

const port = parentPort;
if (port) {
  let failed = false;
  let data: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  let numbers: Float64Array<ArrayBufferLike> = new Float64Array(0);
  port.on('message', (m: ToWriter) => {
    if (m.op === 'reset') {
      failed = false;
      data = Buffer.from(m.data);
      numbers = new Float64Array(m.meta);
      return;
    }
    const started = process.hrtime.bigint();
    const bytes = data.subarray(m.slot * SLOT_BYTES, (m.slot + 1) * SLOT_BYTES);
    const meta = numbers.subarray(m.slot * BATCH_FILES * FIELDS, (m.slot + 1) * BATCH_FILES * FIELDS);
    for (let i = 0; i < m.count && !failed; i++) {
      const f = i * FIELDS;
      const num = (k: number): number => meta[f + k]!;
      const at = (k: number): Buffer => bytes.subarray(num(k), num(k) + num(k + 1));
      const uid = num(Field.uid);
      const mode = num(Field.mode);
      try {
        runJobSync({
          host: at(Field.pathAt),
          linkTarget: num(Field.linkLen) > 0 ? at(Field.linkAt) : undefined,
          flags: num(Field.flags),
          createMode: num(Field.createMode),
          chunks: [at(Field.bodyAt)],
          chown: uid >= 0 ? { uid, gid: num(Field.gid) } : undefined,
          mode: mode >= 0 ? mode : undefined,
          atime: num(Field.atime),
          mtime: num(Field.mtime),
        });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        failed = true;
        port.postMessage({ op: 'error', id: m.id, index: i, code: e.code ?? 'EIO', errno: e.errno ?? 0, syscall: e.syscall ?? '', message: e.message } satisfies FromWriter);
      }
    }
    const ns = Number(process.hrtime.bigint() - started);
    port.postMessage({ op: 'done', id: m.id, ns } satisfies FromWriter);
  });
}
