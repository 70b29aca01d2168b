// The README opens with an example: it runs as written (against the built package, dist/, as a
// user's program would), with two substitutions only: the image is a fixture archive named nginx.tar in
// the working directory, and the rootfs is under a temporary directory, not /var/lib/lxc.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { file, tempDir, writeArchive } from '@oci2lxc/fixtures';

const pkg = fileURLToPath(new URL('..', import.meta.url));
let work: { path: string; cleanup: () => void };

/** The first ```ts block after `## Example`. */
function example(): string {
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const m = /## Example\n+```ts\n([\s\S]*?)\n```/.exec(readme);
  if (!m) throw new Error('README.md has no ## Example ts block');
  return m[1]!;
}

beforeAll(() => {
  work = tempDir('oci-extract-readme-');
  // A user's project: both packages installed (linked to this one and its oci-tar-image).
  const scope = join(work.path, 'node_modules', '@oci2lxc');
  mkdirSync(scope, { recursive: true });
  symlinkSync(pkg, join(scope, 'oci-extract'));
  symlinkSync(join(pkg, 'node_modules', '@oci2lxc', 'oci-tar-image'), join(scope, 'oci-tar-image'));
  writeArchive({ images: [{ platform: { os: 'linux', architecture: 'amd64' }, layers: [[file('etc/nginx/nginx.conf', 'events {}\n'), file('index.html', 'hi\n')], [file('index.html', 'hello\n')]] }] }, join(work.path, 'nginx.tar'));
});
afterAll(() => work.cleanup());

describe('the README example', () => {
  it('extracts the image and prints the entry count', () => {
    const rootfs = join(work.path, 'rootfs');
    const code = example();
    expect(code).toContain("'/var/lib/lxc/web/rootfs'");
    const script = join(work.path, 'example.mjs');
    writeFileSync(script, code.replace("'/var/lib/lxc/web/rootfs'", JSON.stringify(rootfs)));
    const stdout = execFileSync(process.execPath, [script], { cwd: work.path, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    expect(stdout.trim()).toBe('3 entries');
    expect(readFileSync(join(rootfs, 'index.html'), 'utf8')).toBe('hello\n');
  });
});
