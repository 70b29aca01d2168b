import { resolve } from 'node:path';
import { commonOptions, selectOptions, type OptionSpec } from '../args.js';
import { createContainer, defaultLxcPath, parseNetwork, validateContainerName, type ExtractLayers } from '@oci2lxc/lxc-container';
import { UsageError } from '../errors.js';
import { printableLine } from '../format.js';
import { checkLxcVersion, targetOptions } from './config.js';
import { extractTo, idMapFrom } from './extract.js';
import { networkOptions, networkRequestFrom } from '../network/options.js';
import { runOptions, runRequestFrom } from '../run-options.js';
import { registryOptions, selectionOf, withImage } from '../image-source.js';
import { version } from '../version.js';
import { defineCommand } from '../command.js';

const options = {
  lxcpath: { type: 'string', short: 'P', value: 'DIR', help: 'where containers live (default: lxc-config lxc.lxcpath, e.g. /var/lib/lxc)' },
  network: {
    type: 'string',
    value: 'N',
    help: ['none (host network), empty (loopback only), veth or veth:BRIDGE', "(default: the network of the host's LXC default config)"],
  },
  idmap: {
    type: 'string',
    multiple: true,
    value: 'C:H:N',
    help: ['unprivileged container: map ids C..C+N-1 to host H..H+N-1 (files are', 'chowned, lxc.idmap lines written); repeatable, u:/g: prefixes allowed'],
  },
  ...targetOptions,
  ...selectOptions,
  force: { type: 'boolean', short: 'f', help: 'replace an existing container of that name (it must be stopped)' },
  ...commonOptions,
  ...networkOptions,
  ...runOptions,
  ...registryOptions,
} as const satisfies OptionSpec;

export const create = defineCommand({
  name: 'create',
  summary: 'create a ready-to-start LXC container from an image archive',
  text: {
    usage:
      'oci2lxc create <name> <archive> [--lxcpath DIR] [--network none|empty|veth[:BRIDGE]] [--ip ADDR/PREFIX|dhcp|manual] [--gateway G] [--dns ADDR] [--hostname H] [-e K=V] [-v HOST:PATH[:ro]] [docker run options…] [--idmap C:H:N]... [--platform P] [--ref NAME] [--lxc-version X.Y] [--force] [-- CMD ARGS…]',
    about: `Creates the LXC container <name> from an image archive: <lxcpath>/<name>/rootfs holds the
extracted image and <lxcpath>/<name>/config runs the image's entrypoint with its argv, environment,
working directory, user and stop signal, so that 'lxc-start -n <name>' runs it as the image
intends. The base config is the host's LXC default config plus common.conf, as lxc-create writes
it; the hostname is <name>. A failed create leaves nothing behind.`,
    examples: [
      'oci2lxc create web nginx.tar && lxc-start -n web',
      'oci2lxc create app app.tar --lxcpath ~/containers --network empty && lxc-start -n app -P ~/containers -F',
      'oci2lxc create app app.tar --idmap 0:100000:65536 --force',
      'oci2lxc create db postgres.tar -e POSTGRES_PASSWORD=secret -v /srv/pg:/var/lib/postgresql/data --memory 1g',
      "oci2lxc create job app.tar --entrypoint /bin/sh -- -c 'echo hello'",
    ],
  },
  options,
  args: ['name', 'archive'],
  trailing: true,
  async body({ values, args: { name, archive: archivePath }, cmd }, io) {
    const nameProblem = validateContainerName(name);
    if (nameProblem) throw new UsageError(`invalid container name '${name}': ${nameProblem}`, 'create');
    const network = parseNetwork(values.network);
    if (!network) throw new UsageError(`--network must be none, empty, veth or veth:BRIDGE (got '${values.network}')`, 'create');
    const networkRequest = networkRequestFrom('create', values);
    const run = runRequestFrom('create', values, cmd);
    const idMap = idMapFrom('create', values.idmap);
    const lxcVersion = checkLxcVersion('create', values['lxc-version']);
    const lxcpath = resolve(values.lxcpath ?? (await defaultLxcPath()));
    const quiet = !!values.quiet;
    // Extraction with the progress display; every other warning and note as it happens.
    const extract: ExtractLayers = (image, rootfs, x) => extractTo(image, rootfs, io, { quiet, displayPath: x.finalRootfs, ...(x.idMap ? { idMap: x.idMap } : {}) });
    const result = await withImage(archivePath, { ...selectionOf(values), signal: io.signal }, (image) =>
      createContainer(image, {
        name,
        lxcpath,
        network,
        networkRequest,
        run,
        ...(idMap ? { idMap } : {}),
        ...(lxcVersion ? { lxcVersion } : {}),
        plainEnvironment: !!values['lxc-environment'],
        force: !!values.force,
        comment: `Created by oci2lxc ${version} from ${archivePath}`,
        signal: io.signal,
        extract,
        onWarning: (w) => {
          if (!quiet) io.stderr.write(`warning: ${printableLine(w)}\n`);
        },
        onNote: (n) => {
          if (!quiet) io.stderr.write(`note: ${printableLine(n)}\n`);
        },
      }),
    );
    if (values.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (!values.quiet) {
      const p = values.lxcpath !== undefined ? ` -P ${lxcpath}` : '';
      io.stderr.write(`created container '${name}' in ${result.path}\nstart it with: lxc-start -n ${name}${p}   (foreground: add -F)\n`);
    }
    return 0;
  },
});
