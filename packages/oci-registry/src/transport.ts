// HTTP for the registry client, on undici (Node's own HTTP stack, as a package: Node 20 does not
// expose its bundled copy, and we need its Agent options and EnvHttpProxyAgent): the system CA
// store, HTTPS_PROXY/NO_PROXY, redirects followed by hand so that the Authorization header never
// leaves the origin it was meant for, retries with backoff on 5xx and dropped connections, and
// 429 honoured through Retry-After.
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import { eachChunk } from './chunks.js';
import { RegistryError } from './errors.js';

// undici is loaded on first use, not on import, and only the parts used: its index also loads
// fetch, web streams, WebSocket, caches… (~150 ms of start-up and ~8 MiB of memory more than the
// dispatchers and `request`), which every pull, warm or cold, would pay for nothing.
interface UndiciParts {
  Agent: typeof Undici.Agent;
  EnvHttpProxyAgent: typeof Undici.EnvHttpProxyAgent;
  buildConnector: typeof Undici.buildConnector;
  request: (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
}
let undiciParts: UndiciParts | undefined;
function undici(): UndiciParts {
  if (!undiciParts) {
    const load = createRequire(import.meta.url);
    try {
      const api = load('undici/lib/api/index.js') as { request: UndiciParts['request'] };
      // What undici's index does: request(), connect()… on every dispatcher (ProxyAgent needs connect).
      Object.assign((load('undici/lib/dispatcher/dispatcher.js') as { prototype: object }).prototype, api);
      undiciParts = {
        Agent: load('undici/lib/dispatcher/agent.js') as typeof Undici.Agent,
        EnvHttpProxyAgent: load('undici/lib/dispatcher/env-http-proxy-agent.js') as typeof Undici.EnvHttpProxyAgent,
        buildConnector: load('undici/lib/core/connect.js') as typeof Undici.buildConnector,
        request: api.request,
      };
    } catch {
      // Another undici whose files moved (these are internal paths): its index, slower to load.
      const u = load('undici') as typeof Undici;
      undiciParts = { Agent: u.Agent, EnvHttpProxyAgent: u.EnvHttpProxyAgent, buildConnector: u.buildConnector, request: u.Dispatcher.prototype.request as UndiciParts['request'] };
    }
  }
  return undiciParts;
}

/** A response as the client reads it: undici's `request` answer, with fetch-like accessors. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: HttpBody;
}

/** The body's chunks (Buffers); `cancel` discards the rest (the connection is reused when it is short). */
export interface HttpBody extends AsyncIterable<Buffer> {
  cancel(): Promise<void>;
}

function httpResponse(data: Dispatcher.ResponseData): HttpResponse {
  const raw = data.headers;
  const body = data.body;
  return {
    status: data.statusCode,
    headers: {
      get(name: string): string | null {
        const v = raw[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    body: {
      [Symbol.asyncIterator]: () => eachChunk(body),
      cancel: async () => {
        // dump(): reads a short rest so that the connection can be reused, else destroys it.
        await body.dump().catch(() => undefined);
      },
    },
  };
}

export interface TransportOptions {
  /** Attempts after the first for 5xx, 429 and dropped connections (default 4). */
  retries?: number;
  /** First backoff delay; doubled per attempt, with jitter (default 500 ms). */
  retryBaseMs?: number;
  /** A 429 whose Retry-After asks for longer than this ends in RATE_LIMITED (default 60 s). */
  maxRetryAfterMs?: number;
  /** Redirects followed per request (default 5). */
  maxRedirects?: number;
  /** PEM bundle of trusted CAs; default: the system store (/etc/ssl/certs), else Node's. */
  ca?: string;
  /** A dispatcher of your own (tests, custom TLS); replaces the proxy and CA handling. */
  dispatcher?: Dispatcher;
  /**
   * Registries (`host` or `host:port`) whose HTTPS certificate is not verified (as Docker's
   * insecure registries; the client also allows them plain HTTP). Never applied to other hosts,
   * such as a token server or a blob redirect target.
   */
  insecureRegistries?: readonly string[];
  userAgent?: string;
  signal?: AbortSignal;
  /** Per-request timeout for the response headers and each body read (default 60 s). */
  timeoutMs?: number;
}

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem'];

/** The system's CA bundle (plus NODE_EXTRA_CA_CERTS), or undefined to keep Node's built-in store. */
export function systemCa(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const path of SYSTEM_BUNDLES) {
    try {
      let pem = readFileSync(path, 'utf8');
      if (env.NODE_EXTRA_CA_CERTS) pem += `\n${readFileSync(env.NODE_EXTRA_CA_CERTS, 'utf8')}`;
      return pem;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

function hasProxyEnv(env: NodeJS.ProcessEnv): boolean {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((k) => (env[k] ?? '') !== '');
}

/**
 * A connector that parses the CA bundle once, and only when a TLS connection is made: a `ca`
 * string in the connect options is parsed again for every connection (~140 certificates, tens of
 * ms each time), and a registry on plain HTTP needs none of it.
 */
function lazyTlsConnector(ca: string | undefined): Undici.buildConnector.connector {
  let plain: Undici.buildConnector.connector | undefined;
  let secure: Undici.buildConnector.connector | undefined;
  return (opts, callback) => {
    if (opts.protocol === 'https:') {
      secure ??= undici().buildConnector(ca !== undefined ? { secureContext: createSecureContext({ ca }) } : {});
      return secure(opts, callback);
    }
    plain ??= undici().buildConnector({});
    return plain(opts, callback);
  };
}

export function makeDispatcher(options: Pick<TransportOptions, 'ca' | 'timeoutMs'>, env: NodeJS.ProcessEnv = process.env): Dispatcher {
  const ca = options.ca ?? systemCa(env);
  const timeout = options.timeoutMs ?? 60_000;
  if (!hasProxyEnv(env)) return new (undici().Agent)({ headersTimeout: timeout, bodyTimeout: timeout, connect: lazyTlsConnector(ca) });
  const common = { headersTimeout: timeout, bodyTimeout: timeout, connect: ca !== undefined ? { ca } : {} };
  // EnvHttpProxyAgent matches NO_PROXY per request; the variables are passed from `env` (either case).
  const pick = (name: string): string | undefined => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;
  const httpProxy = pick('http_proxy');
  const httpsProxy = pick('https_proxy');
  return new (undici().EnvHttpProxyAgent)({
    ...common,
    ...(httpProxy !== undefined ? { httpProxy } : {}),
    ...(httpsProxy !== undefined ? { httpsProxy } : {}),
    noProxy: pick('no_proxy') ?? '',
  });
}

export interface SendOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Sent only to the origin of the first URL, never to a redirect target elsewhere. */
  authorization?: string | undefined;
  /** What the request is about, for errors (a reference or digest). */
  subject: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUS = new Set([500, 502, 503, 504]);

function isAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (err instanceof Error && err.name === 'AbortError');
}

/** Seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export function describeNetworkError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 4 && e instanceof Error; i++) {
    const code = (e as NodeJS.ErrnoException).code;
    parts.push(code ? `${e.message} (${code})` : e.message);
    e = e.cause;
  }
  return [...new Set(parts)].join(': ');
}

/**
 * The TLS verification failure behind `err` (Node's/OpenSSL's code, e.g.
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID), or undefined. Not retried: a
 * certificate does not become trusted by asking again.
 */
export function certificateErrorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 6 && e instanceof Error; i++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH|ALTNAME/.test(code)) return code;
    e = e.cause;
  }
  return undefined;
}

/**
 * Whether `hostPort` (`host[:port]`, default 443) completes a TLS handshake. Decides between
 * HTTPS and plain HTTP for a loopback or insecure registry; the certificate is not looked at
 * here (no CA store is loaded): the requests that follow verify it, unless the registry is an
 * insecure one.
 */
export function speaksTls(hostPort: string, timeoutMs = 10_000): Promise<boolean> {
  const url = new URL(`https://${hostPort}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    // `ca: []`: an empty trust store, so that not even Node's built-in roots are parsed.
    const socket = tlsConnect({ host, port: Number(url.port || 443), servername: /^[\d.]+$|:/.test(host) ? '' : host, rejectUnauthorized: false, ca: [], ALPNProtocols: ['http/1.1'] });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** INSECURE_REGISTRY for a server whose certificate is not trusted, naming the host and the ways out. */
export function untrustedCertificate(host: string, subject: string, err: unknown): RegistryError {
  return new RegistryError(
    'INSECURE_REGISTRY',
    `${subject}: the TLS certificate of ${host} is not trusted (${describeNetworkError(err)}); add its CA to the system store or NODE_EXTRA_CA_CERTS, or, to skip verification, --insecure-registry ${host}`,
    { subject, cause: err },
  );
}

export class Transport {
  readonly dispatcher: Dispatcher;
  readonly retries: number;
  readonly #options: TransportOptions;
  readonly #ownDispatcher: boolean;
  readonly #insecureHosts: Set<string>;
  #unverified: Dispatcher | undefined;

  constructor(options: TransportOptions = {}) {
    this.#options = options;
    this.retries = options.retries ?? 4;
    this.#ownDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? makeDispatcher(options);
    this.#insecureHosts = new Set((options.insecureRegistries ?? []).flatMap((r) => [r, r === 'docker.io' ? 'registry-1.docker.io' : r]));
  }

  /** The dispatcher for `url`: one that skips certificate checks only for an insecure registry's HTTPS. */
  #dispatcherFor(url: URL): Dispatcher {
    if (url.protocol !== 'https:' || this.#options.dispatcher !== undefined) return this.dispatcher;
    if (!this.#insecureHosts.has(url.host) && !this.#insecureHosts.has(`${url.hostname}:443`)) return this.dispatcher;
    const timeout = this.#options.timeoutMs ?? 60_000;
    this.#unverified ??= new (undici().Agent)({ headersTimeout: timeout, bodyTimeout: timeout, connect: { rejectUnauthorized: false } });
    return this.#unverified;
  }

  get signal(): AbortSignal | undefined {
    return this.#options.signal;
  }

  /** Backoff before retry `attempt` (0-based): base·2^attempt, ±25 %. */
  backoff(attempt: number): number {
    const base = (this.#options.retryBaseMs ?? 500) * 2 ** attempt;
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  async wait(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, this.#options.signal ? { signal: this.#options.signal } : {});
    } catch {
      throw new RegistryError('ABORTED', 'aborted');
    }
  }

  /** One request, redirects followed (Authorization only to the first URL's origin). No retries. */
  async send(url: URL, o: SendOptions): Promise<HttpResponse> {
    const origin = url.origin;
    let current = url;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.#options.userAgent ?? 'oci2lxc', ...o.headers };
      if (o.authorization !== undefined && current.origin === origin) headers.authorization = o.authorization;
      // undici's `request`, not `fetch`: no web streams on the bytes' path, and no fetch to load.
      const res = httpResponse(
        await undici().request.call(this.#dispatcherFor(current), {
          origin: current.origin,
          path: `${current.pathname}${current.search}`,
          method: o.method ?? 'GET',
          headers,
          ...(this.#options.signal ? { signal: this.#options.signal } : {}),
        }),
      );
      const location = res.headers.get('location');
      if (!REDIRECTS.has(res.status) || location === null) return res;
      await res.body.cancel().catch(() => undefined);
      if (hop >= (this.#options.maxRedirects ?? 5)) {
        throw new RegistryError('BAD_REDIRECT', `${o.subject}: more than ${this.#options.maxRedirects ?? 5} redirects (last to ${location})`, { subject: o.subject });
      }
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new RegistryError('BAD_REDIRECT', `${o.subject}: redirect to an invalid URL ${JSON.stringify(location.slice(0, 200))}`, { subject: o.subject });
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new RegistryError('BAD_REDIRECT', `${o.subject}: redirect to unsupported URL scheme ${next.protocol}`, { subject: o.subject });
      }
      if (current.protocol === 'https:' && next.protocol === 'http:') {
        throw new RegistryError('BAD_REDIRECT', `${o.subject}: refusing a redirect from https to plain http (${next.origin})`, { subject: o.subject });
      }
      current = next;
    }
  }

