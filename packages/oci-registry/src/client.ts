// A client for one repository of one registry (OCI Distribution spec, pull side): manifests by
// content negotiation, blobs as resumable streams, auth renewed on 401.
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { MediaTypes, validateDigest, verifyChunks, type Descriptor } from '@oci2lxc/oci-tar-image';
import { Authenticator } from './auth.js';
import { lookupCredentials, type Credentials } from './auth-config.js';
import { RegistryError } from './errors.js';
import { formatReference, isLoopback, registryHost, type ImageReference } from './reference.js';
import { describeNetworkError, readCapped, registryErrorText, speaksTls, Transport, type HttpResponse, type TransportOptions } from './transport.js';

/** Manifests larger than this are refused unread (as containerd and Distribution do). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** What we ask for: OCI and Docker schema 2, index and manifest. Never schema 1. */
export const MANIFEST_ACCEPT = [MediaTypes.ociIndex, MediaTypes.ociManifest, MediaTypes.dockerManifestList, MediaTypes.dockerManifest].join(', ');

export interface RegistryClientOptions extends TransportOptions {
  /** Credentials to use instead of looking them up in the auth files. */
  credentials?: Credentials;
  /** Auth files to search (default: `defaultAuthFiles()`). */
  authFiles?: readonly string[];
  /** Manifest size limit (default 4 MiB). */
  maxManifestSize?: number;
  /** A transport to share between clients (its options win over the ones here). */
  transport?: Transport;
}

