#!/usr/bin/env node
// Opens an image archive N times with openImageArchive (headers only), then selects its image;
// prints JSON: bytes read and median milliseconds of each step. {"available":false} when the
// package has no openImageArchive yet.
// Usage: node bench/open-archive.mjs <archive> [rounds]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let mod;
try {
  mod = await import(join(root, 'packages/oci-tar-image/dist/index.js'));
} catch {
  mod = {};
}
if (typeof mod.openImageArchive !== 'function') {
  console.log(JSON.stringify({ available: false }));
  process.exit(0);
}
const [path, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 5);
const open = [];
const select = [];
let bytesReadOpen = 0;
let bytesReadSelect = 0;
for (let i = 0; i < rounds; i++) {
  const t0 = performance.now();
  const archive = await mod.openImageArchive(path);
  const t1 = performance.now();
  bytesReadOpen = archive.bytesRead;
  await archive.selectImage();
  const t2 = performance.now();
  bytesReadSelect = archive.bytesRead;
  await archive.close();
  open.push(t1 - t0);
  select.push(t2 - t0);
}
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
console.log(JSON.stringify({ available: true, bytesReadOpen, bytesReadSelect, openMs: median(open), selectMs: median(select), firstOpenMs: open[0] }));
