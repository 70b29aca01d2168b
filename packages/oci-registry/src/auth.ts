// The registry auth handshake: a 401 names a scheme in WWW-Authenticate. Bearer: ask the token
// server (realm, service, scope) for a token, anonymously or with Basic credentials, as Docker
// Hub expects; Basic: send the credentials to the registry itself.
import { RegistryError } from './errors.js';
import type { Credentials } from './auth-config.js';
import { isLoopback } from './reference.js';
import { readCapped, registryErrorText, type Transport } from './transport.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (first challenge; quoted strings unescaped). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*,?/gy;
  const rest = m[2]!;
  re.lastIndex = 0;
  let p: RegExpExecArray | null;
  while (re.lastIndex < rest.length && (p = re.exec(rest)) !== null) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

const MAX_TOKEN_RESPONSE = 1024 * 1024;

export interface AuthContext {
  transport: Transport;
  /** The registry name as written in references (for credentials and messages). */
  registry: string;
  repository: string;
  /** Looked up once, on the first challenge. */
  credentials: () => Promise<Credentials | undefined>;
  /** True when plain-HTTP token realms may receive credentials (insecure or loopback registry). */
  insecureAllowed: boolean;
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

/** Holds the Authorization header for one repository and renews it on a challenge. */
export class Authenticator {
  readonly #ctx: AuthContext;
  #header: string | undefined;
  #creds: Promise<Credentials | undefined> | undefined;
  /** What the last challenge was answered with, for the UNAUTHORIZED message. */
  #used: 'anonymous' | 'credentials' = 'anonymous';

  constructor(ctx: AuthContext) {
    this.#ctx = ctx;
  }

  get header(): string | undefined {
    return this.#header;
  }

  #credentials(): Promise<Credentials | undefined> {
    this.#creds ??= this.#ctx.credentials();
    return this.#creds;
  }

  /** Answers a 401's challenge; false when there is nothing new to try. */
  async answer(wwwAuthenticate: string | null, subject: string): Promise<boolean> {
    const ch = wwwAuthenticate ? parseChallenge(wwwAuthenticate) : undefined;
    const creds = await this.#credentials();
    if (ch?.scheme === 'bearer') {
      const token = await this.#token(ch, creds, subject);
      const header = `Bearer ${token}`;
      if (header === this.#header) return false;
      this.#header = header;
      return true;
    }
    if (ch?.scheme === 'basic' || ch === undefined) {
      if (!creds) return false;
      const header = basic(creds);
      if (header === this.#header) return false;
      this.#header = header;
      this.#used = 'credentials';
      return true;
    }
    throw new RegistryError('UNAUTHORIZED', `${subject}: ${this.#ctx.registry} asks for unsupported auth scheme ${ch.scheme}`, { subject, status: 401 });
  }

  /** The error for a 401 that no (further) credentials can answer. */
  async refused(subject: string): Promise<RegistryError> {
    const creds = await this.#credentials();
    const who = creds ? `the credentials of '${creds.username}'` : undefined;
    const msg =
      this.#used === 'credentials' && who
        ? `${subject}: ${this.#ctx.registry} refused ${who} (HTTP 401); check them with 'podman login ${this.#ctx.registry}'`
        : `${subject}: ${this.#ctx.registry} needs credentials for ${this.#ctx.repository} (HTTP 401) and none were found; log in with 'podman login ${this.#ctx.registry}' or 'docker login ${this.#ctx.registry}', or the image does not exist`;
    return new RegistryError('UNAUTHORIZED', msg, { subject, status: 401 });
  }

  async #token(ch: Challenge, creds: Credentials | undefined, subject: string): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new RegistryError('UNAUTHORIZED', `${subject}: ${this.#ctx.registry} sent a Bearer challenge without a realm`, { subject, status: 401 });
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError('UNAUTHORIZED', `${subject}: ${this.#ctx.registry} names an invalid token realm ${JSON.stringify(realm.slice(0, 200))}`, { subject, status: 401 });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError('UNAUTHORIZED', `${subject}: token realm ${url.origin} is not http(s)`, { subject, status: 401 });
    }
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    url.searchParams.append('scope', ch.params.scope ?? `repository:${this.#ctx.repository}:pull`);
    let authorization: string | undefined;
    if (creds) {
      // Credentials over plain HTTP only where plain HTTP was allowed for the registry itself.
      if (url.protocol === 'http:' && !this.#ctx.insecureAllowed && !isLoopback(url.host)) {
        throw new RegistryError('INSECURE_REGISTRY', `${subject}: refusing to send credentials to the plain-HTTP token server ${url.origin}`, { subject });
      }
      authorization = basic(creds);
      this.#used = 'credentials';
    } else this.#used = 'anonymous';
    const res = await this.#ctx.transport.request(url, { subject, authorization });
    if (res.status === 401 || res.status === 403) {
      const detail = await registryErrorText(res);
      throw new RegistryError(
        'UNAUTHORIZED',
        `${subject}: token server ${url.origin} refused ${creds ? `the credentials of '${creds.username}'` : 'an anonymous token'} for ${this.#ctx.repository} (HTTP ${res.status})${detail ? `: ${detail}` : ''}`,
        { subject, status: res.status },
      );
    }
    if (res.status !== 200) {
      const detail = await registryErrorText(res);
      throw new RegistryError('HTTP_ERROR', `${subject}: token server ${url.origin} answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`, { subject, status: res.status });
    }
    const body = await readCapped(res, MAX_TOKEN_RESPONSE, () => new RegistryError('UNAUTHORIZED', `${subject}: token response from ${url.origin} is too large`, { subject }));
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw new RegistryError('UNAUTHORIZED', `${subject}: token response from ${url.origin} is not JSON`, { subject });
    }
    const o = (typeof doc === 'object' && doc !== null ? doc : {}) as { token?: unknown; access_token?: unknown };
    const token = typeof o.token === 'string' && o.token !== '' ? o.token : typeof o.access_token === 'string' ? o.access_token : '';
    // A token goes into a header: refuse anything that could split it.
    if (!/^[\x21-\x7e]+$/.test(token)) throw new RegistryError('UNAUTHORIZED', `${subject}: token response from ${url.origin} has no usable token`, { subject });
    return token;
  }
}
