// The public API on real archives and directories: createContainer's all-or-nothing rule and
// typed errors, the extract hook, planContainer's two flavours.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxLayer, tempDir, writeArchive } from '@oci2lxc/fixtures';
import { openImageArchive, type Image, type ImageArchive } from '@oci2lxc/oci-tar-image';
import { ContainerError, createContainer, parseNetwork, planContainer, validateContainerName, type RunRequest } from '../src/index.js';

const tmp = tempDir('lxc-container-api-');
let archive: ImageArchive;
let image: Image;
const run: RunRequest = { overrides: { env: ['A=1'] }, volumes: [], memory: 512 * 1024 * 1024, autostart: true };

beforeAll(async () => {
  const path = join(tmp.path, 'app.tar');
  writeArchive({ format: 'oci', images: [{ ref: 'app:1', config: { Entrypoint: ['/bin/sleep', '1000'], Env: ['PATH=/bin'] }, layers: [busyboxLayer()] }] }, path);
  archive = await openImageArchive(path);
  image = await archive.selectImage();
});
afterAll(async () => {
  await archive.close();
  tmp.cleanup();
});

describe('createContainer', () => {
  it('creates once; a second create of the name is CONTAINER_EXISTS and changes nothing', async () => {
    const lxcpath = join(tmp.path, 'lxc1');
    const r = await createContainer(image, { name: 'c', lxcpath, network: { type: 'empty' }, run, comment: 'made by a test' });
    expect(r.path).toBe(join(lxcpath, 'c'));
    const config = readFileSync(r.config, 'utf8');
    expect(config.split('\n')[0]).toBe('# made by a test');
    expect(config).toMatch(/^lxc\.cgroup2\.memory\.max = 536870912$/m);
    expect(config).toMatch(/^lxc\.net\.0\.type = empty$/m);
    const err = await createContainer(image, { name: 'c', lxcpath, network: { type: 'empty' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContainerError);
    expect((err as ContainerError).code).toBe('CONTAINER_EXISTS');
    expect(readFileSync(r.config, 'utf8')).toBe(config);
    expect(readdirSync(lxcpath)).toEqual(['c']);
  });

  it('a failing extract hook leaves nothing behind, and the hook sees the final rootfs path', async () => {
    const lxcpath = join(tmp.path, 'lxc2');
    let seen = '';
    const err = await createContainer(image, {
      name: 'c',
      lxcpath,
      network: { type: 'none' },
      extract: async (_image, rootfs, o) => {
        seen = o.finalRootfs;
        expect(existsSync(join(rootfs, '..'))).toBe(true);
        throw new Error('disk full');
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('disk full');
    expect(seen).toBe(join(lxcpath, 'c', 'rootfs'));
    expect(readdirSync(lxcpath)).toEqual([]);
  });

  it('an aborted signal removes the staging directory', async () => {
    const lxcpath = join(tmp.path, 'lxc3');
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(createContainer(image, { name: 'c', lxcpath, network: { type: 'none' }, signal: controller.signal })).rejects.toThrow();
    expect(readdirSync(lxcpath)).toEqual([]);
  });
});

describe('planContainer', () => {
  it('lxc: the image lines plus the run options; pve: pct.conf options', async () => {
    const lxc = await planContainer(image, { lxcVersion: '7.0', run });
    expect(lxc.target).toEqual({ lxcVersion: '7.0', assumed: false });
    expect(lxc.text).toMatch(/^lxc\.init\.cmd = \/bin\/sleep 1000$/m);
    expect(lxc.text).toMatch(/^lxc\.start\.auto = 1$/m);
    const pve = await planContainer(image, { flavor: 'pve', lxcVersion: '6.0.5', run });
    expect(pve.text).toMatch(/^memory: 512$/m);
    expect(pve.text).toMatch(/^onboot: 1$/m);
    expect(pve.json.flavor).toBe('pve');
  });
});

describe('names and networks', () => {
  it('refuses path-like names and parses the network spellings', () => {
    expect(validateContainerName('../x')).toBeDefined();
    expect(validateContainerName('web-1')).toBeUndefined();
    expect(parseNetwork('veth:br0')).toEqual({ type: 'veth', link: 'br0' });
    expect(parseNetwork('wifi')).toBeUndefined();
  });
});
