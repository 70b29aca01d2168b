import { resolve } from 'node:path';
import { formatPlatform } from '@oci2lxc/oci-tar-image';
import { formatReference, RegistryImage } from '@oci2lxc/oci-registry';
import { commonOptions, oneOf, selectOptions, type OptionSpec } from '../args.js';
import { writeImageArchive } from '../archive-writer.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { classifySource, registryOptions, selectionOf, withImage } from '../image-source.js';
import { defineCommand } from '../command.js';

const options = {
  output: { type: 'string', short: 'o', value: 'FILE', help: 'the archive to write (replaced if it exists)' },
  format: { type: 'string', value: 'F', help: 'oci (default) or docker' },
  platform: { ...selectOptions.platform, help: "the platform to pull from a multi-platform image (default: this host's)" },
  ...commonOptions,
  ...registryOptions,
} as const satisfies OptionSpec;

export const pull = defineCommand({
  name: 'pull',
  summary: 'download an image from a registry into an archive',
  text: {
    usage: 'oci2lxc pull <reference> -o <archive> [--format oci|docker] [--platform P]',
    about: `Downloads one image from its registry (no docker, podman or skopeo needed) and writes it as an
image archive: an OCI image layout tar (default; what 'skopeo copy … oci-archive:' writes, and a
Proxmox VE container template) or a Docker archive ('docker save' layout). Every blob is verified;
the archive appears only when complete.`,
    examples: [
      'oci2lxc pull nginx:1.27 -o nginx.tar',
      'oci2lxc pull ghcr.io/org/app@sha256:… -o app.tar --platform linux/arm64',
      'oci2lxc pull debian:12 -o /var/lib/vz/template/cache/debian-12-oci.tar',
    ],
  },
  options,
  args: ['reference'],
  async body({ values, args: { reference } }, io) {
    if (values.output === undefined) throw new UsageError('missing -o <archive>', 'pull');
    const format = oneOf('pull', 'format', values.format, ['oci', 'docker'] as const, 'oci');
    const source = classifySource(reference);
    if (source.kind !== 'registry') throw new UsageError(`'${reference}' is a file; pull takes an image reference (e.g. nginx:1.27)`, 'pull');
    const out = resolve(values.output);
    const started = Date.now();
    const summary = await withImage(reference, selectionOf(values), async (image, archive) => {
      if (!(image instanceof RegistryImage)) throw new UsageError(`'${reference}' is not a registry image`, 'pull');
      const name = formatReference({ ...source.reference, digest: undefined });
      await writeImageArchive(image, out, format, name, source.reference.tag);
      return {
        archive: out,
        format,
        reference: formatReference(source.reference),
        platform: formatPlatform(image.platform),
        manifestDigest: image.manifestDigest,
        layers: image.layers.length,
        bytes: image.layers.reduce((n, l) => n + l.size, 0),
        downloaded: archive.bytesRead,
      };
    });
    if (values.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (!values.quiet) {
      io.stderr.write(
        `wrote ${summary.archive} (${format}, ${summary.platform}, ${summary.layers} layer(s), ${formatBytes(summary.bytes)}; ${formatBytes(summary.downloaded)} downloaded) in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
      );
    }
    return 0;
  },
});
