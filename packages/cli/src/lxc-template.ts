#!/usr/bin/env node
// LXC template mode: `lxc-create -n NAME -t /path/to/lxc-oci2lxc -- --archive IMAGE.tar [options]`.
// lxc-create has already made <path>/config (default config) and an empty rootfs; the template
// fills the rootfs and appends the image's lines to the config, like LXC's own `oci` template.
import { appendFile, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Io } from './command.js';
import { errorCode } from './errors.js';
import { printable } from './format.js';
import { registryOptions, selectionOf, sourceName, withImage } from './image-source.js';
import { templateConfigDir } from './lxc-host.js';
import { planContainer, targetCapabilities } from './lxc-plan.js';
import { extractTo } from './commands/extract.js';
import { checkLxcVersion } from './commands/config.js';
import { version } from './version.js';

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
      args: argv,
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
  try {
    const lxcVersion = checkLxcVersion('template', v['lxc-version']);
    const containerPath = resolve(v.path);
    const rootfs = resolve(v.rootfs ?? join(containerPath, 'rootfs'));
    const { caps } = await targetCapabilities(lxcVersion);
    const plan = await withImage(sourceName(v.archive), selectionOf(v), async (image) => {
      await extractTo(image, rootfs, io, { quiet: !!v.quiet });
      return planContainer(image, { caps, flavor: 'lxc', rootfs, writeWrapper: true, plainEnvironment: !!v['lxc-environment'] });
    });
    const configPath = join(containerPath, 'config');
    const existing = await readFile(configPath, 'utf8').catch(() => '');
    const extra: string[] = [`# oci2lxc ${version} template: ${sourceName(v.archive)}`];
    const dir = templateConfigDir();
    if (dir && !existing.includes(`${dir}/common.conf`)) extra.push(`lxc.include = ${dir}/common.conf`);
    if (v.name && !/^\s*lxc\.uts\.name\s*=/m.test(existing)) extra.push(`lxc.uts.name = ${v.name}`);
    await appendFile(configPath, `\n${extra.join('\n')}\n${plan.text}`);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`lxc-oci2lxc: error ${printable(errorCode(err) ?? 'INTERNAL')}: ${printable(message.replace(/\s*\n\s*/g, '; '))}\n`);
    return 1;
  }
}

// Run when executed (not when imported by the CLI package's index).
const controller = new AbortController();
process.on('SIGINT', () => controller.abort(new Error('interrupted')));
runTemplate(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal }).then((code) => {
  process.exitCode = code;
});
