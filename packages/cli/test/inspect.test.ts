import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeArchive, file, dir, tempDir, flipByte, blobFilePath } from '@oci2lxc/fixtures';
import { runCli } from './run-cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const config = {
  Entrypoint: ['/bin/app', '--serve'],
  Cmd: ['a b', ''],
  Env: ['PATH=/usr/bin:/bin', 'X=1 2'],
  WorkingDir: '/srv',
  User: '1000:1000',
  StopSignal: 'SIGQUIT',
  ExposedPorts: { '80/tcp': {} },
  Volumes: { '/data': {} },
  Labels: { a: 'b' },
};

describe('oci2lxc inspect', () => {
  const oci = join(tmp.path, 'oci.tar');
  const built = writeArchive({ images: [{ layers: [[dir('srv'), file('srv/x', 'x')], [file('srv/y', 'y')]], config, ref: 'app:1.0' }] }, oci);
  const img = built.images[0]!;

  it('--json prints one document with the selected image, its layers and runtime config', () => {
    const r = runCli(['inspect', oci, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { format: string; images: unknown[]; image: { manifestDigest: string; configDigest: string; layers: { digest: string; diffId: string }[]; config: typeof config } };
    expect(doc.format).toBe('oci-layout');
    expect(doc.images).toHaveLength(1);
    expect(doc.image.manifestDigest).toBe(img.manifestDigest);
    expect(doc.image.configDigest).toBe(img.configDigest);
    expect(doc.image.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    expect(doc.image.layers.map((l) => l.diffId)).toEqual(img.layers.map((l) => l.diffId));
    expect(doc.image.config).toEqual(config);
  });

  it('prints a readable summary', () => {
    const r = runCli(['inspect', oci]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(img.manifestDigest);
    expect(r.stdout).toContain('StopSignal:   SIGQUIT');
    expect(r.stdout).toContain('Volumes:      /data');
    expect(r.stdout).toContain('X=1 2');
  });

  it('selects by ref and reports an unknown ref as exit 1 with its code', () => {
    expect(runCli(['inspect', oci, '--ref', 'app:1.0', '--json']).status).toBe(0);
    const r = runCli(['inspect', oci, '--ref', 'nope']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/NO_MATCHING_REF/);
    expect(r.stderr).toContain('app:1.0');
  });

  it('reports a corrupt config blob with DIGEST_MISMATCH naming the digest', () => {
    const bad = join(tmp.path, 'bad.tar');
    const b = writeArchive({ images: [{ layers: [[file('a', 'a')]], config }] }, bad, { mutate: (files, bb) => flipByte(files, blobFilePath(bb.images[0]!.configDigest), 5) });
    const r = runCli(['inspect', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/DIGEST_MISMATCH/);
    expect(r.stderr).toContain(b.images[0]!.configDigest);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reads Docker archives too', () => {
    const d = join(tmp.path, 'docker.tar');
    writeArchive({ format: 'docker-skopeo', images: [{ layers: [[file('a', 'a')]], config, ref: 'app:2' }] }, d);
    const r = runCli(['inspect', d, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { format: string; image: { refs: string[]; config: typeof config } };
    expect(doc.format).toBe('docker-archive');
    expect(doc.image.refs).toContain('app:2');
    expect(doc.image.config.Cmd).toEqual(['a b', '']);
  });
});
