// What users get from the registry: packed tarballs, installed into a fresh project.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packages = ['range-reader', 'oci-tar-image', 'oci-extract', 'oci-registry', 'lxc-config', 'lxc-container', 'cli'] as const;
const expectedExports: Record<(typeof packages)[number], string[]> = {
  'range-reader': ['RangeReader', 'RangeReaderError', 'isRangeReaderError', 'isShortReadError'],
  'oci-tar-image': ['openImageArchive', 'isImageArchive', 'OciImageError', 'isOciImageError', 'parsePlatform', 'formatPlatform', 'validateDigest', 'MediaTypes'],
  'oci-extract': ['extractImage', 'applyLayer', 'parseIdMap', 'ExtractError', 'isExtractError'],
  'oci-registry': ['openRegistry', 'parseReference', 'formatReference', 'BlobCache', 'RegistryError', 'isRegistryError', 'registryCause'],
  'lxc-config': ['buildLxcConfig', 'renderLxcConfig', 'writeStartWrapper', 'capabilitiesFor', 'detectCapabilities', 'LxcConfigError', 'isLxcConfigError'],
  'lxc-container': ['createContainer', 'completeContainer', 'planContainer', 'validateContainerName', 'parseNetwork', 'defaultLxcPath', 'ContainerError', 'isContainerError'],
  cli: ['main', 'version'],
};

const work = mkdtempSync(join(tmpdir(), 'oci2lxc-pack-'));
const project = join(work, 'project');
const tarballs: Record<string, string> = {};

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 32 * 1024 * 1024 });
}

