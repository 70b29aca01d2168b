// Writes a pulled image as an archive: an OCI image layout tar (what `skopeo copy … oci-archive:`
// writes) or a Docker archive (`docker save` before Docker 25: manifest.json + <hex>.json +
// <hex>.tar). Written to a temp file next to the target and renamed into place once complete.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pack as tarPack, type Pack } from 'tar-stream';
import { MediaTypes, type Image } from '@oci2lxc/oci-tar-image';

export type ArchiveKind = 'oci' | 'docker';

/** The bytes of the image's manifest and config, as stored (a RegistryImage has them). */
export interface ImageBytes {
  manifestBytes: Buffer;
  manifestMediaType: string;
  configBytes: Buffer;
}

const MTIME = new Date(0);

function addBuffer(pack: Pack, name: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => pack.entry({ name, size: data.length, mode: 0o644, mtime: MTIME }, data, (err) => (err ? reject(err) : resolve())));
}

async function addStream(pack: Pack, name: string, size: number, source: Readable): Promise<void> {
  const entry = pack.entry({ name, size, mode: 0o644, mtime: MTIME });
  await pipeline(source, entry);
}

const hexOf = (digest: string): string => digest.slice(digest.indexOf(':') + 1);
const blobName = (digest: string): string => `blobs/${digest.replace(':', '/')}`;

/**
 * Writes `image` to `out` as an archive of `kind`. `name` is the full reference
 * (`docker.io/library/nginx:1.27`); `tag` its tag, for the OCI ref annotation.
 */
export async function writeImageArchive(image: Image & ImageBytes, out: string, kind: ArchiveKind, name: string, tag: string | undefined): Promise<void> {
  const temp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.part`);
  const pack = tarPack();
  const file = createWriteStream(temp, { flags: 'wx', mode: 0o644 });
  const written = pipeline(pack, file);
  try {
    if (kind === 'oci') {
      await addBuffer(pack, 'oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      const annotations: Record<string, string> = { 'io.containerd.image.name': name };
      if (tag !== undefined) annotations['org.opencontainers.image.ref.name'] = tag;
      const index = {
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [{ mediaType: image.manifestMediaType, digest: image.manifestDigest, size: image.manifestBytes.length, annotations }],
      };
      await addBuffer(pack, 'index.json', Buffer.from(JSON.stringify(index)));
      await addBuffer(pack, blobName(image.manifestDigest), image.manifestBytes);
      await addBuffer(pack, blobName(image.configDigest), image.configBytes);
      const seen = new Set<string>();
      for (const layer of image.layers) {
        if (seen.has(layer.digest)) continue;
        seen.add(layer.digest);
        await addStream(pack, blobName(layer.digest), layer.size, image.openLayer(layer.index));
      }
    } else {
      // Layers stay as stored (compressed): oci2lxc, skopeo and docker load recognise them.
      const layers: string[] = [];
      const seen = new Set<string>();
      await addBuffer(pack, `${hexOf(image.configDigest)}.json`, image.configBytes);
      for (const layer of image.layers) {
        const entry = `${hexOf(layer.digest)}.tar`;
        layers.push(entry);
        if (seen.has(entry)) continue;
        seen.add(entry);
        await addStream(pack, entry, layer.size, image.openLayer(layer.index));
      }
      const manifest = [{ Config: `${hexOf(image.configDigest)}.json`, RepoTags: tag !== undefined ? [name.replace(/@.*$/, '')] : [], Layers: layers }];
      await addBuffer(pack, 'manifest.json', Buffer.from(JSON.stringify(manifest)));
    }
    pack.finalize();
    await written;
    await rename(temp, out);
  } catch (err) {
    pack.destroy();
    await written.catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}
