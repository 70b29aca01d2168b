#!/usr/bin/env node
// LXC template mode: `lxc-create -n NAME -t /path/to/lxc-oci2lxc -- --archive IMAGE.tar [options]`.
// lxc-create has already made <path>/config (default config) and an empty rootfs; the template
// fills the rootfs and appends the image's lines to the config (@oci2lxc/lxc-container's
// completeContainer). lxc-create holds <path>/partial (O_EXCL, F_OFD_SETLKW) while the template
// runs, and lxc-start refuses a container with a locked partial file.
import { completeContainer } from '@oci2lxc/lxc-container';
import { parseArgs } from 'node:util';
import type { Io } from './command.js';
import { errorCode, errorLine } from './errors.js';
import { printable } from './format.js';
import { registryOptions, selectionOf, sourceName, withImage } from './image-source.js';
import { extractTo } from './commands/extract.js';
import { checkLxcVersion } from './commands/config.js';
import { version } from './version.js';
import { networkHelp, networkOptions, networkRequestFrom } from './network/options.js';
import { UsageError } from './errors.js';
import { runHelp, runOptions, runRequestFrom, splitCommand } from './run-options.js';

export const templateHelp = `Usage: lxc-create -n NAME -t /path/to/lxc-oci2lxc -- --archive IMAGE.tar [options]

oci2lxc ${version} as an LXC template: fills the new container's rootfs from an OCI or Docker
image archive and appends the config that runs the image's entrypoint.

Template options (after --):
  --archive FILE      the image archive (docker save / podman save / skopeo copy output), or an
                      image reference pulled from its registry (nginx:1.27) [required]
  --cache DIR, --no-cache, --insecure-registry HOST   registry pulls, as for oci2lxc create
  --platform P        select the image for platform P (default: this host's)
  --ref NAME          select the image by name or tag
  --lxc-version X.Y   the target LXC version (default: this host's)
  --lxc-environment   environment in plain lxc.environment instead of the start wrapper
  -q, --quiet         no progress on stderr
${networkHelp}
${runHelp}

Passed by lxc-create: --path, --name, --rootfs, --mapped-uid, --mapped-gid.
To use it by name: ln -s "$(command -v lxc-oci2lxc)" /usr/share/lxc/templates/lxc-oci2lxc
and then: lxc-create -n NAME -t oci2lxc -- --archive IMAGE.tar

Examples:
  lxc-create -n web -t /usr/local/bin/lxc-oci2lxc -- --archive /srv/images/nginx.tar
  lxc-create -n app -t oci2lxc -- --archive app.tar --platform linux/arm64`;

export async function runTemplate(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: splitCommand(argv).options,
      allowPositionals: false,
      strict: true,
      options: {
        path: { type: 'string' },
        name: { type: 'string', short: 'n' },
        rootfs: { type: 'string' },
        'mapped-uid': { type: 'string' },
        'mapped-gid': { type: 'string' },
        archive: { type: 'string' },
        platform: { type: 'string' },
        ref: { type: 'string' },
        ...registryOptions,
        'lxc-version': { type: 'string' },
        'lxc-environment': { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
        ...networkOptions,
        ...runOptions,
      },
    });
  } catch (err) {
    io.stderr.write(`lxc-oci2lxc: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(`${templateHelp}\n`);
    return 0;
  }
  if (!v.path || !v.archive) {
    io.stderr.write(`lxc-oci2lxc: ${!v.archive ? '--archive IMAGE.tar is required (after -- on the lxc-create line)' : '--path is required (run me through lxc-create -t)'}\n`);
    return 2;
  }
  let networkRequest;
  let run;
  try {
    networkRequest = networkRequestFrom('template', v);
    run = runRequestFrom('template', v, splitCommand(argv).cmd);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`lxc-oci2lxc: ${err.message}\n`);
    return 2;
  }
  try {
    const lxcVersion = checkLxcVersion('template', v['lxc-version']);
    const quiet = !!v.quiet;
    await withImage(sourceName(v.archive), { ...selectionOf(v), signal: io.signal }, (image) =>
      completeContainer(image, {
        path: v.path!,
        ...(v.rootfs !== undefined ? { rootfs: v.rootfs } : {}),
        ...(v.name !== undefined ? { name: v.name } : {}),
        ...(lxcVersion !== undefined ? { lxcVersion } : {}),
        plainEnvironment: !!v['lxc-environment'],
        run,
        networkRequest,
        comment: `oci2lxc ${version} template: ${sourceName(v.archive!)}`,
        signal: io.signal,
        extract: (img, rootfs) => extractTo(img, rootfs, io, { quiet }),
        onWarning: (w) => {
          if (!quiet) io.stderr.write(`lxc-oci2lxc: warning: ${printable(w)}\n`);
        },
      }),
    );
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`lxc-oci2lxc: error ${printable(errorCode(err) ?? 'INTERNAL')}: ${printable(errorLine(message))}\n`);
    return 1;
  }
}

// Run when executed (not when imported by the CLI package's index).
const controller = new AbortController();
process.on('SIGINT', () => controller.abort(new Error('interrupted')));
runTemplate(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal }).then((code) => {
  process.exitCode = code;
});
