import { resolve } from 'node:path';
import { commonOptions, oneOf, selectOptions, type OptionSpec } from '../args.js';
import { planContainer } from '@oci2lxc/lxc-container';
import { UsageError } from '../errors.js';
import { registryOptions, selectionOf, withImage } from '../image-source.js';
import { printableLine } from '../format.js';
import { defineCommand } from '../command.js';
import { runOptions, runRequestFrom } from '../run-options.js';

/** --lxc-version and --lxc-environment, as config, create and the template take them. */
export const targetOptions = {
  'lxc-version': { type: 'string', value: 'X.Y', help: "the target LXC version (default: this host's lxc-start --version)" },
  'lxc-environment': {
    type: 'boolean',
    help: ['put the environment into plain lxc.environment (visible to hooks) instead', 'of the start wrapper, on LXC versions without lxc.environment.runtime'],
  },
} as const satisfies OptionSpec;

const options = {
  rootfs: {
    type: 'string',
    value: 'DIR',
    help: ['the extracted rootfs: resolves user names from its /etc/passwd and', '/etc/group, and receives the start wrapper when one is needed'],
  },
  flavor: { type: 'string', value: 'F', help: 'lxc (config lines, default) or pve (a Proxmox /etc/pve/lxc/<vmid>.conf fragment)' },
  ...targetOptions,
  'lxc-version': {
    ...targetOptions['lxc-version'],
    help: ["the target LXC version (default: this host's lxc-start --version; with", "--flavor pve off a Proxmox host: Proxmox VE 9's lxc-pve 6.0.5)"],
  },
  ...selectOptions,
  ...commonOptions,
  ...runOptions,
  ...registryOptions,
} as const satisfies OptionSpec;

export function checkLxcVersion(command: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+){0,2}$/.test(value)) throw new UsageError(`--lxc-version must look like 5.0 or 6.0.4 (got '${value}')`, command);
  return value;
}

export const config = defineCommand({
  name: 'config',
  summary: 'print the LXC (or Proxmox) config that runs the image',
  text: {
    usage: 'oci2lxc config <archive> [--rootfs DIR] [--flavor lxc|pve] [--lxc-version X.Y] [--platform P] [--ref NAME] [docker run options] [-- CMD ARGS…]',
    about: `Prints the LXC configuration that runs the image as the image intends: lxc.init.cmd (Entrypoint
+ Cmd), lxc.init.cwd, lxc.init.uid/gid, the environment, lxc.signal.halt (StopSignal), with
ExposedPorts, Volumes and Labels as comments. Where the target LXC cannot express the argv or
the environment exactly, a start wrapper is needed: with --rootfs it is written there.`,
    examples: [
      'oci2lxc config app.tar',
      'oci2lxc extract app.tar /srv/ct/rootfs && oci2lxc config app.tar --rootfs /srv/ct/rootfs >> /srv/ct/config',
      'oci2lxc config app.tar --flavor pve --lxc-version 6.0 --rootfs /mnt/ct-rootfs >> /etc/pve/lxc/105.conf',
    ],
  },
  options,
  args: ['archive'],
  trailing: true,
  async body({ values, args, cmd }, io) {
    const flavor = oneOf('config', 'flavor', values.flavor, ['lxc', 'pve'] as const, 'lxc');
    const lxcVersion = checkLxcVersion('config', values['lxc-version']);
    const run = runRequestFrom('config', values, cmd);
    const rootfs = values.rootfs !== undefined ? resolve(values.rootfs) : undefined;
    const out = await withImage(args.archive, { ...selectionOf(values), signal: io.signal }, (image) =>
      planContainer(image, {
        flavor,
        ...(lxcVersion !== undefined ? { lxcVersion } : {}),
        ...(rootfs !== undefined ? { rootfs } : {}),
        plainEnvironment: !!values['lxc-environment'],
        run,
      }),
    );
    if (values.json) io.stdout.write(`${JSON.stringify(out.json, null, 2)}\n`);
    else io.stdout.write(out.text);
    if (!values.quiet) {
      if (out.target.assumed) io.stderr.write(`note: target LXC not known here; assuming ${flavor === 'pve' ? "Proxmox VE 9's lxc-pve" : 'LXC'} ${out.target.lxcVersion} (set --lxc-version)\n`);
      for (const w of out.warnings) io.stderr.write(`warning: ${printableLine(w)}\n`);
    }
    if (flavor === 'pve' && out.json.console === true && !values.quiet) {
      // pve-container's own rule for OCI images: no network manager inside, so the node configures it.
      io.stderr.write(`note: an application image has no DHCP client or network manager: give its interface host-managed=1 (pve-container >= 6.0.15), e.g. pct set <vmid> --net0 name=eth0,bridge=vmbr0,ip=dhcp,host-managed=1\n`);
    }
    if (out.wrapperNeeded && values.rootfs === undefined && !values.quiet) {
      io.stderr.write(`note: this image needs a start wrapper in its rootfs; run again with --rootfs DIR to write it\n`);
    }
    return 0;
  },
});
