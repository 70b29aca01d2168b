#!/usr/bin/env node
// A second floor: decompress the layers in sequence to nowhere with the same libraries oci2lxc
// uses (node:zlib for gzip, zstd-napi for zstd), so its overhead over its own decompressor shows.
// Usage: node bench/decompress-node.mjs gzip|zstd <layer>...
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [compression, ...layers] = process.argv.slice(2);
const zstd = compression === 'zstd' ? createRequire(join(root, 'packages/oci-extract/package.json'))('zstd-napi') : null;
let bytes = 0;
for (const layer of layers) {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      bytes += chunk.length;
      cb();
    },
  });
  await pipeline(createReadStream(layer, { highWaterMark: 1 << 20 }), compression === 'gzip' ? createGunzip({ chunkSize: 128 * 1024 }) : new zstd.DecompressStream(), sink);
}
process.stderr.write(`${bytes}\n`);
