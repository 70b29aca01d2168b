import { resolve } from 'node:path';
import { formatPlatform } from '@oci2lxc/oci-tar-image';
import { extractImage, parseIdMap, type IdMap } from '@oci2lxc/oci-extract';
import { commonOptions, selectOptions, type OptionSpec } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { registryOptions, selectionOf, withImage } from '../image-source.js';
import { ProgressReporter } from '../progress.js';
import { defineCommand, type Io } from '../command.js';

const options = {
  ...selectOptions,
  idmap: {
    type: 'string',
    multiple: true,
    value: 'C:H:N',
    help: ['map container ids C..C+N-1 to host ids H..H+N-1 (uids and gids; prefix', 'u: or g: for one of them); repeatable. Unprivileged Proxmox: 0:100000:65536'],
  },
  ...registryOptions,
  ...commonOptions,
} as const satisfies OptionSpec;

export function idMapFrom(command: string, specs: string[] | undefined): IdMap | undefined {
  if (!specs || specs.length === 0) return undefined;
  try {
    return parseIdMap(specs);
  } catch (err) {
    throw new UsageError(`--idmap: ${err instanceof Error ? err.message : String(err)}`, command);
  }
}

export const extract = defineCommand({
  name: 'extract',
  summary: 'apply the image layers into a root filesystem directory',
  text: {
    usage: 'oci2lxc extract <archive> <rootfs> [--platform P] [--ref NAME] [--idmap container:host:count]... [--json]',
    about: `Applies the layers of the selected image into <rootfs>, which must be absent or empty. Every
layer is read once: its compressed digest and its diff_id are verified while it is applied, and
whiteouts, ownership, modes, xattrs, links and devices follow the OCI image spec. On any failure
(or Ctrl-C) <rootfs> is left as it was found. Of several extractions into one <rootfs> at
once, exactly one writes; the others fail with DESTINATION_NOT_EMPTY and write nothing.`,
    examples: ['oci2lxc extract app.tar /var/lib/lxc/app/rootfs', 'oci2lxc extract app.tar ./rootfs --idmap 0:100000:65536 --platform linux/arm64'],
  },
  options,
  args: ['archive', 'rootfs'],
  async body({ values, args }, io) {
    const idMap = idMapFrom('extract', values.idmap);
    const rootfs = resolve(args.rootfs);
    const result = await withImage(args.archive, { ...selectionOf(values), signal: io.signal }, async (image) => {
      const stats = await extractTo(image, rootfs, io, { quiet: !!values.quiet, ...(idMap ? { idMap } : {}) });
      return { image, stats };
    });
    const { image, stats } = result;
    if (values.json) {
      io.stdout.write(
        `${JSON.stringify(
          {
            rootfs,
            image: { refs: image.refs, platform: formatPlatform(image.platform), manifestDigest: image.manifestDigest, configDigest: image.configDigest },
            layers: image.layers.length,
            bytes: stats.bytes,
            entries: stats.entries,
            warnings: stats.warnings,
          },
          null,
          2,
        )}\n`,
      );
    }
    return 0;
  },
});

export interface ExtractStats {
  bytes: number;
  entries: number;
  warnings: string[];
}

/** Extracts with a progress display and warnings on stderr; shared by extract and create. */
export async function extractTo(
  image: Parameters<typeof extractImage>[0],
  rootfs: string,
  io: Io,
  opts: { quiet: boolean; idMap?: IdMap; displayPath?: string },
): Promise<ExtractStats> {
  const progress = new ProgressReporter(io.stderr, { quiet: opts.quiet });
  const warnings: string[] = [];
  const totalBytes = image.layers.reduce((a, l) => a + l.size, 0);
  const started = Date.now();
  const fromRegistry = image.archive.format === 'registry';
  const result = await extractImage(image, rootfs, {
    signal: io.signal,
    ...(opts.idMap ? { idMap: opts.idMap } : {}),
    onProgress: (p) => {
      progress.update({
        layer: p.layerIndex + 1,
        layers: p.layerCount,
        digest: p.layerDigest,
        bytes: p.bytesRead,
        totalBytes: p.bytesTotal || totalBytes,
        entries: p.entries,
        ...(fromRegistry ? { downloaded: image.archive.bytesRead } : {}),
      });
    },
    onWarning: (w) => {
      const text = w.message;
      warnings.push(text);
      if (!opts.quiet) io.stderr.write(`warning: ${text}\n`);
    },
  });
  const secs = (Date.now() - started) / 1000;
  const downloaded = fromRegistry ? ` (${formatBytes(image.archive.bytesRead)} downloaded, the rest from the cache)` : '';
  progress.finish(`extracted ${image.layers.length} layer(s), ${formatBytes(totalBytes)}${downloaded} into ${opts.displayPath ?? rootfs} in ${secs.toFixed(1)}s`);
  return { bytes: result.bytesRead, entries: result.entries, warnings };
}
