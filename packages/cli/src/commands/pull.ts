import { resolve } from 'node:path';
import { formatPlatform } from '@oci2lxc/oci-tar-image';
import { formatReference, RegistryImage } from '@oci2lxc/oci-registry';
import { commonOptions, oneOf, parse, positionals, selectOptions } from '../args.js';
import { writeImageArchive } from '../archive-writer.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { classifySource, registryHelp, registryOptions, selectionOf, withImage } from '../image-source.js';
import type { Command, Io } from '../command.js';

export const pullHelp = `Usage: oci2lxc pull <reference> -o <archive> [--format oci|docker] [--platform P]

Downloads one image from its registry (no docker, podman or skopeo needed) and writes it as an
image archive: an OCI image layout tar (default; what 'skopeo copy … oci-archive:' writes, and a
Proxmox VE container template) or a Docker archive ('docker save' layout). Every blob is verified;
the archive appears only when complete.

Options:
  -o, --output FILE   the archive to write (replaced if it exists)
  --format F          oci (default) or docker
  --platform P        the platform to pull from a multi-platform image (default: this host's)
  --json              print a JSON summary on stdout
  -q, --quiet         no notes on stderr
  -h, --help          this help

Examples:
  oci2lxc pull nginx:1.27 -o nginx.tar
  oci2lxc pull ghcr.io/org/app@sha256:… -o app.tar --platform linux/arm64
  oci2lxc pull debian:12 -o /var/lib/vz/template/cache/debian-12-oci.tar

${registryHelp}`;

export const pull: Command = {
  name: 'pull',
  summary: 'download an image from a registry into an archive',
  help: pullHelp,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals: pos } = parse('pull', argv, {
      ...commonOptions,
      platform: selectOptions.platform,
      ...registryOptions,
      output: { type: 'string', short: 'o' },
      format: { type: 'string' },
    });
    if (values.help) {
      io.stdout.write(`${pullHelp}\n`);
      return 0;
    }
    const [reference] = positionals('pull', pos, ['reference']) as [string];
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
};
