// `create`: claim the name, extract into a staging directory next to the container, write its
// config, then move it into place in one rename, so a failure or Ctrl-C leaves nothing behind.
import { chmod, mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform, type Image } from '@oci2lxc/oci-tar-image';
import { extractImage, type IdMap } from '@oci2lxc/oci-extract';
import { ConfigDocument, type ConfigEntry } from '@oci2lxc/lxc-config';
import { checkNotBeingCreated, checkReplaceable, claimContainer, placeContainer, removeTree, stagingPrefix } from './container-claim.js';
import { ContainerError } from './errors.js';
import { baseConfigEntries, missingBridges, type Network } from './lxc-host.js';
import { mapImage, targetCapabilities } from './plan.js';
import { prepareNetwork, type NetworkRequest } from './network-setup.js';
import { consoleLogLines } from './console-log.js';
import { runLines, volumesWarning, type RunRequest } from './run-config.js';

/** Why a container name is unusable, or undefined when it is fine (LXC names are path components). */
export function validateContainerName(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'empty, "." or ".."';
  if (name.includes('/')) return 'contains "/"';
  if (name.startsWith('-')) return 'starts with "-"';
  if (!/^[A-Za-z0-9._+@:-]+$/.test(name)) return 'use letters, digits and . _ - + @ : only';
  if (name.length > 200) return 'longer than 200 characters';
  return undefined;
}

/**
 * How the image's layers get into the rootfs: `rootfs` is a fresh directory in the staging area,
 * `finalRootfs` where it will be once the container is in place (for messages). Must apply every
 * layer with `idMap` and stop on `signal`; resolves to the warnings it reported. The default calls
 * @oci2lxc/oci-extract's `extractImage`; a caller passes its own to show progress.
 */
export type ExtractLayers = (image: Image, rootfs: string, options: { idMap?: IdMap; signal?: AbortSignal; finalRootfs: string }) => Promise<{ warnings: string[] }>;

/** What is common to creating a container and completing one lxc-create made. */
export interface AssembleOptions {
  /** Target LXC version, e.g. '5.0' (default: this host's, else 5.0). */
  lxcVersion?: string;
  /** Plain lxc.environment instead of the start wrapper on LXC without lxc.environment.runtime. */
  plainEnvironment?: boolean;
  /** `docker run`-style overrides, volumes, limits, autostart. */
  run?: RunRequest;
  /** --ip, --gateway, --dns, --hostname (default: the documented rule, see the README). */
  networkRequest?: NetworkRequest;
  /** The comment that opens the container's lines in its config. */
  comment?: string;
  /** Cancels the work; everything written so far is removed. */
  signal?: AbortSignal;
  extract?: ExtractLayers;
  /** A problem the user should know of (also in the result's `warnings`), when it happens. */
  onWarning?: (message: string) => void;
  /** Something worth a line that is no problem (e.g. a leftover of an interrupted run removed). */
  onNote?: (message: string) => void;
}

