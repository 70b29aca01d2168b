import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LxcConfigError } from './errors.js';
import type { LxcCapabilities } from './types.js';

type Version = [number, number, number];

function parseVersion(version: string): Version {
  // Accepts `5.0.2`, `6.0`, `lxc-5.0.2`, `v6.0.5`, `6.0.5-3` (a packaging suffix is ignored).
  const m = /^(?:lxc-|v)?(\d+)\.(\d+)(?:\.(\d+))?(?:[-~+].*)?$/.exec(version.trim());
  if (!m) throw new LxcConfigError('INVALID_ARGUMENT', `cannot parse LXC version ${JSON.stringify(version)} (expected X.Y or X.Y.Z)`, 'lxcVersion');
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function atLeast(v: Version, min: Version): boolean {
  for (let i = 0; i < 3; i++) {
    if (v[i]! !== min[i]!) return v[i]! > min[i]!;
  }
  return true;
}

/**
 * Capabilities of a stock upstream LXC release (see the README's table for the commits and tags).
 * `overrides` is for patched builds, e.g. Proxmox's lxc-pve 6.0.5-3 which backports
 * `lxc.environment.runtime`: `capabilitiesFor('6.0.5', { environmentRuntime: true })`.
 */
export function capabilitiesFor(version: string, overrides: Partial<Omit<LxcCapabilities, 'lxcVersion'>> = {}): LxcCapabilities {
  const v = parseVersion(version);
  return {
    lxcVersion: version.trim(),
    quotedInitCmd: atLeast(v, [6, 0, 0]),
    environmentRuntime: atLeast(v, [7, 0, 0]),
    initGroups: atLeast(v, [4, 0, 10]),
    ...overrides,
  };
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

/**
 * Ask the installed LXC: `lxc-start --version`, then (best effort) look for the config key names
 * in the liblxc that lxc-start loads, which also recognises patched builds such as lxc-pve.
 */
export async function detectCapabilities(opts: { lxcStart?: string } = {}): Promise<LxcCapabilities> {
  const lxcStart = opts.lxcStart ?? 'lxc-start';
  let version: string;
  try {
    version = (await run(lxcStart, ['--version'])).trim();
  } catch (err) {
    throw new LxcConfigError('LXC_NOT_FOUND', `cannot run ${lxcStart} --version: ${(err as Error).message}`, undefined, { cause: err });
  }
  const caps = capabilitiesFor(version);
  const lib = await findLiblxc(lxcStart);
  if (lib) {
    // Config keys are string literals in liblxc's key table; their presence is the feature.
    caps.environmentRuntime = lib.includes('\0lxc.environment.runtime\0');
    caps.initGroups = lib.includes('\0lxc.init.groups\0');
  }
  return caps;
}

async function findLiblxc(lxcStart: string): Promise<string | undefined> {
  try {
    const path = (await run('sh', ['-c', 'command -v "$1"', 'sh', lxcStart])).trim();
    const out = await run('ldd', [path]);
    const m = /liblxc\.so[^\s]*\s+=>\s+(\S+)/.exec(out);
    if (!m) return undefined;
    return readFileSync(m[1]!).toString('latin1');
  } catch {
    return undefined;
  }
}
