// `create`: extract into a staging directory next to the container, write its config, then move
// it into place in one rename, so a failure or Ctrl-C leaves nothing behind.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatPlatform } from '@oci2lxc/oci-tar-image';
import type { IdMap } from '@oci2lxc/oci-extract';
import type { Io } from './command.js';
import { CliError } from './errors.js';
import { withImage, type Selection } from './image-source.js';
import { baseConfigLines, missingBridges, type Network } from './lxc-host.js';
import { planContainer, targetCapabilities } from './lxc-plan.js';
import { extractTo } from './commands/extract.js';
import { prepareNetwork } from './network/setup.js';
import { consoleLogLines } from './console-log.js';
import { runLines, volumesWarning, type RunRequest } from './run-options.js';
import type { NetworkRequest } from './network/options.js';
import { version } from './version.js';

const run = promisify(execFile);

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

async function isRunning(name: string, lxcpath: string): Promise<boolean> {
  try {
    const { stdout } = await run('lxc-info', ['-n', name, '-P', lxcpath, '-s'], { encoding: 'utf8' });
    return !/STOPPED/.test(stdout);
  } catch {
    return false;
  }
}

/** lxc.idmap lines for an id map (same ranges as the files were chowned with). */
export function idmapLines(idMap: IdMap | undefined): string[] {
  if (!idMap) return [];
  return [
    ...idMap.uid.map((r) => `lxc.idmap = u ${r.container} ${r.host} ${r.count}`),
    ...idMap.gid.map((r) => `lxc.idmap = g ${r.container} ${r.host} ${r.count}`),
  ];
}

export async function createContainer(o: CreateOptions): Promise<CreateResult> {
  const finalDir = join(o.lxcpath, o.name);
  if (await exists(finalDir)) {
    if (!o.force) throw new CliError('CONTAINER_EXISTS', `container '${o.name}' already exists at ${finalDir} (use --force to replace it)`);
    if (await isRunning(o.name, o.lxcpath)) throw new CliError('CONTAINER_RUNNING', `container '${o.name}' is running; stop it before replacing it`);
  }
  const { caps, assumed } = await targetCapabilities(o.lxcVersion);
  const base = await baseConfigLines(o.network);
  const bridgeWarnings = missingBridges(base).map((b) => `the network bridge '${b}' does not exist on this host: lxc-start will fail until it does (or use --network none|empty|veth:BRIDGE)`);
  if (!o.quiet) for (const w of bridgeWarnings) o.io.stderr.write(`warning: ${w}\n`);
  await mkdir(o.lxcpath, { recursive: true });
  const staging = await mkdtemp(join(o.lxcpath, `.${o.name}.oci2lxc-`));
  try {
    // As lxc-create makes it: an unprivileged container's root must be able to reach its rootfs.
    await chmod(staging, 0o755);
    const rootfs = join(staging, 'rootfs');
    const result = await withImage(o.archivePath, o.selection, async (image) => {
      const stats = await extractTo(image, rootfs, o.io, { quiet: o.quiet, displayPath: join(finalDir, 'rootfs'), ...(o.idMap ? { idMap: o.idMap } : {}) });
      const plan = await planContainer(image, { caps, flavor: 'lxc', rootfs, writeWrapper: true, plainEnvironment: o.plainEnvironment, ...(o.run ? { overrides: o.run.overrides } : {}) });
      const volumeNote = volumesWarning(image.config.config?.Volumes, o.run);
      if (volumeNote) plan.warnings.push(volumeNote);
      if (!o.quiet) for (const w of plan.warnings) o.io.stderr.write(`warning: ${w}\n`);
      const net = prepareNetwork({
        request: o.networkRequest ?? { gateways: [], dns: [], dnsSearch: [], dnsOptions: [] },
        baseLines: base,
        name: o.name,
        containerDir: finalDir,
        stagingDir: staging,
        rootfs,
        application: plan.json.console === true,
      });
      if (!o.quiet) for (const w of net.warnings) o.io.stderr.write(`warning: ${w}\n`);
      if (!o.quiet) for (const n of net.notes) o.io.stderr.write(`note: ${n}\n`);
      const config = [
        `# Created by oci2lxc ${version} from ${o.archivePath}`,
        `# image ${image.refs.join(', ') || '(no name)'} ${formatPlatform(image.platform)} ${image.manifestDigest}`,
        ...base,
        `lxc.rootfs.path = dir:${join(finalDir, 'rootfs')}`,
        ...[...net.lines, ...consoleLogLines(finalDir), ...runLines(o.run, rootfs)].map((l) => `${l.key} = ${l.value}`),
        ...idmapLines(o.idMap),
        '',
        plan.text,
      ].join('\n');
      await writeFile(join(staging, 'config'), config.endsWith('\n') ? config : `${config}\n`, { mode: 0o640 });
      return {
        image: { refs: image.refs, platform: formatPlatform(image.platform), manifestDigest: image.manifestDigest, configDigest: image.configDigest },
        wrapper: plan.wrapperNeeded,
        network: { mode: net.mode, hostname: net.hostname },
        warnings: [...bridgeWarnings, ...stats.warnings, ...plan.warnings, ...net.warnings, ...(assumed ? [`no LXC found on this host; assumed LXC ${caps.lxcVersion}`] : [])],
      };
    });
    o.io.signal.throwIfAborted();
    if (await exists(finalDir)) {
      // --force: swap the old container out only once the new one is complete.
      const trash = `${staging}.old`;
      await rename(finalDir, trash);
      await rename(staging, finalDir);
      await rm(trash, { recursive: true, force: true });
    } else {
      await rename(staging, finalDir);
    }
    return { name: o.name, path: finalDir, rootfs: join(finalDir, 'rootfs'), config: join(finalDir, 'config'), ...result };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
