// The README opens with an example: it runs as written (against the built package, dist/, as a
// user's program would), with one substitution: the container directory is a temporary one, not
// /var/lib/lxc/web. With nginx's config and LXC 5.0.2 it must print what the README shows.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@oci2lxc/fixtures';
import { capabilitiesFor, detectCapabilities } from '../src/index.js';
import { busyboxRootfs } from './helpers.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
let work: { path: string; cleanup: () => void };

/** The first fenced block with that info string after `## Example` (fences read in order, so a
 * closing fence is never taken for an opening one). */
function block(info: string): string {
  let open: { info: string; lines: string[] } | undefined;
  for (const line of readme.slice(readme.indexOf('## Example')).split('\n')) {
    if (open) {
      if (line === '```') {
        if (open.info === info) return open.lines.join('\n');
        open = undefined;
      } else open.lines.push(line);
    } else if (line.startsWith('```')) open = { info: line.slice(3), lines: [] };
  }
  throw new Error(`README.md: no ${info || 'plain'} block after ## Example`);
}

// nginx:1.27's config, as the README's output shows it.
const nginx = {
  architecture: 'amd64',
  os: 'linux',
  config: {
    ExposedPorts: { '80/tcp': {} },
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NGINX_VERSION=1.27.0'],
    Entrypoint: ['/docker-entrypoint.sh'],
    Cmd: ['nginx', '-g', 'daemon off;'],
    Labels: { maintainer: 'NGINX Docker Maintainers <docker-maint@nginx.com>' },
    StopSignal: 'SIGQUIT',
  },
  rootfs: { type: 'layers', diff_ids: [] },
};

beforeAll(() => {
  work = tempDir('lxc-config-readme-');
  const scope = join(work.path, 'node_modules', '@oci2lxc');
  mkdirSync(scope, { recursive: true });
  symlinkSync(pkg, join(scope, 'lxc-config')); // a user's project with the package installed
  busyboxRootfs(join(work.path, 'web', 'rootfs'));
  writeFileSync(join(work.path, 'config.json'), JSON.stringify(nginx));
});
afterAll(() => work.cleanup());

describe('the README example', () => {
  it('writes the config and the wrapper the README shows', async () => {
    const caps = await detectCapabilities();
    // The README's output is for LXC 5.0.2 (what Debian 12 and this project's CI install).
    expect(caps.lxcVersion).toBe(capabilitiesFor('5.0.2').lxcVersion);
    const code = block('ts');
    expect(code).toContain('/var/lib/lxc/web/');
    writeFileSync(join(work.path, 'example.mjs'), code.replaceAll('/var/lib/lxc/web/', `${join(work.path, 'web')}/`));
    execFileSync(process.execPath, [join(work.path, 'example.mjs')], { cwd: work.path, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    expect(readFileSync(join(work.path, 'web', 'config'), 'utf8').trim()).toBe(block('').trim());
    expect(readFileSync(join(work.path, 'web', 'rootfs', '.oci2lxc', 'init'), 'utf8').trim()).toBe(block('sh').trim());
  });
});
