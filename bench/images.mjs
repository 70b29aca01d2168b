// Deterministic benchmark images, cached by a hash of their parameters.
//   small: many small files (a language runtime with packages), 3 layers with whiteouts
//   large: few large files, content pseudo-random but compressible ~2.4x (gzip) / ~2.8x (zstd)
// Each shape is written as an OCI image layout directory (for umoci, tar and the floor) and as
// the same layout in one tar (for oci2lxc), with gzip or zstd layers.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixturesDist = join(root, 'packages/fixtures/dist/index.js');

// Bump when the generator's output changes, so cached images are rebuilt.
const GENERATOR_VERSION = 3;

export const SHAPES = {
  small: { kind: 'small', packages: 400, filesPerPackage: 60 },
  large: { kind: 'large', fileMiB: 20, baseFiles: 15 },
};
export const QUICK_SHAPES = {
  small: { kind: 'small', packages: 12, filesPerPackage: 25 },
  large: { kind: 'large', fileMiB: 1, baseFiles: 6 },
};

/** xorshift32: fast, deterministic, good enough for benchmark content. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

// Text-like content: words from a 4096-word vocabulary, skewed towards the first ones. gzip -6
// gets ~2.4x on it, zstd -3 ~2.8x: realistic for binaries and libraries, unlike zeros or noise.
const VOCAB = (() => {
  const r = rng(42);
  const words = [];
  for (let i = 0; i < 4096; i++) {
    const len = 2 + (r() % 9);
    let w = '';
    for (let j = 0; j < len; j++) w += String.fromCharCode(97 + (r() % 26));
    words.push(Buffer.from(w));
  }
  return words;
})();

function content(seed, n) {
  const r = rng(seed);
  const b = Buffer.allocUnsafe(n);
  let i = 0;
  while (i < n) {
    const v = r();
    const idx = Math.min((v >>> 8) % 4096, (r() >>> 8) % 4096);
    const w = VOCAB[idx];
    for (let k = 0; k < w.length && i < n; k++) b[i++] = w[k];
    if (i < n) b[i++] = (v & 7) === 0 ? 10 : 32;
  }
  return b;
}

/** File sizes like a runtime's package tree: mostly 0.2–2 KiB, some up to 16 and 32 KiB. */
function smallSize(r) {
  const v = r() % 100;
  if (v < 60) return 200 + (r() % 1800);
  if (v < 90) return 2048 + (r() % 14336);
  return 16384 + (r() % 16384);
}

function smallLayers(p, f) {
  const r = rng(7);
  let seed = 1000;
  const l1 = [f.dir('usr'), f.dir('usr/lib'), f.dir('usr/lib/rt'), f.dir('usr/bin')];
  const allFiles = [];
  for (let i = 0; i < p.packages; i++) {
    const pkg = `usr/lib/rt/pkg${i}`;
    l1.push(f.dir(pkg), f.dir(`${pkg}/lib`), f.dir(`${pkg}/lib/sub`), f.dir(`${pkg}/share`));
    for (let j = 0; j < p.filesPerPackage; j++) {
      const sub = j % 3 === 0 ? 'lib' : j % 3 === 1 ? 'lib/sub' : 'share';
      const path = `${pkg}/${sub}/m${j}.${j % 5 === 0 ? 'so' : 'py'}`;
      l1.push(f.file(path, content(seed++, smallSize(r)), { mode: j % 5 === 0 ? 0o755 : 0o644 }));
      allFiles.push(path);
      if (j % 50 === 7) l1.push(f.hardlink(`${pkg}/${sub}/m${j}-link`, path));
    }
    l1.push(f.symlink(`${pkg}/current`, 'lib'));
    l1.push(f.symlink(`usr/bin/tool${i}`, `../lib/rt/pkg${i}/lib/m0.so`));
  }
  // Layer 2: an update. Whole packages removed, single files removed, some directories made
  // opaque and refilled, files replaced.
  const l2 = [f.dir('usr/lib/rt')];
  const removedPkgs = Math.max(1, Math.floor(p.packages / 10));
  for (let i = 0; i < removedPkgs; i++) l2.push(f.whiteout(`usr/lib/rt/pkg${i * 10 + 1}`));
  for (let i = 0; i < p.packages; i += 5) {
    if (i % 10 === 1) continue;
    const pkg = `usr/lib/rt/pkg${i}`;
    l2.push(f.dir(pkg), f.dir(`${pkg}/lib`), f.whiteout(`${pkg}/lib/m3.py`), f.whiteout(`${pkg}/lib/m6.py`));
    l2.push(f.dir(`${pkg}/share`), f.opaque(`${pkg}/share`));
    for (let j = 0; j < 8; j++) l2.push(f.file(`${pkg}/share/new${j}.txt`, content(seed++, smallSize(r))));
    for (let j = 9; j < p.filesPerPackage; j += 9) if (j % 3 === 0) l2.push(f.file(`${pkg}/lib/m${j}.py`, content(seed++, smallSize(r))));
  }
  // Layer 3: the application, and a few files of the update taken out again.
  const l3 = [f.dir('srv'), f.dir('srv/app'), f.dir('srv/app/node_modules')];
  const appPkgs = Math.max(2, Math.floor(p.packages / 8));
  for (let i = 0; i < appPkgs; i++) {
    const d = `srv/app/node_modules/dep${i}`;
    l3.push(f.dir(d), f.dir(`${d}/dist`));
    for (let j = 0; j < 30; j++) l3.push(f.file(`${d}/dist/f${j}.js`, content(seed++, smallSize(r))));
    l3.push(f.file(`${d}/package.json`, `{"name":"dep${i}","version":"1.0.${i}"}\n`));
  }
  for (let i = 0; i < p.packages; i += 20) if (i % 10 !== 1) l3.push(f.dir(`usr/lib/rt/pkg${i}/share`), f.whiteout(`usr/lib/rt/pkg${i}/share/new0.txt`));
  return [l1, l2, l3];
}

