// uid/gid mapping from container ids to host ids (as in lxc.idmap / Proxmox unprivileged containers).
import { ExtractError } from './errors.js';

/** `count` ids starting at `container` inside the container are `host`… on the host. */
export interface IdRange {
  container: number;
  host: number;
  count: number;
}

export interface IdMap {
  uid: IdRange[];
  gid: IdRange[];
}

function parseNumber(s: string, spec: string): number {
  if (!/^\d+$/.test(s)) throw new ExtractError('INVALID_ARGUMENT', `invalid id map ${JSON.stringify(spec)}: ${JSON.stringify(s)} is not a number`);
  const n = Number(s);
  if (n > 0xffffffff) throw new ExtractError('INVALID_ARGUMENT', `invalid id map ${JSON.stringify(spec)}: ${s} is out of range`);
  return n;
}

/**
 * Parses `--idmap` specs: `container:host:count` applies to uids and gids, `u:container:host:count`
 * to uids only, `g:…` to gids only. Several specs (an array, or one string separated by commas or
 * whitespace) add up. Overlapping container ranges are rejected.
 *
 * @example parseIdMap('0:100000:65536') // Proxmox unprivileged container
 */
export function parseIdMap(specs: string | readonly string[]): IdMap {
  const list = (typeof specs === 'string' ? [specs] : [...specs]).flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== '');
  const map: IdMap = { uid: [], gid: [] };
  for (const spec of list) {
    let parts = spec.split(':');
    let kind: 'u' | 'g' | 'b' = 'b';
    if (parts[0] === 'u' || parts[0] === 'g' || parts[0] === 'b') {
      kind = parts[0];
      parts = parts.slice(1);
    }
    if (parts.length !== 3) throw new ExtractError('INVALID_ARGUMENT', `invalid id map ${JSON.stringify(spec)}: expected [u:|g:]container:host:count`);
    const [c, h, n] = parts.map((p) => parseNumber(p, spec)) as [number, number, number];
    if (n === 0) throw new ExtractError('INVALID_ARGUMENT', `invalid id map ${JSON.stringify(spec)}: count must be positive`);
    const range: IdRange = { container: c, host: h, count: n };
    if (kind !== 'g') map.uid.push(range);
    if (kind !== 'u') map.gid.push({ ...range });
  }
  validateIdMap(map);
  return map;
}

/** Throws INVALID_ARGUMENT when ranges are malformed or overlap inside the container. */
export function validateIdMap(map: IdMap): void {
  for (const [kind, ranges] of [['uid', map.uid], ['gid', map.gid]] as const) {
    for (const r of ranges) {
      for (const v of [r.container, r.host, r.count]) {
        if (!Number.isSafeInteger(v) || v < 0) throw new ExtractError('INVALID_ARGUMENT', `invalid ${kind} map range ${JSON.stringify(r)}`);
      }
      if (r.count === 0) throw new ExtractError('INVALID_ARGUMENT', `invalid ${kind} map range ${JSON.stringify(r)}: count must be positive`);
    }
    const sorted = [...ranges].sort((a, b) => a.container - b.container);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      if (sorted[i]!.container < prev.container + prev.count) {
        throw new ExtractError('INVALID_ARGUMENT', `overlapping ${kind} map ranges ${JSON.stringify(prev)} and ${JSON.stringify(sorted[i])}`);
      }
    }
  }
}

/** Maps one container id to its host id; undefined when no range covers it. */
export function mapId(ranges: readonly IdRange[], id: number): number | undefined {
  for (const r of ranges) {
    if (id >= r.container && id < r.container + r.count) return r.host + (id - r.container);
  }
  return undefined;
}
