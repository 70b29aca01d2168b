import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  entry: ['src/index.ts', 'src/bin.ts', 'src/lxc-template.ts'],
  ...packageBuild,
  // The version is baked in so the binary needs no package.json lookup at run time.
  define: { __OCI2LXC_VERSION__: JSON.stringify(pkg.version) },
});