export interface CreateOptions extends AssembleOptions {
  /** The container name (see `validateContainerName`). */
  name: string;
  /** Where containers live (LXC's lxc.lxcpath; created when missing). */
  lxcpath: string;
  /** Default: the network of the host's LXC default config. */
  network?: Network;
  /** Unprivileged container: files are chowned and lxc.idmap lines written. */
  idMap?: IdMap;
  /** Replace an existing container of that name (it must be stopped). */
  force?: boolean;
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

/** The ExtractLayers of `o`, else oci-extract without a progress display (warnings go to onWarning). */
export function layerExtractor(o: AssembleOptions): ExtractLayers {
  if (o.extract) return o.extract;
  return async (image, rootfs, x) => {
    const warnings: string[] = [];
    const onWarning = (w: { message: string }) => {
      warnings.push(w.message);
      o.onWarning?.(w.message);
    };
    await extractImage(image, rootfs, { ...(x.idMap ? { idMap: x.idMap } : {}), ...(x.signal ? { signal: x.signal } : {}), onWarning });
    return { warnings };
  };
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
function idmapEntries(idMap: IdMap | undefined): ConfigEntry[] {
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
  const doc = new ConfigDocument().comment(o.comment ?? 'Created by @oci2lxc/lxc-container');
  for (const e of base) {
    if (e.value === '') doc.clear(e.key);
    else doc.entry(e.key, e.value, e.key.startsWith('lxc.net.') ? '--network' : 'the host\'s default config');
  }
  doc.entry('lxc.rootfs.path', `dir:${join(finalDir, 'rootfs')}`, '--lxcpath');
  for (const e of idmapEntries(o.idMap)) doc.entry(e.key, e.value, '--idmap');
  return doc;
}

/**
 * Creates container `name` in `lxcpath` from an opened image: claims the name (one creator at a
 * time, never over a running container or one being created), extracts into a staging directory
 * next to the container, writes its config (the host's base config, rootfs, id map, network, the
 * image's lines), then moves it into place in one rename. On any failure or abort nothing is left.
 */
export async function createContainer(image: Image, o: CreateOptions): Promise<CreateResult> {
  await mkdir(o.lxcpath, { recursive: true });
  // Claim the name before anything is written or judged: see container-claim.ts.
  const claim = await claimContainer(o.lxcpath, o.name, { sweep: true });
  try {
    for (const n of claim.notes) o.onNote?.(n);
    const result = await createClaimed(image, o);
    return { ...result, warnings: [...claim.notes, ...result.warnings] };
  } finally {
    await claim.release();
  }
}

async function createClaimed(image: Image, o: CreateOptions): Promise<CreateResult> {
  const warn = (w: string) => o.onWarning?.(w);
  const finalDir = join(o.lxcpath, o.name);
  if (await exists(finalDir)) {
    if (!o.force) {
      checkNotBeingCreated(o.lxcpath, o.name);
      throw new ContainerError('CONTAINER_EXISTS', `container '${o.name}' already exists at ${finalDir} (use --force to replace it)`);
    }
    await checkReplaceable(o.lxcpath, o.name, true);
  }
  const { caps, assumed } = await targetCapabilities(o.lxcVersion);
  const base = await baseConfigEntries(o.network ?? { type: 'default' });
  const header = containerDocument(o, base, finalDir);
  const bridgeWarnings = missingBridges(base).map((b) => `the network bridge '${b}' does not exist on this host: lxc-start will fail until it does (or use --network none|empty|veth:BRIDGE)`);
  for (const w of bridgeWarnings) warn(w);
  const staging = await mkdtemp(stagingPrefix(o.lxcpath, o.name));
  try {
    // As lxc-create makes it: an unprivileged container's root must be able to reach its rootfs.
    await chmod(staging, 0o755);
    const rootfs = join(staging, 'rootfs');
    const extracted = await layerExtractor(o)(image, rootfs, { finalRootfs: join(finalDir, 'rootfs'), ...(o.idMap ? { idMap: o.idMap } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    const plan = await mapImage(image, { caps, flavor: 'lxc', rootfs, writeWrapper: true, plainEnvironment: !!o.plainEnvironment, ...(o.run ? { overrides: o.run.overrides } : {}) });
    const volumeNote = volumesWarning(image.config.config?.Volumes, o.run);
    if (volumeNote) plan.warnings.push(volumeNote);
    for (const w of plan.warnings) warn(w);
    const net = prepareNetwork({
      request: o.networkRequest ?? { gateways: [], dns: [], dnsSearch: [], dnsOptions: [] },
      baseLines: base.map((e) => `${e.key} = ${e.value}`),
      name: o.name,
      containerDir: finalDir,
      stagingDir: staging,
      rootfs,
      application: plan.json.console === true,
    });
    for (const w of net.warnings) warn(w);
    for (const n of net.notes) o.onNote?.(n);
    const doc = new ConfigDocument()
      .append(header)
      .comment(`image ${image.refs.join(', ') || '(no name)'} ${formatPlatform(image.platform)} ${image.manifestDigest}`);
    for (const l of [...net.lines, ...consoleLogLines(finalDir), ...runLines(o.run, rootfs)]) doc.entry(l.key, l.value, l.key);
    doc.blank().append(plan.document);
    await writeFile(join(staging, 'config'), doc.render('lxc'), { mode: 0o640 });
    o.signal?.throwIfAborted();
    await placeContainer(staging, o.lxcpath, o.name, !!o.force);
    return {
      name: o.name,
      path: finalDir,
      rootfs: join(finalDir, 'rootfs'),
      config: join(finalDir, 'config'),
      image: { refs: image.refs, platform: formatPlatform(image.platform), manifestDigest: image.manifestDigest, configDigest: image.configDigest },
      wrapper: plan.wrapperNeeded,
      network: { mode: net.mode, hostname: net.hostname },
      warnings: [...bridgeWarnings, ...extracted.warnings, ...plan.warnings, ...net.warnings, ...(assumed ? [`no LXC found on this host; assumed LXC ${caps.lxcVersion}`] : [])],
    };
  } catch (err) {
    await removeTree(staging).catch(() => undefined);
    throw err;
  }
}
