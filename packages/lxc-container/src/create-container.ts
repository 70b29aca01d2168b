// `create`: claim the name, extract into a staging directory next to the container, write its
// config, then move it into place in one rename, so a failure or Ctrl-C leaves nothing behind.
import { chmod, mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform } from '@oci2lxc/oci-tar-image';
import type { IdMap } from '@oci2lxc/oci-extract';
import { ConfigDocument, type ConfigEntry } from '@oci2lxc/lxc-config';
import type { Io } from './command.js';
import { checkNotBeingCreated, checkReplaceable, claimContainer, placeContainer, removeTree, stagingPrefix } from './container-claim.js';
import { CliError } from './errors.js';
import { printableLine } from './format.js';
import { withImage, type Selection } from './image-source.js';
import { baseConfigEntries, missingBridges, type Network } from './lxc-host.js';
import { planContainer, targetCapabilities } from './plan.js';
import { extractTo } from './commands/extract.js';
import { prepareNetwork } from './network-setup.js';
import { consoleLogLines } from './console-log.js';
import { runLines, volumesWarning, type RunRequest } from './run-options.js';
import type { NetworkRequest } from './network/options.js';
import { version } from './version.js';

/** Why a container name is unusable, or undefined when it is fine (LXC names are path components). */
export function validateContainerName(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'empty, "." or ".."';
  if (name.includes('/')) return 'contains "/"';
  if (name.startsWith('-')) return 'starts with "-"';
  if (!/^[A-Za-z0-9._+@:-]+$/.test(name)) return 'use letters, digits and . _ - + @ : only';
  if (name.length > 200) return 'longer than 200 characters';
  return undefined;
}

export interface CreateOptions {
  name: string;
  archivePath: string;
  lxcpath: string;
  network: Network;
  /** --ip, --gateway, --dns, --hostname (default: none given). */
  networkRequest?: NetworkRequest;
  /** docker run-style overrides, volumes, limits, autostart. */
  run?: RunRequest;
  idMap?: IdMap;
  lxcVersion?: string;
  plainEnvironment: boolean;
  force: boolean;
  selection: Selection;
  quiet: boolean;
  io: Io;
}

