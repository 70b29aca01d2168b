import { formatPlatform, type Image, type ImageArchive, type RuntimeConfig } from '@oci2lxc/oci-tar-image';
import { commonOptions, selectOptions, type OptionSpec } from '../args.js';
import { formatBytes, formatValue, printableLine } from '../format.js';
import { registryOptions, selectionOf, withImage } from '../image-source.js';
import { defineCommand } from '../command.js';

const options = { ...selectOptions, ...registryOptions, ...commonOptions } as const satisfies OptionSpec;

type Json = string | string[] | Record<string, object> | Record<string, string> | null;

/**
 * The runtime config fields oci2lxc uses, copied with their types checked: the config blob is
 * untrusted, and anything else in it (or any odd nesting) stays out of the output.
 */
export function runtimeConfigView(c: RuntimeConfig | undefined): Record<string, Json> {
  const out: Record<string, Json> = {};
  if (!c || typeof c !== 'object') return out;
  const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  for (const k of ['Entrypoint', 'Cmd', 'Env'] as const) {
    const v: unknown = c[k];
    if (v === null || isStrings(v)) out[k] = v;
    // moby's StrSlice: Entrypoint and Cmd may be one string (one argument).
    else if (k !== 'Env' && typeof v === 'string') out[k] = v;
  }
  for (const k of ['WorkingDir', 'User', 'StopSignal'] as const) {
    const v: unknown = c[k];
    if (typeof v === 'string') out[k] = v;
  }
  for (const k of ['ExposedPorts', 'Volumes'] as const) {
    const v: unknown = c[k];
    if (isObject(v)) out[k] = Object.fromEntries(Object.keys(v).map((key) => [key, {}]));
  }
  const labels: unknown = c.Labels;
  if (isObject(labels)) out.Labels = Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return out;
}

/** The JSON document `inspect --json` prints (stable shape). */
export function describeImage(archive: ImageArchive, image: Image) {
  return {
    archive: archive.path,
    format: archive.format,
    images: archive.images.map((i) => ({ refs: i.refs, platform: formatPlatform(i.platform), manifestDigest: i.manifestDigest, mediaType: i.mediaType })),
    image: {
      refs: image.refs,
      platform: formatPlatform(image.platform),
      manifestDigest: image.manifestDigest,
      configDigest: image.configDigest,
      created: image.config.created ?? null,
      layers: image.layers.map((l) => ({ digest: l.digest === '' ? null : l.digest, diffId: l.diffId, mediaType: l.mediaType, size: l.size, compression: l.compression })),
      config: runtimeConfigView(image.config.config),
    },
  };
}

export const inspect = defineCommand({
  name: 'inspect',
  summary: 'show the images, layers and runtime config of an image archive',
  text: {
    usage: 'oci2lxc inspect <archive> [--platform os/arch[/variant]] [--ref NAME] [--json]',
    about: `Shows what an image archive offers and the selected image: format, images and platforms,
manifest and config digests, layers, and the runtime config (Entrypoint, Cmd, Env, WorkingDir,
User, StopSignal, ExposedPorts, Volumes, Labels). Reads tar headers and small JSON blobs only.`,
    examples: [
      'oci2lxc inspect nginx.tar',
      'oci2lxc inspect multiarch.tar --platform linux/arm64/v8 --json',
      'podman save --format oci-archive -o app.tar app && oci2lxc inspect app.tar --ref app:latest',
    ],
  },
  options,
  args: ['archive'],
  async body({ values, args: { archive: path } }, io) {
    const doc = await withImage(path, { ...selectionOf(values), signal: io.signal }, async (image, archive) => describeImage(archive, image));
    if (values.json) {
      io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      return 0;
    }
    const c = doc.image.config as RuntimeConfig;
    const lines = [
      `Archive:   ${doc.archive} (${doc.format})`,
      `Offers:`,
      ...doc.images.map((i) => `  ${i.platform.padEnd(16)} ${i.manifestDigest}  ${i.refs.join(', ') || '(no name)'}`),
      `Selected:  ${doc.image.platform} ${doc.image.refs.join(', ')}`.trimEnd(),
      `Manifest:  ${doc.image.manifestDigest}`,
      `Config:    ${doc.image.configDigest}`,
      `Layers:    ${doc.image.layers.length}, ${formatBytes(doc.image.layers.reduce((a, l) => a + l.size, 0))}`,
      ...doc.image.layers.map((l, i) => `  ${String(i + 1).padStart(2)}  ${l.digest ?? `(stored digest not recorded; diff_id ${l.diffId})`}  ${l.compression.padEnd(4)}  ${formatBytes(l.size)}`),
      `Runtime config:`,
      `  Entrypoint:   ${formatValue(c.Entrypoint)}`,
      `  Cmd:          ${formatValue(c.Cmd)}`,
      `  Env:          ${c.Env && c.Env.length > 0 ? '' : '-'}`,
      ...(c.Env ?? []).map((e) => `    ${e}`),
      `  WorkingDir:   ${formatValue(c.WorkingDir)}`,
      `  User:         ${formatValue(c.User)}`,
      `  StopSignal:   ${formatValue(c.StopSignal)}`,
      `  ExposedPorts: ${c.ExposedPorts ? Object.keys(c.ExposedPorts).join(' ') : '-'}`,
      `  Volumes:      ${c.Volumes ? Object.keys(c.Volumes).join(' ') : '-'}`,
      `  Labels:       ${c.Labels && Object.keys(c.Labels).length > 0 ? '' : '-'}`,
      ...Object.entries(c.Labels ?? {}).map(([k, v]) => `    ${k}=${v}`),
    ];
    // Each line escaped on its own: text from the archive never adds or forges a line.
    io.stdout.write(`${lines.map(printableLine).join('\n')}\n`);
    return 0;
  },
});