function largeLayers(p, f) {
  const size = p.fileMiB * 1024 * 1024;
  let seed = 5000;
  const l1 = [f.dir('opt'), f.dir('opt/data'), f.dir('opt/models')];
  for (let i = 0; i < p.baseFiles - 2; i++) l1.push(f.file(`opt/data/blob${i}.bin`, content(seed++, size)));
  l1.push(f.file('opt/models/a.bin', content(seed++, size)), f.file('opt/models/b.bin', content(seed++, size)));
  const l2 = [f.dir('opt/data'), f.whiteout('opt/data/blob0.bin'), f.whiteout('opt/data/blob1.bin'), f.dir('opt/models'), f.opaque('opt/models')];
  l2.push(f.file('opt/models/c.bin', content(seed++, size)));
  for (let i = 0; i < 3; i++) l2.push(f.file(`opt/data/new${i}.bin`, content(seed++, size)));
  const l3 = [f.dir('opt/data'), f.whiteout('opt/data/blob2.bin'), f.dir('srv')];
  l3.push(f.file('srv/app.bin', content(seed++, Math.floor(size * 0.8)), { mode: 0o755 }));
  l3.push(f.file('srv/app.dat', content(seed++, Math.floor(size * 0.8))));
  return [l1, l2, l3];
}

function cacheKey(name, params, compression) {
  return createHash('sha256').update(JSON.stringify({ v: GENERATOR_VERSION, name, params, compression })).digest('hex').slice(0, 16);
}

/**
 * Returns the cached image (building it first when needed):
 * { name, shape, compression, dir, layout, tag, archive, layers: [{ path, size, compression }], files, unpackedBytes }.
 */
export async function benchImage(shapeName, params, compression, cacheDir, log = () => {}) {
  const key = cacheKey(shapeName, params, compression);
  const name = `${shapeName}-${compression}`;
  const dir = join(cacheDir, `${name}-${key}`);
  const metaPath = join(dir, 'meta.json');
  if (existsSync(metaPath)) return JSON.parse(readFileSync(metaPath, 'utf8'));

  const f = await import(fixturesDist);
  log(`building ${name} image (cached afterwards in ${dir}) …`);
  const t0 = Date.now();
  const layers = params.kind === 'small' ? smallLayers(params, f) : largeLayers(params, f);
  const built = f.buildArchive({ images: [{ layers, compression, ref: 'bench', config: { Cmd: ['/bin/sh'], WorkingDir: '/srv' } }] });
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const layout = join(tmp, 'layout');
  for (const file of built.files) {
    const p = join(layout, file.path);
    if (file.type === 'dir') mkdirSync(p, { recursive: true });
    else {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, file.data ?? Buffer.alloc(0));
    }
  }
  writeFileSync(join(tmp, 'image.tar'), f.archiveToTar(built.files));
  const img = built.images[0];
  // What the final rootfs holds: replay the layers' entries with whiteouts.
  const tree = new Map();
  for (const entries of layers) {
    for (const e of entries) {
      const path = e.path.replace(/\/$/, '');
      const base = path.slice(path.lastIndexOf('/') + 1);
      const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
      if (base === '.wh..wh..opq') {
        for (const k of [...tree.keys()]) if (k.startsWith(`${parent}/`)) tree.delete(k);
      } else if (base.startsWith('.wh.')) {
        const victim = `${parent ? `${parent}/` : ''}${base.slice(4)}`;
        for (const k of [...tree.keys()]) if (k === victim || k.startsWith(`${victim}/`)) tree.delete(k);
      } else {
        tree.set(path, e.type === 'file' || e.type === undefined ? Buffer.byteLength(e.content ?? '') : e.type === 'hardlink' ? 0 : -1);
      }
    }
  }
  let files = 0;
  let unpackedBytes = 0;
  for (const size of tree.values()) {
    if (size >= 0) files++;
    if (size > 0) unpackedBytes += size;
  }
  const meta = {
    name,
    shape: shapeName,
    params,
    compression,
    key,
    dir,
    layout: join(dir, 'layout'),
    tag: 'bench',
    archive: join(dir, 'image.tar'),
    archiveBytes: readFileSync(join(tmp, 'image.tar')).length,
    layers: img.layers.map((l) => ({
      path: join(dir, 'layout', 'blobs', 'sha256', l.digest.slice(7)),
      digest: l.digest,
      size: l.size,
      tarBytes: l.tar.length,
      compression: l.compression,
    })),
    entries: tree.size,
    files,
    unpackedBytes,
    buildSeconds: (Date.now() - t0) / 1000,
  };
  writeFileSync(join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`  ${name}: ${files} files, ${(unpackedBytes / 2 ** 20).toFixed(1)} MiB unpacked, ${(meta.archiveBytes / 2 ** 20).toFixed(1)} MiB archive, built in ${meta.buildSeconds.toFixed(1)}s`);
  return meta;
}