export interface CreateResult {
  name: string;
  path: string;
  rootfs: string;
  config: string;
  image: { refs: string[]; platform: string; manifestDigest: string; configDigest: string };
  wrapper: boolean;
  network: { mode: string; hostname: string };
  warnings: string[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** lxc.idmap entries for an id map (same ranges as the files were chowned with). */
export function idmapEntries(idMap: IdMap | undefined): ConfigEntry[] {
  if (!idMap) return [];
  return [
    ...idMap.uid.map((r) => ({ key: 'lxc.idmap', value: `u ${r.container} ${r.host} ${r.count}` })),
    ...idMap.gid.map((r) => ({ key: 'lxc.idmap', value: `g ${r.container} ${r.host} ${r.count}` })),
  ];
}

/**
 * The container's own lines (everything but the image's): a header naming the archive, the host's
 * base config, rootfs, id map (the host name comes with the network setup). Built before anything is written, so a value no config
 * line can carry (a newline in --lxcpath, …) is refused with nothing left behind.
 */
function containerDocument(o: CreateOptions, base: ConfigEntry[], finalDir: string): ConfigDocument {
  const doc = new ConfigDocument().comment(`Created by oci2lxc ${version} from ${o.archivePath}`);
  for (const e of base) {
    if (e.value === '') doc.clear(e.key);
    else doc.entry(e.key, e.value, e.key.startsWith('lxc.net.') ? '--network' : 'the host\'s default config');
  }
  doc.entry('lxc.rootfs.path', `dir:${join(finalDir, 'rootfs')}`, '--lxcpath');
  for (const e of idmapEntries(o.idMap)) doc.entry(e.key, e.value, '--idmap');
  return doc;
}

export async function createContainer(o: CreateOptions): Promise<CreateResult> {
  await mkdir(o.lxcpath, { recursive: true });
  // Claim the name before anything is written or judged: see container-claim.ts.
  const claim = await claimContainer(o.lxcpath, o.name, { sweep: true });
  try {
    if (!o.quiet) for (const n of claim.notes) o.io.stderr.write(`note: ${n}\n`);
    const result = await createClaimed(o);
    return { ...result, warnings: [...claim.notes, ...result.warnings] };
  } finally {
    await claim.release();
  }
}

async function createClaimed(o: CreateOptions): Promise<CreateResult> {
  const finalDir = join(o.lxcpath, o.name);
  if (await exists(finalDir)) {
    if (!o.force) {
      checkNotBeingCreated(o.lxcpath, o.name);
      throw new CliError('CONTAINER_EXISTS', `container '${o.name}' already exists at ${finalDir} (use --force to replace it)`);
    }
    await checkReplaceable(o.lxcpath, o.name, true);
  }
  const { caps, assumed } = await targetCapabilities(o.lxcVersion);
  const base = await baseConfigEntries(o.network);
  const header = containerDocument(o, base, finalDir);
  const bridgeWarnings = missingBridges(base).map((b) => `the network bridge '${b}' does not exist on this host: lxc-start will fail until it does (or use --network none|empty|veth:BRIDGE)`);
  if (!o.quiet) for (const w of bridgeWarnings) o.io.stderr.write(`warning: ${printableLine(w)}\n`);
  const staging = await mkdtemp(stagingPrefix(o.lxcpath, o.name));
  try {
    // As lxc-create makes it: an unprivileged container's root must be able to reach its rootfs.
    await chmod(staging, 0o755);
    const rootfs = join(staging, 'rootfs');
    const result = await withImage(o.archivePath, o.selection, async (image) => {
      const stats = await extractTo(image, rootfs, o.io, { quiet: o.quiet, displayPath: join(finalDir, 'rootfs'), ...(o.idMap ? { idMap: o.idMap } : {}) });
      const plan = await planContainer(image, { caps, flavor: 'lxc', rootfs, writeWrapper: true, plainEnvironment: o.plainEnvironment, ...(o.run ? { overrides: o.run.overrides } : {}) });
      const volumeNote = volumesWarning(image.config.config?.Volumes, o.run);
      if (volumeNote) plan.warnings.push(volumeNote);
      if (!o.quiet) for (const w of plan.warnings) o.io.stderr.write(`warning: ${printableLine(w)}\n`);
      const net = prepareNetwork({
        request: o.networkRequest ?? { gateways: [], dns: [], dnsSearch: [], dnsOptions: [] },
        baseLines: base.map((e) => `${e.key} = ${e.value}`),
        name: o.name,
        containerDir: finalDir,
        stagingDir: staging,
        rootfs,
        application: plan.json.console === true,
      });
      if (!o.quiet) for (const w of net.warnings) o.io.stderr.write(`warning: ${printableLine(w)}\n`);
      if (!o.quiet) for (const n of net.notes) o.io.stderr.write(`note: ${printableLine(n)}\n`);
      const doc = new ConfigDocument()
        .append(header)
        .comment(`image ${image.refs.join(', ') || '(no name)'} ${formatPlatform(image.platform)} ${image.manifestDigest}`);
      for (const l of [...net.lines, ...consoleLogLines(finalDir), ...runLines(o.run, rootfs)]) doc.entry(l.key, l.value, l.key);
      doc.blank().append(plan.document);
      await writeFile(join(staging, 'config'), doc.render('lxc'), { mode: 0o640 });
      return {
        image: { refs: image.refs, platform: formatPlatform(image.platform), manifestDigest: image.manifestDigest, configDigest: image.configDigest },
        wrapper: plan.wrapperNeeded,
        network: { mode: net.mode, hostname: net.hostname },
        warnings: [...bridgeWarnings, ...stats.warnings, ...plan.warnings, ...net.warnings, ...(assumed ? [`no LXC found on this host; assumed LXC ${caps.lxcVersion}`] : [])],
      };
    });
    o.io.signal.throwIfAborted();
    await placeContainer(staging, o.lxcpath, o.name, o.force);
    return { name: o.name, path: finalDir, rootfs: join(finalDir, 'rootfs'), config: join(finalDir, 'config'), ...result };
  } catch (err) {
    await removeTree(staging).catch(() => undefined);
    throw err;
  }
}
