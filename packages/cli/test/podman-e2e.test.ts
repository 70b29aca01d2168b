// The whole user journey with archives made by real tools: `podman build` an application image
// (FROM scratch: busybox + a recorder entrypoint), `podman save` it in both formats, then
// `oci2lxc create` + real `lxc-start`/`lxc-stop`, and compare what PID 1 saw with the image.
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { podman, tempDir } from '@oci2lxc/fixtures';
import { isRoot, runCli } from './run-cli.js';
import { recorderScript, startAndRecord } from './recorder.js';

const available = ['podman', 'lxc-start'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0) && existsSync('/bin/busybox');
const tmp = tempDir('oci2lxc-podman-e2e-');
const lxcpath = join(tmp.path, 'lxc');
const started: string[] = [];
afterAll(() => {
  for (const name of started) spawnSync('lxc-stop', ['-n', name, '-P', lxcpath, '-k']);
  tmp.cleanup();
});

const entrypoint = ['/usr/local/bin/record', 'a b', '', '$HOME', "it's", '"q"', 'tab\there'];
const cmd = ['--x=1  2', '*'];

function buildImage(): { oci: string; docker: string } {
  const ctx = join(tmp.path, 'ctx');
  const rootfs = join(ctx, 'rootfs');
  for (const d of ['bin', 'etc', 'usr/local/bin', 'out', 'srv/app']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  symlinkSync('busybox', join(rootfs, 'bin/sh'));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/srv/app:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
  writeFileSync(join(rootfs, 'usr/local/bin/record'), recorderScript, { mode: 0o755 });
  const json = (v: unknown) => JSON.stringify(v);
  writeFileSync(
    join(ctx, 'Containerfile'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      'RUN ["/bin/busybox", "chmod", "0777", "/out"]',
      `ENTRYPOINT ${json(entrypoint)}`,
      `CMD ${json(cmd)}`,
      'ENV SPACED="a  b" EMPTY= QUOTES="it\'s \\"q\\""',
      'WORKDIR /srv/app',
      'USER app',
      'STOPSIGNAL SIGUSR1',
      '',
    ].join('\n'),
  );
  const root = join(tmp.path, 'podman');
  podman(root, ['build', '-q', '--isolation', 'chroot', '-t', 'localhost/recorder:1', ctx]);
  const oci = join(tmp.path, 'podman-oci.tar');
  const docker = join(tmp.path, 'podman-docker.tar');
  podman(root, ['save', '-q', '--format', 'oci-archive', '-o', oci, 'localhost/recorder:1']);
  podman(root, ['save', '-q', '--format', 'docker-archive', '-o', docker, 'localhost/recorder:1']);
  return { oci, docker };
}

describe.skipIf(!isRoot || !available)('podman build → podman save → oci2lxc create → lxc-start', () => {
  const archives = available && isRoot ? buildImage() : { oci: '', docker: '' };

  it.each(['oci', 'docker'] as const)('a podman %s archive runs exactly as the image says', (kind) => {
    const archive = archives[kind];
    const name = `podman-${kind}`;
    const inspect = JSON.parse(runCli(['inspect', archive, '--json']).stdout) as { image: { refs: string[]; config: { Entrypoint: string[] } } };
    expect(inspect.image.config.Entrypoint).toEqual(entrypoint);
    expect(inspect.image.refs.join(' ')).toMatch(/recorder/);
    const r = runCli(['create', name, archive, '--lxcpath', lxcpath, '--network', 'empty', '-q']);
    expect(r.status, r.stderr).toBe(0);
    started.push(name);
    const seen = startAndRecord(name, lxcpath, tmp.path);
    expect(seen.argv).toEqual(['/bin/sh', ...entrypoint, ...cmd]);
    expect([...seen.env].sort()).toEqual(['EMPTY=', 'HOME=/srv/app', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `QUOTES=it's "q"`, 'SPACED=a  b', 'container=lxc'].sort());
    expect(seen.cwd).toBe('/srv/app');
    expect([seen.uid, seen.gid]).toEqual(['1000', '1000']);
    expect(seen.signal).toBe('USR1');
  });
});