export interface FetchedManifest {
  bytes: Buffer;
  /** The verified digest of `bytes`. */
  digest: string;
  /** From the document's `mediaType`, else the Content-Type, else its shape. */
  mediaType: string;
  /** The parsed JSON (still unchecked beyond being an object). */
  value: Record<string, unknown>;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class RepositoryClient {
  readonly ref: ImageReference;
  readonly transport: Transport;
  /** Blob bytes received from the network so far (manifests not counted). */
  blobBytes = 0;
  readonly #options: RegistryClientOptions;
  readonly #auth: Authenticator;
  readonly #ownTransport: boolean;
  #base: Promise<URL> | undefined;

  constructor(ref: ImageReference, options: RegistryClientOptions = {}) {
    this.ref = ref;
    this.#options = options;
    this.#ownTransport = options.transport === undefined;
    this.transport = options.transport ?? new Transport(options);
    this.#auth = new Authenticator({
      transport: this.transport,
      registry: ref.registry,
      repository: ref.repository,
      credentials: async () => options.credentials ?? (await lookupCredentials(ref.registry, ref.repository, options.authFiles)),
      insecureAllowed: this.#plainHttpAllowed(),
    });
  }

  #plainHttpAllowed(): boolean {
    const r = this.ref.registry;
    const list = this.#options.insecureRegistries ?? [];
    return this.ref.plainHttp || list.includes(r) || list.includes(registryHost(r));
  }

  /** `scheme://host/v2/<repository>/`; a loopback registry that does not speak TLS is used over HTTP. */
  base(): Promise<URL> {
    this.#base ??= (async () => {
      const host = registryHost(this.ref.registry);
      const path = `/v2/${this.ref.repository}/`;
      if (this.ref.plainHttp) return new URL(`http://${host}${path}`);
      const https = new URL(`https://${host}${path}`);
      const insecure = this.#plainHttpAllowed();
      if (!insecure && !isLoopback(host)) return https;
      // Docker's rule for loopback (and insecure) registries: HTTPS when the server speaks TLS,
      // else plain HTTP. The certificate of one that speaks TLS is checked by the requests (an
      // untrusted one is INSECURE_REGISTRY, not a reason to drop to plain HTTP), except for an
      // insecure registry's.
      return (await speaksTls(host)) ? https : new URL(`http://${host}${path}`);
    })();
    return this.#base;
  }

  /** GET with the current auth; a 401 is answered once per new challenge. Status errors mapped. */
  async get(path: string, o: { subject: string; headers?: Record<string, string>; what: string; ok?: readonly number[] }): Promise<HttpResponse> {
    const url = new URL(path, await this.base());
    let answered = 0;
    for (;;) {
      let res: HttpResponse;
      try {
        res = await this.transport.request(url, { subject: o.subject, authorization: this.#auth.header, ...(o.headers ? { headers: o.headers } : {}) });
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'NETWORK_ERROR' && url.protocol === 'https:' && /SSL|TLS|certificate|EPROTO/i.test(err.message)) {
          throw new RegistryError(
            'INSECURE_REGISTRY',
            `${err.message}; if ${this.ref.registry} really serves plain HTTP or an untrusted certificate, allow it with --insecure-registry ${this.ref.registry}`,
            { subject: o.subject, cause: err },
          );
        }
        throw err;
      }
      if (res.status === 401 && answered < 2) {
        await res.body.cancel().catch(() => undefined);
        answered++;
        if (await this.#auth.answer(res.headers.get('www-authenticate'), o.subject)) continue;
        throw await this.#auth.refused(o.subject);
      }
      if ((o.ok ?? [200]).includes(res.status)) return res;
      const detail = await registryErrorText(res);
      const tail = detail ? `: ${detail}` : '';
      if (res.status === 401) throw await this.#auth.refused(o.subject);
      if (res.status === 403) throw new RegistryError('DENIED', `${o.subject}: ${this.ref.registry} denies access to the ${o.what} (HTTP 403)${tail}`, { subject: o.subject, status: 403 });
      if (res.status === 404) throw new RegistryError('NOT_FOUND', `${o.subject}: ${this.ref.registry} has no such ${o.what} (HTTP 404)${tail}`, { subject: o.subject, status: 404 });
      throw new RegistryError('HTTP_ERROR', `${o.subject}: ${this.ref.registry} answered HTTP ${res.status} for the ${o.what}${tail}`, { subject: o.subject, status: res.status });
    }
  }

  /**
   * A manifest or index by tag or digest, verified: by digest, its bytes must hash to it; by
   * tag, to the Docker-Content-Digest the registry sends, when it sends one.
   */
  async fetchManifest(tagOrDigest: string, subject = formatReference(this.ref)): Promise<FetchedManifest> {
    const max = this.#options.maxManifestSize ?? MAX_MANIFEST_SIZE;
    const res = await this.get(`manifests/${encodeURIComponent(tagOrDigest).replace(/%3A/g, ':')}`, { subject, what: `manifest ${tagOrDigest}`, headers: { accept: MANIFEST_ACCEPT } });
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const bytes = await readCapped(res, max, () => new RegistryError('MANIFEST_TOO_LARGE', `${subject}: manifest ${tagOrDigest} is larger than the ${max} bytes allowed`, { subject: tagOrDigest }));
    if (SCHEMA1_TYPES.has(contentType)) throw schema1(subject);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new RegistryError('INVALID_MANIFEST', `${subject}: manifest ${tagOrDigest} is not valid JSON`, { subject: tagOrDigest, cause: err });
    }
    if (!isObj(value)) throw new RegistryError('INVALID_MANIFEST', `${subject}: manifest ${tagOrDigest} is not a JSON object`, { subject: tagOrDigest });
    if (value.schemaVersion === 1) throw schema1(subject);
    let digest: string;
    if (tagOrDigest.includes(':')) {
      const { algorithm } = validateDigest(tagOrDigest);
      digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
      if (digest !== tagOrDigest) throw new RegistryError('DIGEST_MISMATCH', `${subject}: manifest ${tagOrDigest} has digest ${digest}`, { subject: tagOrDigest });
    } else {
      digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const claimed = res.headers.get('docker-content-digest');
      if (claimed !== null && claimed.startsWith('sha256:') && claimed !== digest) {
        throw new RegistryError('DIGEST_MISMATCH', `${subject}: manifest of tag ${tagOrDigest} has digest ${digest}, the registry says ${claimed}`, { subject: claimed });
      }
    }
    const declared = typeof value.mediaType === 'string' && value.mediaType !== '' ? value.mediaType : undefined;
    const mediaType = declared ?? (contentType !== '' && contentType !== 'application/json' ? contentType : Array.isArray(value.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest);
    return { bytes, digest, mediaType, value };
  }

  /**
   * The bytes of a blob, as they arrive. A connection that drops (or a body that ends early) is
   * resumed with `Range: bytes=N-`, up to the transport's retry count. No verification here:
   * see `blobStream`.
   */
  async *blobChunks(digest: string, size: number, subject: string): AsyncGenerator<Buffer> {
    validateDigest(digest, subject);
    let offset = 0;
    let failures = 0;
    for (;;) {
      const resume = offset > 0;
      const res = await this.get(`blobs/${digest}`, { subject, what: `blob ${digest}`, ok: [200, 206], ...(resume ? { headers: { range: `bytes=${offset}-` } } : {}) });
      let skip = 0;
      if (resume && res.status === 200) skip = offset; // the server ignored Range: drop what we have
      else if (resume) {
        const range = res.headers.get('content-range') ?? '';
        if (!range.startsWith(`bytes ${offset}-`)) {
          await res.body.cancel().catch(() => undefined);
          throw new RegistryError('HTTP_ERROR', `${subject}: blob ${digest}: resumed at byte ${offset}, the registry sent range ${JSON.stringify(range)}`, { subject: digest, status: 206 });
        }
      }
      let error: unknown;
      try {
        for await (let chunk of res.body) {
          if (skip > 0) {
            const n = Math.min(skip, chunk.length);
            skip -= n;
            chunk = chunk.subarray(n);
            if (chunk.length === 0) continue;
          }
          offset += chunk.length;
          this.blobBytes += chunk.length;
          yield chunk;
        }
      } catch (err) {
        if (this.transport.signal?.aborted) throw new RegistryError('ABORTED', `${subject}: aborted`, { subject: digest, cause: err });
        error = err;
      }
      if (error === undefined && offset >= size) return;
      // Dropped or cut short: resume where we are.
      if (failures >= this.transport.retries) {
        if (error !== undefined) {
          throw new RegistryError('NETWORK_ERROR', `${subject}: blob ${digest} broke off at byte ${offset} of ${size}: ${describeNetworkError(error)} (after ${failures + 1} attempts)`, {
            subject: digest,
            cause: error,
          });
        }
        return; // ended early every time: the verifier reports the size
      }
      await this.transport.wait(this.transport.backoff(failures));
      failures++;
    }
  }

  /**
   * A blob's chunks as they arrive, verified: the generator throws (DIGEST_MISMATCH /
   * SIZE_MISMATCH) instead of ending when the bytes are wrong. No stream in between: every stage
   * a chunk passes costs a little on the path of the layer being extracted.
   */
  blobStream(d: Pick<Descriptor, 'digest' | 'size'>, what: string): AsyncGenerator<Buffer> {
    const { algorithm } = validateDigest(d.digest, what);
    const subject = formatReference(this.ref);
    return verifyChunks(this.blobChunks(d.digest, d.size, subject), { digest: d.digest, algorithm, size: d.size, what, archivePath: subject });
  }

  /** `blobStream` as a Readable. */
  openBlob(d: Pick<Descriptor, 'digest' | 'size'>, what: string): Readable {
    return Readable.from(this.blobStream(d, what), { objectMode: false, highWaterMark: 1 << 20 });
  }

  /** A small blob (a config) in memory, verified; larger than `max` is refused unread. */
  async fetchBlob(d: Pick<Descriptor, 'digest' | 'size'>, what: string, max: number): Promise<Buffer> {
    if (d.size > max) {
      throw new RegistryError('BLOB_TOO_LARGE', `${formatReference(this.ref)}: ${what} ${d.digest} is ${d.size} bytes, more than the ${max} allowed`, { subject: d.digest });
    }
    const chunks: Buffer[] = [];
    for await (const c of this.blobStream(d, what)) chunks.push(c);
    return Buffer.concat(chunks);
  }

  async close(): Promise<void> {
    if (this.#ownTransport) await this.transport.close();
  }
}

function schema1(subject: string): RegistryError {
  return new RegistryError(
    'UNSUPPORTED_SCHEMA1',
    `${subject}: the registry offers only a Docker schema 1 manifest (deprecated since 2017, not content-addressed); push the image again with a current tool`,
    { subject },
  );
}
