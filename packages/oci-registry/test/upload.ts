// A test-only uploader over the Distribution push API (monolithic blob upload: POST then PUT with
// ?digest=, manifests PUT with their own Content-Type). skopeo converts or refuses some documents
// (a Docker-typed manifest list from an OCI layout); this pushes the bytes exactly as built, so the
// registry's acceptance is the interop check.
import type { BuiltArchive } from '@oci2lxc/fixtures';

const INDEX_TYPES = new Set(['application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.oci.image.index.v1+json']);
const MANIFEST_TYPES = new Set(['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.manifest.v1+json']);

async function check(res: Response, what: string, expected: number): Promise<void> {
  const body = await res.text();
  if (res.status !== expected) throw new Error(`${what}: HTTP ${res.status} (expected ${expected}): ${body.slice(0, 500)}`);
}

export async function putBlob(base: string, repo: string, digest: string, data: Buffer): Promise<void> {
  const head = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return;
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await check(start, `start upload of ${digest}`, 202);
  const location = new URL(start.headers.get('location') ?? '', base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) }, body: data });
  await check(put, `upload of ${digest}`, 201);
}

export async function putManifest(base: string, repo: string, reference: string, data: Buffer, mediaType: string): Promise<string> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${reference}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: data });
  await check(res, `manifest ${reference} (${mediaType})`, 201);
  return res.headers.get('docker-content-digest') ?? '';
}

/**
 * Pushes a built multi-platform archive (`multiPlatformRef`) under `repo:tag`: every non-manifest
 * blob, then each image manifest by digest, then the index (by digest and tag) with its own type.
 */
export async function pushBuilt(base: string, repo: string, tag: string, built: BuiltArchive): Promise<{ indexDigest: string; indexType: string }> {
  const blobs = new Map<string, Buffer>();
  for (const f of built.files) {
    const m = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(f.path);
    if (m && f.data) blobs.set(`${m[1]}:${m[2]}`, f.data);
  }
  const typeOf = (data: Buffer): string | undefined => {
    try {
      const t = (JSON.parse(data.toString('utf8')) as { mediaType?: unknown }).mediaType;
      return typeof t === 'string' ? t : undefined;
    } catch {
      return undefined;
    }
  };
  const manifests: [string, Buffer, string][] = [];
  const indexes: [string, Buffer, string][] = [];
  for (const [digest, data] of blobs) {
    const t = typeOf(data);
    if (t !== undefined && MANIFEST_TYPES.has(t)) manifests.push([digest, data, t]);
    else if (t !== undefined && INDEX_TYPES.has(t)) indexes.push([digest, data, t]);
    else await putBlob(base, repo, digest, data);
  }
  for (const [digest, data, t] of manifests) await putManifest(base, repo, digest, data, t);
  const top = built.indexDigest;
  if (top === undefined) throw new Error('pushBuilt: the archive has no multi-platform index');
  const index = indexes.find(([d]) => d === top);
  if (!index) throw new Error(`pushBuilt: index ${top} not among the blobs`);
  const stored = await putManifest(base, repo, tag, index[1], index[2]);
  if (stored !== top) throw new Error(`pushBuilt: the registry stored the index as ${stored}, built as ${top}`);
  return { indexDigest: top, indexType: index[2] };
}
