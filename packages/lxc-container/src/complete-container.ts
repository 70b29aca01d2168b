// The LXC template's part: lxc-create has already made <path>/config (the host's default config)
// and an empty rootfs, and holds <path>/partial while the template runs; this fills the rootfs and
// appends the image's lines to the config, like LXC's own `oci` template. oci2lxc's claim on the
// name is taken too, so that a `createContainer` of the same name fails at once, not at its end.
import { appendFile, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Image } from '@oci2lxc/oci-tar-image';
import { ConfigDocument } from '@oci2lxc/lxc-config';
import { claimContainer, type ContainerClaim } from './container-claim.js';
import { layerExtractor, type AssembleOptions } from './create-container.js';
import { consoleLogLines } from './console-log.js';
import { templateConfigDir } from './lxc-host.js';
import { prepareNetwork } from './network-setup.js';
import { mapImage, targetCapabilities } from './plan.js';
import { runLines, volumesWarning } from './run-config.js';

export interface CompleteOptions extends AssembleOptions {
  /** The container directory lxc-create made (its `--path`). */
  path: string;
  /** Its rootfs (default `<path>/rootfs`). */
  rootfs?: string;
  /** The container name (default: the directory's name). */
  name?: string;
}

/** Fills the rootfs of a container lxc-create made and appends the image's config lines. */
export async function completeContainer(image: Image, o: CompleteOptions): Promise<{ warnings: string[] }> {
  const containerPath = resolve(o.path);
  const name = o.name ?? basename(containerPath);
  const rootfs = resolve(o.rootfs ?? join(containerPath, 'rootfs'));
  const { caps } = await targetCapabilities(o.lxcVersion);
  // The container's own lines first: a value no config line can carry is refused before extraction.
  const configPath = join(containerPath, 'config');
  const existing = await readFile(configPath, 'utf8').catch(() => '');
  const doc = new ConfigDocument().blank().comment(o.comment ?? 'Completed by @oci2lxc/lxc-container');
  const dir = templateConfigDir();
  if (dir && !existing.includes(`${dir}/common.conf`)) doc.entry('lxc.include', `${dir}/common.conf`);
  const claim = await claimTemplateName(dirname(containerPath), name, o);
  try {
    const extracted = await layerExtractor(o)(image, rootfs, { finalRootfs: rootfs, ...(o.signal ? { signal: o.signal } : {}) });
    const plan = await mapImage(image, { caps, flavor: 'lxc', rootfs, writeWrapper: true, plainEnvironment: !!o.plainEnvironment, ...(o.run ? { overrides: o.run.overrides } : {}) });
    const note = volumesWarning(image.config.config?.Volumes, o.run);
    if (note) plan.warnings.push(note);
    const net = prepareNetwork({
      request: o.networkRequest ?? { gateways: [], dns: [], dnsSearch: [], dnsOptions: [] },
      baseLines: existing.split('\n'),
      name,
      containerDir: containerPath,
      stagingDir: containerPath,
      rootfs,
      application: plan.json.console === true,
    });
    for (const w of [...net.warnings, ...plan.warnings]) o.onWarning?.(w);
    // Later lines win in LXC: the host name, network, name files and console log.
    for (const l of [...net.lines, ...consoleLogLines(containerPath), ...runLines(o.run, rootfs)]) doc.entry(l.key, l.value, l.key);
    await appendFile(configPath, doc.append(plan.document).render('lxc'));
    return { warnings: [...extracted.warnings, ...net.warnings, ...plan.warnings] };
  } finally {
    await claim?.release();
  }
}

/**
 * The claim is an extra here: lxc-create's partial lock already keeps lxc-start and a second
 * lxc-create out. So a claim that cannot be taken (no perl, an lxcpath the template's user
 * namespace cannot write) is a warning; only a claim held by another run is an error.
 */
async function claimTemplateName(lxcpath: string, name: string, o: AssembleOptions): Promise<ContainerClaim | undefined> {
  try {
    return await claimContainer(lxcpath, name, { sweep: false });
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'CONTAINER_BUSY') throw err;
    o.onWarning?.(`proceeding without oci2lxc's claim on '${name}': ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
