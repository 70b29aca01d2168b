// The README opens with an example: it runs as written (against the built package, dist/, as a
// user's program would), with two substitutions: the archive and the lxcpath are temporary ones.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxLayer, tempDir, writeArchive } from '@oci2lxc/fixtures';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
let work: { path: string; cleanup: () => void };

function exampleCode(): string {
  const m = /## Example\n\n```ts\n([\s\S]*?)\n```/.exec(readme);
  if (!m) throw new Error('README.md: no ts block right after ## Example');
  return m[1]!;
}

beforeAll(() => {
  work = tempDir('lxc-container-readme-');
  const scope = join(work.path, 'node_modules', '@oci2lxc');
  mkdirSync(scope, { recursive: true });
  // A user's project with the packages installed.
  symlinkSync(pkg, join(scope, 'lxc-container'));
  symlinkSync(join(pkg, '..', 'oci-tar-image'), join(scope, 'oci-tar-image'));
  writeArchive({ format: 'oci', images: [{ ref: 'app:1', config: { Entrypoint: ['/bin/sleep'], Cmd: ['1000'], Env: ['PATH=/bin'], StopSignal: 'SIGTERM' }, layers: [busyboxLayer()] }] }, join(work.path, 'app.tar'));
});
afterAll(() => work.cleanup());

describe('the README example', () => {
  it('creates the container the README describes', () => {
    const code = exampleCode();
    expect(code).toContain("'/var/lib/lxc'");
    const lxcpath = join(work.path, 'lxc');
    const program = join(work.path, 'example.mjs');
    writeFileSync(program, code.replace("'/var/lib/lxc'", JSON.stringify(lxcpath)));
    const out = execFileSync(process.execPath, [program], { cwd: work.path, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    expect(out.trim()).toBe(`created ${join(lxcpath, 'web')}: lxc-start -n web`);
    const config = readFileSync(join(lxcpath, 'web', 'config'), 'utf8');
    for (const line of [
      `lxc.rootfs.path = dir:${join(lxcpath, 'web', 'rootfs')}`,
      'lxc.net.0.type = veth',
      'lxc.net.0.link = lxcbr0',
      `lxc.hook.start-host = ${join(lxcpath, 'web', 'oci2lxc', 'dhcp-hook')} start eth0`,
      'lxc.start.auto = 1',
      // LXC 5.0 (this CI) has no lxc.environment.runtime: the start wrapper sets the environment.
      'lxc.init.cmd = /.oci2lxc/init',
      'lxc.signal.halt = SIGTERM',
    ]) {
      expect(config.split('\n')).toContain(line);
    }
    expect(readFileSync(join(lxcpath, 'web', 'rootfs', '.oci2lxc', 'init'), 'utf8')).toMatch(/'GREETING=hello' .*'\/bin\/sleep' '1000'$/m);
    expect(readFileSync(join(lxcpath, 'web', 'rootfs', 'bin', 'busybox')).length).toBeGreaterThan(0);
    // Nothing but the container: the claim and the staging directory are gone.
    expect(readdirSync(lxcpath)).toEqual(['web']);
  });
});
