// The options of the `lxc-oci2lxc` LXC template and its help, rendered from the same table (kept
// apart from lxc-template.ts, which runs when imported).
import { commonOptions, renderHelp, selectOptions, type OptionSpec } from './args.js';
import { targetOptions } from './commands/config.js';
import { registryOptions } from './image-source.js';
import { networkOptions } from './network/options.js';
import { runOptions } from './run-options.js';
import { version } from './version.js';

const TEMPLATE = 'Template options (after --)';
const LXC_CREATE = 'Passed by lxc-create';

export const templateOptions = {
  archive: {
    type: 'string',
    value: 'FILE',
    group: TEMPLATE,
    help: ['the image archive (docker save / podman save / skopeo copy output), or an', 'image reference pulled from its registry (nginx:1.27) [required]'],
  },
  platform: { ...selectOptions.platform, group: TEMPLATE },
  ref: { ...selectOptions.ref, group: TEMPLATE },
  'lxc-version': { ...targetOptions['lxc-version'], group: TEMPLATE },
  'lxc-environment': { ...targetOptions['lxc-environment'], group: TEMPLATE },
  quiet: { ...commonOptions.quiet, group: TEMPLATE },
  help: { ...commonOptions.help, group: TEMPLATE },
  ...registryOptions,
  ...networkOptions,
  ...runOptions,
  path: { type: 'string', value: 'DIR', group: LXC_CREATE, help: 'the container directory' },
  name: { type: 'string', short: 'n', value: 'NAME', group: LXC_CREATE, help: 'the container name' },
  rootfs: { type: 'string', value: 'DIR', group: LXC_CREATE, help: 'its rootfs' },
  'mapped-uid': { type: 'string', value: 'ID', group: LXC_CREATE, help: 'unprivileged containers: the mapped root uid (ids are already shifted)' },
  'mapped-gid': { type: 'string', value: 'ID', group: LXC_CREATE, help: 'unprivileged containers: the mapped root gid' },
} as const satisfies OptionSpec;

export const templateHelp = renderHelp(
  {
    usage: 'lxc-create -n NAME -t /path/to/lxc-oci2lxc -- --archive IMAGE.tar [options]',
    about: `oci2lxc ${version} as an LXC template: fills the new container's rootfs from an OCI or Docker
image archive and appends the config that runs the image's entrypoint.

To use it by name: ln -s "$(command -v lxc-oci2lxc)" /usr/share/lxc/templates/lxc-oci2lxc
and then: lxc-create -n NAME -t oci2lxc -- --archive IMAGE.tar`,
    examples: ['lxc-create -n web -t /usr/local/bin/lxc-oci2lxc -- --archive /srv/images/nginx.tar', 'lxc-create -n app -t oci2lxc -- --archive app.tar --platform linux/arm64'],
  },
  templateOptions,
);
