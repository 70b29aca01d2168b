#!/usr/bin/env -S node --
// LXC template mode: `lxc-create -n NAME -t /path/to/lxc-oci2lxc -- --archive IMAGE.tar [options]`.
// lxc-create has already made <path>/config (default config) and an empty rootfs; the template
// fills the rootfs and appends the image's lines to the config (@oci2lxc/lxc-container's
// completeContainer). lxc-create holds <path>/partial (O_EXCL, F_OFD_SETLKW) while the template
// runs, and lxc-start refuses a container with a locked partial file.
import { completeContainer } from '@oci2lxc/lxc-container';
import { parseArgs } from 'node:util';
import { parserOptions } from './args.js';
import type { Io } from './command.js';
import { errorCode, errorLine } from './errors.js';
import { printable } from './format.js';
import { selectionOf, sourceName, withImage } from './image-source.js';
import { extractTo } from './commands/extract.js';
import { checkLxcVersion } from './commands/config.js';
import { version } from './version.js';
import { networkRequestFrom } from './network/options.js';
import { UsageError } from './errors.js';
import { runRequestFrom, splitCommand } from './run-options.js';
import { templateHelp, templateOptions } from './template-options.js';
import { tuneV8 } from './v8-flags.js';

tuneV8();

export async function runTemplate(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: splitCommand(argv).options,
      allowPositionals: false,
      strict: true,
      options: parserOptions(templateOptions) as typeof templateOptions,
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