beforeAll(() => {
  const dest = join(work, 'tarballs');
  mkdirSync(dest);
  for (const p of packages) {
    sh('pnpm', ['pack', '--pack-destination', dest], join(root, 'packages', p));
    const tgz = readdirSync(dest).find((f) => f.startsWith(`oci2lxc-${p}-`) && f.endsWith('.tgz'));
    if (!tgz) throw new Error(`pnpm pack produced no tarball for ${p}`);
    tarballs[`@oci2lxc/${p}`] = `file:${join(dest, tgz)}`;
  }
  mkdirSync(project);
  // overrides: the packages' own dependencies on each other resolve to these tarballs too.
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: tarballs, overrides: tarballs }, null, 2));
  sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], project);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('packed packages', () => {
  it.each(packages)('%s: the tarball holds dist and README, no sources or tests', (p) => {
    const file = tarballs[`@oci2lxc/${p}`]!.slice('file:'.length);
    const list = sh('tar', ['-tzf', file], work).split('\n').filter(Boolean);
    expect(list).toContain('package/package.json');
    expect(list).toContain('package/README.md');
    expect(list).toContain('package/dist/index.js');
    expect(list).toContain('package/dist/index.cjs');
    expect(list).toContain('package/dist/index.d.ts');
    expect(list.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([]);
    const manifest = JSON.parse(sh('tar', ['-xzOf', file, 'package/package.json'], work)) as { dependencies?: Record<string, string> };
    for (const v of Object.values(manifest.dependencies ?? {})) expect(v).not.toMatch(/^workspace:/);
  });

  it.each(packages)('%s: imports with ESM and with CJS', (p) => {
    const names = expectedExports[p];
    const esm = sh(process.execPath, ['--input-type=module', '-e', `const m = await import('@oci2lxc/${p}'); console.log(JSON.stringify(Object.keys(m)))`], project);
    const cjs = sh(process.execPath, ['-e', `const m = require('@oci2lxc/${p}'); console.log(JSON.stringify(Object.keys(m)))`], project);
    for (const n of names) {
      expect(JSON.parse(esm)).toContain(n);
      expect(JSON.parse(cjs)).toContain(n);
    }
    expect(JSON.parse(esm)).not.toContain('default');
  });

  // The ESM and CJS builds are two copies with two classes each: `instanceof` fails across them,
  // the exported guards must not (they check a Symbol.for() key every copy shares).
  it.each([
    ['range-reader', 'RangeReaderError', 'isRangeReaderError', "'INVALID_RANGE', 'x'"],
    ['range-reader', 'ShortReadError', 'isShortReadError', '0, 1'],
    ['oci-tar-image', 'OciImageError', 'isOciImageError', "'INVALID_JSON', 'x'"],
    ['oci-extract', 'ExtractError', 'isExtractError', "'IO_ERROR', 'x'"],
    ['oci-registry', 'RegistryError', 'isRegistryError', "'NOT_FOUND', 'x'"],
    ['lxc-config', 'LxcConfigError', 'isLxcConfigError', "'INVALID_KEY', 'x'"],
    ['lxc-container', 'ContainerError', 'isContainerError', "'CONTAINER_EXISTS', 'x'"],
  ] as const)('%s: %s of the CJS build passes the ESM build’s guard (%s), a look-alike does not', (p, cls, guard, args) => {
    const out = sh(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module';
const esm = await import('@oci2lxc/${p}');
const cjs = createRequire(import.meta.url)('@oci2lxc/${p}');
const err = new cjs.${cls}(${args});
const lookAlike = Object.assign(new Error('x'), { name: '${cls}', code: 'X' });
console.log(JSON.stringify([err instanceof esm.${cls}, esm.${guard}(err), cjs.${guard}(err), esm.${guard}(lookAlike), esm.${guard}(new Error('x'))]));`,
      ],
      project,
    );
    expect(JSON.parse(out)).toEqual([false, true, true, false, false]);
  });

  it('the installed oci-extract applies a zstd layer (decompressed on a worker thread) from ESM and CJS, then exits', () => {
    const src = join(work, 'zstd-src');
    mkdirSync(join(src, 'etc'), { recursive: true });
    writeFileSync(join(src, 'etc', 'motd'), 'hello from zstd\n');
    const blob = join(work, 'layer.tar.zst');
    sh('sh', ['-c', `tar -cf - -C "${src}" . | zstd -q -c > "${blob}"`], work);
    const body = (load: string): string => `const { applyLayer } = ${load};
const { createReadStream, readFileSync } = require('node:fs');
const dest = process.argv[process.argv.length - 1];
applyLayer(createReadStream(${JSON.stringify(blob)}), dest, { compression: 'zstd' }).then((r) => {
  console.log(r.diffId.startsWith('sha256:') + ' ' + readFileSync(dest + '/etc/motd', 'utf8').trim());
});`;
    for (const [flavor, args] of [
      ['cjs', ['-e', body("require('@oci2lxc/oci-extract')")]],
      ['esm', ['--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n${body("await import('@oci2lxc/oci-extract')")}`]],
    ] as const) {
      const dest = join(work, `rootfs-${flavor}`);
      mkdirSync(dest);
      // execFileSync's timeout: a decompression thread that kept the process alive would hang here.
      const out = execFileSync(process.execPath, [...args, dest], { cwd: project, encoding: 'utf8', timeout: 30_000 });
      expect(out.trim()).toBe('true hello from zstd');
    }
  });

  it('type-checks a usage example against the installed declarations', () => {
    writeFileSync(
      join(project, 'example.ts'),
      `import { open } from 'node:fs/promises';
import { RangeReader } from '@oci2lxc/range-reader';
import { openImageArchive, OciImageError, type Image, type Layer } from '@oci2lxc/oci-tar-image';
import { extractImage, parseIdMap, ExtractError, type ExtractProgress } from '@oci2lxc/oci-extract';
import { buildLxcConfig, renderLxcConfig, capabilitiesFor, type LxcPlan } from '@oci2lxc/lxc-config';
import { createContainer, planContainer, ContainerError, type CreateResult } from '@oci2lxc/lxc-container';
import { main } from '@oci2lxc/cli';

export async function container(image: Image, lxcpath: string): Promise<string> {
  try {
    const r: CreateResult = await createContainer(image, { name: 'web', lxcpath, network: { type: 'empty' }, onWarning: (w: string) => void w });
    return r.config + (await planContainer(image, { flavor: 'pve', lxcVersion: '6.0.5' })).text;
  } catch (err) {
    if (err instanceof ContainerError) return err.code;
    throw err;
  }
}

export async function example(path: string, rootfs: string): Promise<string> {
  const fh = await open(path, 'r');
  const reader = new RangeReader(fh, 0, 512);
  const head: number = await reader.read(Buffer.alloc(16));
  await fh.close();
  const archive = await openImageArchive(path);
  try {
    const image: Image = await archive.selectImage({ platform: 'linux/amd64' });
    const layers: readonly Layer[] = image.layers;
    await extractImage(image, rootfs, { idMap: parseIdMap(['0:100000:65536']), onProgress: (p: ExtractProgress) => void p.entries });
    const plan: LxcPlan = buildLxcConfig(image.config.config ?? {}, { capabilities: capabilitiesFor('5.0.2'), rootfs });
    return renderLxcConfig(plan, 'lxc') + String(head + layers.length);
  } catch (err) {
    if (err instanceof OciImageError || err instanceof ExtractError) return err.code;
    throw err;
  } finally {
    await archive.close();
  }
}
export const run: (argv: string[]) => Promise<number> = main;
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', skipLibCheck: false, types: ['node'], typeRoots: [join(root, 'node_modules/@types')] },
        files: ['example.ts'],
      }),
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    expect(() => sh(process.execPath, [tsc, '-p', 'tsconfig.json'], project)).not.toThrow();
    // And the same example as CommonJS resolution (the require/types conditions).
    writeFileSync(join(project, 'tsconfig.cjs.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' }, files: ['example.cts'] }));
    writeFileSync(join(project, 'example.cts'), `import { openImageArchive } from '@oci2lxc/oci-tar-image';\nimport { buildLxcConfig } from '@oci2lxc/lxc-config';\nexport const fns = [openImageArchive, buildLxcConfig];\n`);
    expect(() => sh(process.execPath, [tsc, '-p', 'tsconfig.cjs.json'], project)).not.toThrow();
  });

  it('the installed oci2lxc binary runs', () => {
    expect(sh(join(project, 'node_modules/.bin/oci2lxc'), ['--version'], project).trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(sh(join(project, 'node_modules/.bin/lxc-oci2lxc'), ['--help'], project)).toContain('lxc-create');
  });
});
