// Image references as Docker normalises them (distribution/reference): `nginx` →
// `docker.io/library/nginx:latest`, `host:port/path:tag`, `name@sha256:…`, `docker://` accepted.
import { validateDigest } from '@oci2lxc/oci-tar-image';
import { RegistryError } from './errors.js';

export interface ImageReference {
  /** Registry host as written, normalised: `docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path: `library/nginx`. */
  readonly repository: string;
  /** The tag; `latest` when neither tag nor digest was given. Undefined for a digest-only reference. */
  readonly tag: string | undefined;
  /** `sha256:…` when pinned; a pinned reference is fetched by digest (the tag is then only a name). */
  readonly digest: string | undefined;
  /** True when the reference was written with `http://`: plain HTTP was asked for explicitly. */
  readonly plainHttp: boolean;
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const MAX_NAME = 255;

function invalid(input: string, why: string): RegistryError {
  return new RegistryError('INVALID_REFERENCE', `invalid image reference ${JSON.stringify(input.length > 300 ? `${input.slice(0, 300)}…` : input)}: ${why}`, {
    subject: input,
  });
}

/** Docker's rule: the first component is a registry when it has a `.` or `:`, or is `localhost`. */
function splitDomain(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  if (slash < 0 || (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first)) {
    return { registry: 'docker.io', repository: name };
  }
  return { registry: first === 'index.docker.io' ? 'docker.io' : first, repository: name.slice(slash + 1) };
}

/**
 * Parses and normalises an image reference. Throws `INVALID_REFERENCE` with the reason.
 * Accepted prefixes: `docker://` (skopeo's transport name) and `http://` (plain HTTP wanted).
 */
export function parseReference(input: string): ImageReference {
  let s = input.trim();
  let plainHttp = false;
  if (s.startsWith('docker://')) s = s.slice('docker://'.length);
  else if (s.startsWith('http://')) {
    s = s.slice('http://'.length);
    plainHttp = true;
  } else if (s.startsWith('https://')) s = s.slice('https://'.length);
  if (s === '') throw invalid(input, 'empty');
  let digest: string | undefined;
  const at = s.indexOf('@');
  if (at >= 0) {
    digest = s.slice(at + 1);
    s = s.slice(0, at);
    try {
      validateDigest(digest);
    } catch (err) {
      throw invalid(input, err instanceof Error ? err.message : String(err));
    }
  }
  let tag: string | undefined;
  const colon = s.lastIndexOf(':');
  if (colon > s.lastIndexOf('/')) {
    tag = s.slice(colon + 1);
    s = s.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `invalid tag ${JSON.stringify(tag)}`);
  }
  const { registry, repository: repo } = splitDomain(s);
  if (!DOMAIN.test(registry)) throw invalid(input, `invalid registry ${JSON.stringify(registry)}`);
  const repository = registry === 'docker.io' && !repo.includes('/') ? `library/${repo}` : repo;
  if (repository === '') throw invalid(input, 'no repository name');
  for (const c of repository.split('/')) {
    if (!PATH_COMPONENT.test(c)) {
      throw invalid(input, c.toLowerCase() !== c ? 'repository name must be lowercase' : `invalid repository path component ${JSON.stringify(c)}`);
    }
  }
  if (`${registry}/${repository}`.length > MAX_NAME) throw invalid(input, `repository name longer than ${MAX_NAME} characters`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return Object.freeze({ registry, repository, tag, digest, plainHttp });
}

/** `registry/repository[:tag][@digest]`, Docker's canonical (fully qualified) form. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The host to connect to: Docker Hub's API lives on registry-1.docker.io. */
export function registryHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

/** The host part of `host[:port]`, brackets of an IPv6 literal removed. */
export function hostname(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const colon = hostPort.lastIndexOf(':');
  return colon >= 0 ? hostPort.slice(0, colon) : hostPort;
}

/** localhost, 127.0.0.0/8 and ::1: registries there may use plain HTTP, as Docker allows. */
export function isLoopback(hostPort: string): boolean {
  const h = hostname(hostPort).toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
