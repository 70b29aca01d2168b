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

describe('oci2lxc inspect: archive text cannot forge output lines', () => {
  const forged = 'Manifest:  sha256:forged';
  const hostile = {
    Entrypoint: ['/bin/app', `x\n${forged}`],
    Cmd: [`\r${forged}`],
    Env: [`A=1\n${forged}`],
    WorkingDir: `/srv\n${forged}`,
    User: `u\u2028${forged}`,
    Labels: { [`k\n${forged}`]: `v\n${forged}\x1b[2J` },
    ExposedPorts: { [`80/tcp\n${forged}`]: {} },
  };
  const path = join(tmp.path, 'forge.tar');
  writeArchive({ images: [{ layers: [[file('x', 'x')]], config: hostile, ref: `app:1\n${forged}` }] }, path);
  const benignPath = join(tmp.path, 'benign.tar');
  const benign = { ...hostile, Entrypoint: ['/bin/app', 'x'], Cmd: ['y'], Env: ['A=1'], WorkingDir: '/srv', User: 'u', Labels: { k: 'v' }, ExposedPorts: { '80/tcp': {} } };
  writeArchive({ images: [{ layers: [[file('x', 'x')]], config: benign, ref: 'app:1' }] }, benignPath);

  it('text mode: one output line per logical line, the hostile text escaped', () => {
    const r = runCli(['inspect', path, '--ref', `app:1\n${forged}`]);
    expect(r.status, r.stderr).toBe(0);
    const b = runCli(['inspect', benignPath]);
    expect(r.stdout.split('\n')).toHaveLength(b.stdout.split('\n').length);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('Manifest:'))).toHaveLength(1);
    expect(r.stdout).toContain(`app:1\\n${forged}`);
    expect(r.stdout).toContain(`\\u2028${forged}`);
    expect(r.stdout).not.toMatch(/[\r\x1b\u2028]/);
  });

  it('--json stays exact', () => {
    const r = runCli(['inspect', path, '--ref', `app:1\n${forged}`, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { image: { refs: string[]; config: Record<string, unknown> } };
    expect(doc.image.refs).toEqual([`app:1\n${forged}`]);
    expect(doc.image.config).toEqual(hostile);
  });
});

describe('oci2lxc inspect: moby StrSlice', () => {
  it('shows Entrypoint/Cmd given as one string', () => {
    const path = join(tmp.path, 'strslice.tar');
    writeArchive({ images: [{ layers: [[file('x', 'x')]], config: { Entrypoint: '/bin/app' as unknown as string[], Cmd: 'a b' as unknown as string[] }, ref: 'app:1' }] }, path);
    const r = runCli(['inspect', path, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { image: { config: Record<string, unknown> } };
    expect(doc.image.config).toMatchObject({ Entrypoint: '/bin/app', Cmd: 'a b' });
    expect(runCli(['inspect', path]).stdout).toMatch(/^ {2}Cmd: {10}a b$/m);
  });
});
