// docker run's documented semantics (docs.docker.com/reference/cli/docker/container/run/ and
// /engine/containers/run/#default-command-and-options), written down as expected values.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { applyOverrides, LxcConfigError, parseCpus, parseMemory, type ImageConfig, type RuntimeConfig } from '../src/index.js';

const image: RuntimeConfig = {
  Entrypoint: ['/entry', 'e1'],
  Cmd: ['c1', 'c2'],
  Env: ['PATH=/bin', 'A=image', 'B=image'],
  WorkingDir: '/srv',
  User: 'app',
  StopSignal: 'SIGUSR1',
};

describe('applyOverrides', () => {
  it('no options: the image config unchanged (a copy)', () => {
    const out = applyOverrides(image, {});
    expect(out).toEqual(image);
    expect(out).not.toBe(image);
  });

  it('trailing arguments replace Cmd and keep the Entrypoint', () => {
    expect(applyOverrides(image, { cmd: ['x', 'y'] })).toMatchObject({ Entrypoint: ['/entry', 'e1'], Cmd: ['x', 'y'] });
  });

  it('--entrypoint replaces Entrypoint and clears the image Cmd; arguments become the new Cmd', () => {
    expect(applyOverrides(image, { entrypoint: '/bin/sh' })).toMatchObject({ Entrypoint: ['/bin/sh'], Cmd: null });
    expect(applyOverrides(image, { entrypoint: '/bin/sh', cmd: ['-c', 'true'] })).toMatchObject({ Entrypoint: ['/bin/sh'], Cmd: ['-c', 'true'] });
    expect(applyOverrides(image, { entrypoint: '', cmd: ['/bin/true'] })).toMatchObject({ Entrypoint: null, Cmd: ['/bin/true'] });
  });

  it('-e replaces a variable in place, appends new ones, and a bare name removes it', () => {
    expect(applyOverrides(image, { env: ['A=new', 'C=c', 'B', 'C=c2'] }).Env).toEqual(['PATH=/bin', 'A=new', 'C=c2']);
    expect(() => applyOverrides(image, { env: ['=x'] })).toThrow(LxcConfigError);
  });

  it('-u, -w, --stop-signal replace the image values', () => {
    expect(applyOverrides(image, { user: '0:0', workdir: '/tmp', stopSignal: 'SIGINT' })).toMatchObject({ User: '0:0', WorkingDir: '/tmp', StopSignal: 'SIGINT' });
    expect(() => applyOverrides(image, { workdir: 'rel' })).toThrow(LxcConfigError);
  });
});

describe('limits', () => {
  it('--memory in Docker units, at least 6m', () => {
    expect(parseMemory('512m')).toBe(512 * 1024 * 1024);
    expect(parseMemory('1G')).toBe(1024 ** 3);
    expect(parseMemory('7000000')).toBe(7_000_000);
    for (const bad of ['1k', '', '5m', '1.5g', '1t', '-1g', '1g\n']) expect(() => parseMemory(bad), bad).toThrow(LxcConfigError);
  });

  it('--cpus as a cgroup2 cpu.max quota over a 100 ms period', () => {
    expect(parseCpus('1.5')).toBe('150000 100000');
    expect(parseCpus('0.5')).toBe('50000 100000');
    for (const bad of ['0', '-1', 'x', '1e3', '', '1 2']) expect(() => parseCpus(bad), bad).toThrow(LxcConfigError);
  });
});

it('ImageConfig, the old name of RuntimeConfig, is kept as an alias for one release', () => {
  expectTypeOf<ImageConfig>().toEqualTypeOf<RuntimeConfig>();
  const legacy: ImageConfig = image;
  expect(applyOverrides(legacy, { cmd: ['x'] }).Cmd).toEqual(['x']);
});
