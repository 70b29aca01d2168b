import { openRegistry } from '@oci2lxc/oci-registry';
import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
const mode = process.argv[2];
const a = await openRegistry('127.0.0.1:5055/large:bench', { insecureRegistries: ['127.0.0.1:5055'] });
const img = await a.selectImage();
const t0 = performance.now();
let n = 0;
for (const l of img.layers) {
  let s = img.openLayer(l.index);
  if (mode !== 'raw') s = s.pipe(createGunzip({ chunkSize: 1 << 20 }));
  const h = createHash('sha256');
  for await (const c of s) { n += c.length; if (mode === 'hash') h.update(c); }
}
console.log(mode, n, (performance.now() - t0).toFixed(0), 'ms');
await a.close();