  /**
   * `send` with retries: dropped connections and 500/502/503/504 are retried with backoff, 429
   * after its Retry-After (RATE_LIMITED when that is too long or the retries are used up).
   * Other statuses are returned as they are.
   */
  async request(url: URL, o: SendOptions): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.send(url, o);
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        if (isAbort(err, this.#options.signal)) throw new RegistryError('ABORTED', `${o.subject}: aborted`, { subject: o.subject, cause: err });
        if (certificateErrorCode(err) !== undefined) throw untrustedCertificate(url.host, o.subject, err);
        if (attempt < this.retries) {
          await this.wait(this.backoff(attempt));
          continue;
        }
        throw new RegistryError('NETWORK_ERROR', `${o.subject}: ${url.host}: ${describeNetworkError(err)} (after ${attempt + 1} attempts)`, { subject: o.subject, cause: err });
      }
      if (RETRY_STATUS.has(res.status) && attempt < this.retries) {
        await res.body.cancel().catch(() => undefined);
        await this.wait(this.backoff(attempt));
        continue;
      }
      if (res.status === 429) {
        const after = retryAfterMs(res.headers.get('retry-after'));
        const wait = after ?? this.backoff(attempt);
        const max = this.#options.maxRetryAfterMs ?? 60_000;
        if (attempt < this.retries && wait <= max) {
          await res.body.cancel().catch(() => undefined);
          await this.wait(wait);
          continue;
        }
        await res.body.cancel().catch(() => undefined);
        const limit = res.headers.get('ratelimit-limit');
        const remaining = res.headers.get('ratelimit-remaining');
        const detail = [
          limit !== null ? `limit ${limit}` : '',
          remaining !== null ? `remaining ${remaining}` : '',
          after !== undefined ? `retry after ${Math.ceil(after / 1000)}s` : '',
        ].filter((s) => s !== '');
        throw new RegistryError(
          'RATE_LIMITED',
          `${o.subject}: ${url.host} says too many requests (HTTP 429${detail.length > 0 ? `: ${detail.join(', ')}` : ''})${attempt >= this.retries ? ` after ${attempt + 1} attempts` : `; not waiting more than ${Math.round(max / 1000)}s`}`,
          { subject: o.subject, status: 429 },
        );
      }
      return res;
    }
  }

  async close(): Promise<void> {
    if (this.#ownDispatcher) await this.dispatcher.close().catch(() => undefined);
    await this.#unverified?.close().catch(() => undefined);
  }
}

/** Reads a body up to `max` bytes; more is an error built by `tooLarge`. */
export async function readCapped(res: HttpResponse, max: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > max) {
    await res.body.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    n += chunk.length;
    if (n > max) {
      await res.body.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The registry's own error text (`{"errors":[{"code","message"}]}`), short, for messages. */
export async function registryErrorText(res: HttpResponse): Promise<string> {
  try {
    const body = await readCapped(res, 16 * 1024, () => new Error('too large'));
    const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const e = doc.errors?.[0];
    if (e && (typeof e.code === 'string' || typeof e.message === 'string')) return [e.code, e.message].filter((x) => typeof x === 'string').join(': ').slice(0, 300);
  } catch {
    // not JSON: no detail
  }
  return '';
}
