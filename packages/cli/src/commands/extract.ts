import { resolve } from 'node:path';
import { formatPlatform } from '@oci2lxc/oci-tar-image';
import { extractImage, parseIdMap, type IdMap } from '@oci2lxc/oci-extract';
import { commonOptions, parse, positionals, selectOptions } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { registryHelp, registryOptions, selectionOf, withImage } from '../image-source.js';
import { ProgressReporter } from '../progress.js';
import type { Command, Io } from '../command.js';

export const extractHelp = `Usage: oci2lxc extract <archive> <rootfs> [--platform P] [--ref NAME] [--idmap container:host:count]... [--json]

Applies the layers of the selected image into <rootfs>, which must be absent or empty. Every
layer is read once: its compressed digest and its diff_id are verified while it is applied, and
whiteouts, ownership, modes, xattrs, links and devices follow the OCI image spec. On any failure
(or Ctrl-C) <rootfs> is left as it was found. Of several extractions into one <rootfs> at
once, exactly one writes; the others fail with DESTINATION_NOT_EMPTY and write nothing.

Options:
  --platform P       select the image for platform P (default: this host's)
  --ref NAME         select the image by name or tag
  --idmap C:H:N      map container ids C..C+N-1 to host ids H..H+N-1 (uids and gids; prefix
                     u: or g: for one of them); repeatable. Unprivileged Proxmox: 0:100000:65536
  --json             print one JSON document on stdout when done
  -q, --quiet        no progress on stderr
  -h, --help         this help

Examples:
  oci2lxc extract app.tar /var/lib/lxc/app/rootfs
  oci2lxc extract app.tar ./rootfs --idmap 0:100000:65536 --platform linux/arm64

${registryHelp}`;

export function idMapFrom(command: string, specs: string[] | undefined): IdMap | undefined {
  if (!specs || specs.length === 0) return undefined;
  try {
    return parseIdMap(specs);
  } catch (err) {
    throw new UsageError(`--idmap: ${err instanceof Error ? err.message : String(err)}`, command);
  }
}

export const extract: Command = {
  name: 'extract',
  summary: 'apply the image layers into a root filesystem directory',
  help: extractHelp,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals: pos } = parse('extract', argv, { ...commonOptions, ...selectOptions, ...registryOptions, idmap: { type: 'string', multiple: true } });
    if (values.help) {
      io.stdout.write(`${extractHelp}\n`);
      return 0;
    }
    const [archivePath, rootfsArg] = positionals('extract', pos, ['archive', 'rootfs']) as [string, string];
    const idMap = idMapFrom('extract', values.idmap);
    const rootfs = resolve(rootfsArg);
    const result = await withImage(archivePath, { ...selectionOf(values), signal: io.signal }, async (image) => {
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
};

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
