#!/usr/bin/env node
// LXC template mode: `lxc-create -n NAME -t /path/to/lxc-oci2lxc -- --archive IMAGE.tar [options]`.
// lxc-create has already made <path>/config (default config) and an empty rootfs; the template
// fills the rootfs and appends the image's lines to the config, like LXC's own `oci` template.
// lxc-create holds <path>/partial (O_EXCL, F_OFD_SETLKW) while the template runs, and lxc-start
// refuses a container with a locked partial file; the template also takes oci2lxc's own claim on
// the name, so that an `oci2lxc create` of the same name fails at once instead of at its end.
import { appendFile, readFile } from 'node:fs/promises';
import { ConfigDocument } from '@oci2lxc/lxc-config';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Io } from './command.js';
import { claimContainer, type ContainerClaim } from './container-claim.js';
import { errorCode, errorLine } from './errors.js';
import { printable } from './format.js';
import { registryOptions, selectionOf, sourceName, withImage } from './image-source.js';
import { templateConfigDir } from './lxc-host.js';
import { planContainer, targetCapabilities } from './lxc-plan.js';
import { extractTo } from './commands/extract.js';
import { checkLxcVersion } from './commands/config.js';
import { version } from './version.js';
import { networkHelp, networkOptions, networkRequestFrom } from './network/options.js';
import { prepareNetwork } from './network/setup.js';
import { consoleLogLines } from './console-log.js';
import { UsageError } from './errors.js';
import { runHelp, runLines, runOptions, runRequestFrom, splitCommand, volumesWarning } from './run-options.js';

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
  let claim: ContainerClaim | undefined;
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
    const containerPath = resolve(v.path);
    const rootfs = resolve(v.rootfs ?? join(containerPath, 'rootfs'));
    const { caps } = await targetCapabilities(lxcVersion);
    // The container's own lines first: a value no config line can carry is refused before extraction.
    const configPath = join(containerPath, 'config');
    const existing = await readFile(configPath, 'utf8').catch(() => '');
    const doc = new ConfigDocument().blank().comment(`oci2lxc ${version} template: ${sourceName(v.archive)}`);
    const dir = templateConfigDir();
    if (dir && !existing.includes(`${dir}/common.conf`)) doc.entry('lxc.include', `${dir}/common.conf`);
    claim = await claimTemplateName(dirname(containerPath), v.name ?? basename(containerPath), io, !!v.quiet);
    const plan = await withImage(sourceName(v.archive), { ...selectionOf(v), signal: io.signal }, async (image) => {
      await extractTo(image, rootfs, io, { quiet: !!v.quiet });
      const p = await planContainer(image, { caps, flavor: 'lxc', rootfs, writeWrapper: true, plainEnvironment: !!v['lxc-environment'], overrides: run.overrides });
      const note = volumesWarning(image.config.config?.Volumes, run);
      if (note) p.warnings.push(note);
      return p;
    });
    const net = prepareNetwork({
      request: networkRequest,
      baseLines: existing.split('\n'),
      name: v.name ?? basename(containerPath),
      containerDir: containerPath,
      stagingDir: containerPath,
      rootfs,
      application: plan.json.console === true,
    });
    if (!v.quiet) for (const w of [...net.warnings, ...plan.warnings]) io.stderr.write(`lxc-oci2lxc: warning: ${printable(w)}\n`);
    // Later lines win in LXC: the host name, network, name files and console log.
    for (const l of [...net.lines, ...consoleLogLines(containerPath), ...runLines(run, rootfs)]) doc.entry(l.key, l.value, l.key);
    await appendFile(configPath, doc.append(plan.document).render('lxc'));
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`lxc-oci2lxc: error ${printable(errorCode(err) ?? 'INTERNAL')}: ${printable(errorLine(message))}\n`);
    return 1;
  } finally {
    await claim?.release();
  }
}

/**
 * The claim is an extra here: lxc-create's partial lock already keeps lxc-start and a second
 * lxc-create out. So a claim that cannot be taken (no perl, an lxcpath the template's user
 * namespace cannot write) is a warning; only a claim held by another oci2lxc run is an error.
 */
async function claimTemplateName(lxcpath: string, name: string, io: Io, quiet: boolean): Promise<ContainerClaim | undefined> {
  try {
    return await claimContainer(lxcpath, name, { sweep: false });
  } catch (err) {
    if (errorCode(err) === 'CONTAINER_BUSY') throw err;
    if (!quiet) io.stderr.write(`lxc-oci2lxc: warning: proceeding without oci2lxc's claim on '${printable(name)}': ${printable(err instanceof Error ? err.message : String(err))}\n`);
    return undefined;
  }
}

// Run when executed (not when imported by the CLI package's index).
const controller = new AbortController();
process.on('SIGINT', () => controller.abort(new Error('interrupted')));
runTemplate(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal }).then((code) => {
  process.exitCode = code;
});
