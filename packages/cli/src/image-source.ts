// Opens the image a command works on and selects one image: the first step of every command. A
// path that exists is an archive; anything else that parses as an image reference is pulled from
// its registry (@oci2lxc/oci-registry), which yields the same Image.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { openImageArchive, parsePlatform, type Image, type ImageArchive } from '@oci2lxc/oci-tar-image';
import { BlobCache, defaultCacheDir, openRegistry, parseReference, type ImageReference } from '@oci2lxc/oci-registry';
import type { OptionSpec } from './args.js';
import { CliError, UsageError } from './errors.js';

export interface Selection {
  platform?: string | undefined;
  ref?: string | undefined;
  /** Ctrl-C / SIGTERM: aborts opening the archive too (a hostile archive may take a while). */
  signal?: AbortSignal | undefined;
  /** Registry sources: the blob cache directory (default: `defaultCacheDir()`). */
  cache?: string | undefined;
  /** Registry sources: no blob cache at all. */
  noCache?: boolean | undefined;
  /** Registry sources: `host[:port]` allowed over plain HTTP. */
  insecureRegistries?: string[] | undefined;
}

const IMAGE = `Image: an archive path, or a registry reference (nginx:1.27, ghcr.io/org/app@sha256:…,
docker://host:5000/app) pulled directly, layers streamed into the rootfs`;

/** The registry flags every image-taking command accepts (spread into its option table). */
export const registryOptions = {
  cache: { type: 'string', value: 'DIR', group: IMAGE, help: ['blob cache (default /var/cache/oci2lxc as root, else', '$XDG_CACHE_HOME/oci2lxc)'] },
  'no-cache': { type: 'boolean', group: IMAGE, help: 'no blob cache' },
  'insecure-registry': { type: 'string', multiple: true, value: 'H', group: IMAGE, help: ['registry H (host[:port]) without TLS verification, or plain', 'HTTP; repeatable'] },
} as const satisfies OptionSpec;

/** The Selection of a command's parsed flags. */
export function selectionOf(values: {
  platform?: string | undefined;
  ref?: string | undefined;
  cache?: string | undefined;
  'no-cache'?: boolean | undefined;
  'insecure-registry'?: string[] | undefined;
}): Selection {
  return { platform: values.platform, ref: values.ref, cache: values.cache, noCache: values['no-cache'], insecureRegistries: values['insecure-registry'] };
}

/** Written like a file name: never taken for a reference (`app.tar` is a valid repository name). */
function looksLikePath(s: string): boolean {
  return /^(?:\/|\.{1,2}\/|~)/.test(s) || /\.(?:tar|tgz|tar\.gz|oci)$/i.test(s) || s === '.' || s === '..';
}

export type Source = { kind: 'archive'; path: string } | { kind: 'registry'; reference: ImageReference; text: string };

/** A path that exists is an archive; else a reference; else a clear error. */
export function classifySource(arg: string): Source {
  if (existsSync(arg) || looksLikePath(arg)) return { kind: 'archive', path: arg };
  try {
    return { kind: 'registry', reference: parseReference(arg), text: arg };
  } catch (err) {
    throw new CliError('NO_SUCH_IMAGE', `${arg}: no such file, and not an image reference (${err instanceof Error ? err.message.replace(/^invalid image reference "[^"]*": /, '') : String(err)})`, {
      cause: err,
    });
  }
}

/** For commands that record where an image came from: an absolute path, or the reference as given. */
export function sourceName(arg: string): string {
  const s = classifySource(arg);
  return s.kind === 'archive' ? resolve(s.path) : s.text;
}

export async function openSource(arg: string, sel: Selection, signal?: AbortSignal): Promise<ImageArchive> {
  const source = classifySource(arg);
  if (source.kind === 'archive') return openImageArchive(source.path, signal !== undefined ? { signal } : {});
  const cache = sel.noCache ? undefined : new BlobCache(sel.cache ?? defaultCacheDir());
  return openRegistry(source.reference, {
    ...(cache ? { cache } : {}),
    ...(sel.insecureRegistries ? { insecureRegistries: sel.insecureRegistries } : {}),
    ...(signal ? { signal } : {}),
  });
}

/** Runs `fn` with the selected image and always closes the archive (or registry source) afterwards. */
export async function withImage<T>(path: string, sel: Selection, fn: (image: Image, archive: ImageArchive) => Promise<T>): Promise<T> {
  if (sel.platform !== undefined) checkPlatform(sel.platform);
  const archive = await openSource(path, sel, sel.signal);
  try {
    const image = await archive.selectImage({
      ...(sel.platform !== undefined ? { platform: sel.platform } : {}),
      ...(sel.ref !== undefined ? { ref: sel.ref } : {}),
    });
    return await fn(image, archive);
  } finally {
    await archive.close();
  }
}

/** A malformed --platform is the user's typo, not a broken archive: a usage error. */
export function checkPlatform(value: string): void {
  try {
    parsePlatform(value);
  } catch (err) {
    throw new UsageError(`--platform: ${err instanceof Error ? err.message : String(err)} (expected os/arch[/variant], e.g. linux/arm64/v8)`);
  }
}
