import { describe, expect, it } from 'vitest';
import { formatReference, isLoopback, parseChallenge, parseReference, registryHost } from '../src/index.js';

describe('parseReference: Docker normalisation', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['library/nginx', 'docker.io/library/nginx:latest'],
    ['me/app', 'docker.io/me/app:latest'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest'],
    ['index.docker.io/me/app:2', 'docker.io/me/app:2'],
    ['docker://nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['ghcr.io/org/team/app:v1.2.3', 'ghcr.io/org/team/app:v1.2.3'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/a/b:t', '127.0.0.1:5000/a/b:t'],
    [`app@sha256:${'a'.repeat(64)}`, `docker.io/library/app@sha256:${'a'.repeat(64)}`],
    [`host:5000/app:1@sha256:${'b'.repeat(64)}`, `host:5000/app:1@sha256:${'b'.repeat(64)}`],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
  ])('%s → %s', (input, canonical) => {
    expect(formatReference(parseReference(input))).toBe(canonical);
  });

  it('splits registry, repository, tag and digest', () => {
    const r = parseReference(`reg.example:443/ns/app:1@sha256:${'c'.repeat(64)}`);
    expect(r).toMatchObject({ registry: 'reg.example:443', repository: 'ns/app', tag: '1', digest: `sha256:${'c'.repeat(64)}`, plainHttp: false });
    expect(parseReference('http://127.0.0.1:5000/x').plainHttp).toBe(true);
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('ghcr.io')).toBe('ghcr.io');
  });

  it.each([
    ['', 'empty'],
    ['Nginx', 'lowercase'],
    ['docker.io/Me/app', 'lowercase'],
    ['app:', 'tag'],
    ['app:-x', 'tag'],
    [`app:${'t'.repeat(129)}`, 'tag'],
    ['app@sha256:123', 'digest'],
    ['app@md5:d41d8cd98f00b204e9800998ecf8427e', 'algorithm'],
    ['a..b/c', 'registry'],
    ['a/b..c', 'repository'],
    ['host:5000/', 'repository'],
    ['-host.com/app', 'registry'],
    ['./app.tar', 'registry'],
    [`x/${'a'.repeat(260)}`, 'longer'],
  ])('refuses %j (%s)', (input, why) => {
    expect(() => parseReference(input)).toThrow(expect.objectContaining({ code: 'INVALID_REFERENCE', message: expect.stringContaining(why) }));
  });

  it('loopback hosts', () => {
    expect(isLoopback('127.0.0.1:5000')).toBe(true);
    expect(isLoopback('127.1.2.3')).toBe(true);
    expect(isLoopback('localhost:80')).toBe(true);
    expect(isLoopback('[::1]:5000')).toBe(true);
    expect(isLoopback('128.0.0.1:5000')).toBe(false);
    expect(isLoopback('registry-1.docker.io')).toBe(false);
  });
});

describe('parseChallenge', () => {
  it('reads Bearer and Basic challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' },
    });
    expect(parseChallenge('Basic realm="x \\"y\\""')).toEqual({ scheme: 'basic', params: { realm: 'x "y"' } });
    expect(parseChallenge('Bearer realm=https://a/b, service=s')).toEqual({ scheme: 'bearer', params: { realm: 'https://a/b', service: 's' } });
  });
});
