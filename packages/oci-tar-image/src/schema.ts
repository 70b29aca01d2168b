// Structural checks of index, manifest, descriptor and config JSON. Only what we rely on is
// checked; unknown fields pass through untouched.
import { validateDigest } from './digest.js';
import { OciImageError } from './errors.js';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from './types.js';

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(subject: string, what: string): OciImageError {
  return new OciImageError('INVALID_MANIFEST', `${subject}: ${what}`, { subject });
}

function optString(o: Obj, key: string, subject: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(subject, `${where}${key} must be a string`);
  return v;
}

function stringRecord(v: unknown, subject: string, where: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string')) throw bad(subject, `${where} must be an object of strings`);
  return v as Record<string, string>;
}

export function parsePlatformObject(v: unknown, subject: string, where: string): Platform | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || typeof v.os !== 'string' || typeof v.architecture !== 'string') throw bad(subject, `${where} must have string os and architecture`);
  const p: Platform = { os: v.os, architecture: v.architecture };
  const variant = optString(v, 'variant', subject, `${where}.`);
  if (variant !== undefined && variant !== '') p.variant = variant;
  const osVersion = optString(v, 'os.version', subject, `${where}.`);
  if (osVersion !== undefined) p['os.version'] = osVersion;
  const features = v['os.features'];
  if (Array.isArray(features) && features.every((f) => typeof f === 'string')) p['os.features'] = features as string[];
  return p;
}

/** A descriptor; its digest is validated here. `mediaType` may be missing (inferred later). */
export function parseDescriptor(v: unknown, subject: string, where: string): Descriptor {
  if (!isObj(v)) throw bad(subject, `${where} must be an object`);
  if (typeof v.digest !== 'string') throw bad(subject, `${where} has no digest`);
  validateDigest(v.digest, `${where} of ${subject}`);
  const size = v.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(subject, `${where} (${v.digest}) has no valid size`);
  const d: Descriptor = { mediaType: optString(v, 'mediaType', subject, `${where}.`) ?? '', digest: v.digest, size };
  const annotations = stringRecord(v.annotations, subject, `${where}.annotations`);
  if (annotations) d.annotations = annotations;
  const platform = parsePlatformObject(v.platform, subject, `${where}.platform`);
  if (platform) d.platform = platform;
  if (Array.isArray(v.urls) && v.urls.every((u) => typeof u === 'string')) d.urls = v.urls as string[];
  return d;
}

function schemaVersion2(o: Obj, subject: string): void {
  if (o.schemaVersion !== 2) throw bad(subject, `unsupported schemaVersion ${JSON.stringify(o.schemaVersion)} (expected 2)`);
}

/** An index or manifest: a JSON object of schemaVersion 2 with its descriptor array (`key`). */
function documentWith(v: unknown, subject: string, what: string, key: 'manifests' | 'layers'): { o: Obj; list: unknown[] } {
  if (!isObj(v)) throw bad(subject, `an ${what} must be a JSON object`);
  schemaVersion2(v, subject);
  const list = v[key];
  if (!Array.isArray(list)) throw bad(subject, `${what} has no ${key} array`);
  return { o: v, list };
}

/** The optional mediaType and annotations both documents carry (checked after the descriptors). */
function documentExtras(o: Obj, subject: string): { mediaType?: string; annotations?: Record<string, string> } {
  const mediaType = optString(o, 'mediaType', subject, '');
  const annotations = stringRecord(o.annotations, subject, 'annotations');
  return { ...(mediaType !== undefined ? { mediaType } : {}), ...(annotations ? { annotations } : {}) };
}

export function parseIndex(v: unknown, subject: string): ImageIndex {
  const { o, list } = documentWith(v, subject, 'image index', 'manifests');
  const manifests = list.map((m, i) => parseDescriptor(m, subject, `manifests[${i}]`));
  return { schemaVersion: 2, manifests, ...documentExtras(o, subject) };
}

export function parseManifest(v: unknown, subject: string): ImageManifest {
  const { o, list } = documentWith(v, subject, 'image manifest', 'layers');
  const config = parseDescriptor(o.config, subject, 'config');
  const layers = list.map((l, i) => parseDescriptor(l, subject, `layers[${i}]`));
  return { ...(o as object), schemaVersion: 2, config, layers, ...documentExtras(o, subject) };
}

export function parseConfig(v: unknown, subject: string): ImageConfig {
  if (!isObj(v)) throw bad(subject, 'an image config must be a JSON object');
  if (typeof v.architecture !== 'string' || typeof v.os !== 'string') throw bad(subject, 'image config must have string architecture and os');
  const rootfs = v.rootfs;
  if (!isObj(rootfs) || !Array.isArray(rootfs.diff_ids) || rootfs.diff_ids.some((d) => typeof d !== 'string')) {
    throw bad(subject, 'image config has no rootfs.diff_ids array');
  }
  if (rootfs.type !== 'layers') throw bad(subject, `unsupported rootfs.type ${JSON.stringify(rootfs.type)} (expected "layers")`);
  if (v.config !== undefined && v.config !== null && !isObj(v.config)) throw bad(subject, 'image config "config" must be an object');
  const cfg = { ...v } as unknown as ImageConfig;
  if (v.config === null) delete cfg.config;
  (rootfs.diff_ids as string[]).forEach((d, i) => validateDigest(d, `rootfs.diff_ids[${i}] of ${subject}`));
  return cfg;
}
