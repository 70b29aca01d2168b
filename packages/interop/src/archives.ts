// The same image, written as archives by different real tools: an OCI layout tarred as is,
// skopeo's oci-archive (gzip or zstd), docker-archive, an uncompressed layout, and podman save.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { podman } from '@oci2lxc/fixtures';
import { run, skopeo } from './tools.js';

export interface ArchiveCase {
  /** A short name for test titles. */
  name: string;
  /** The archive file. */
  path: string;
  format: 'oci-layout' | 'docker-archive';
  /** skopeo transport string for the archive (for `skopeo inspect`). */
  skopeoRef: string;
}

/** `tar -C layout -cf out .`: the layout directory as it is, names starting with `./`. */
export function tarLayout(layout: string, out: string): ArchiveCase {
  run('tar', ['-C', layout, '-cf', out, '.']);
  return { name: 'layout tarred with GNU tar', path: out, format: 'oci-layout', skopeoRef: `oci-archive:${out}` };
}

/** skopeo copy to `oci-archive:` with the source's compression (gzip) or recompressed with zstd. */
export function skopeoOciArchive(srcRef: string, out: string, compression: 'keep' | 'zstd' = 'keep'): ArchiveCase {
  const extra = compression === 'zstd' ? ['--dest-compress', '--dest-compress-format', 'zstd'] : [];
  skopeo(['copy', '--quiet', ...extra, srcRef, `oci-archive:${out}:latest`]);
  return { name: compression === 'zstd' ? 'skopeo oci-archive (zstd)' : 'skopeo oci-archive (gzip)', path: out, format: 'oci-layout', skopeoRef: `oci-archive:${out}` };
}

/** skopeo copy to `docker-archive:path:name:tag` (layers stored uncompressed, as docker save does). */
export function skopeoDockerArchive(srcRef: string, out: string, name = 'interop/demo:1.0'): ArchiveCase {
  skopeo(['copy', '--quiet', srcRef, `docker-archive:${out}:${name}`]);
  return { name: 'skopeo docker-archive', path: out, format: 'docker-archive', skopeoRef: `docker-archive:${out}` };
}

/** skopeo copy --dest-decompress to an `oci:` directory, then tar it: uncompressed layers. */
export function skopeoUncompressedLayout(srcRef: string, work: string, out: string): ArchiveCase {
  const dir = join(work, 'uncompressed-layout');
  rmSync(dir, { recursive: true, force: true });
  skopeo(['copy', '--quiet', '--dest-decompress', srcRef, `oci:${dir}:latest`]);
  run('tar', ['-C', dir, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
  return { name: 'skopeo uncompressed layout, tarred', path: out, format: 'oci-layout', skopeoRef: `oci-archive:${out}` };
}

/** `podman load` an archive, then `podman save` it as an oci-archive and as a docker-archive. */
export function podmanSaves(podmanRoot: string, input: string, work: string): ArchiveCase[] {
  const loaded = podman(podmanRoot, ['load', '-q', '-i', input]);
  const name = /Loaded image(?:\(s\))?: (\S+)/.exec(loaded)?.[1];
  if (!name) throw new Error(`podman load printed no image name: ${loaded}`);
  const oci = join(work, 'podman-oci.tar');
  const docker = join(work, 'podman-docker.tar');
  podman(podmanRoot, ['save', '-q', '--format', 'oci-archive', '-o', oci, name]);
  podman(podmanRoot, ['save', '-q', '--format', 'docker-archive', '-o', docker, name]);
  return [
    { name: 'podman save --format oci-archive', path: oci, format: 'oci-layout', skopeoRef: `oci-archive:${oci}` },
    { name: 'podman save --format docker-archive', path: docker, format: 'docker-archive', skopeoRef: `docker-archive:${docker}` },
  ];
}
