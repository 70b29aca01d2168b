// Choosing one image by reference and platform, with errors that list what the archive offers.
import type { Candidate } from './candidate.js';
import { OciImageError } from './errors.js';
import { joinCapped, shorten } from './message.js';
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, platformScore } from './platform.js';
import type { Platform, SelectOptions } from './types.js';

/** Splits `name[:tag][@digest]` into its tag (undefined when there is none). */
function tagOf(ref: string): string | undefined {
  const at = ref.indexOf('@');
  const base = at >= 0 ? ref.slice(0, at) : ref;
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') && colon >= 0 ? base.slice(colon + 1) : undefined;
}

/**
 * Docker's canonical form of a name: `demo` → `docker.io/library/demo:latest`,
 * `me/app:1` → `docker.io/me/app:1`. Bare tags (no `/` and no `:`) are left alone by callers.
 */
function canonical(ref: string): string {
  let name = ref;
  const at = name.indexOf('@');
  const digest = at >= 0 ? name.slice(at) : '';
  if (at >= 0) name = name.slice(0, at);
  if (tagOf(name) === undefined && digest === '') name += ':latest';
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const hasDomain = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasDomain) name = `docker.io/${name.includes('/') ? '' : 'library/'}${name}`;
  else if (first === 'index.docker.io') name = `docker.io${name.slice(first.length)}`;
  return name + digest;
}

/** Does the name `have` (from the archive) answer the user's `want`? */
export function refMatches(want: string, have: string): boolean {
  if (want === have) return true;
  const wantIsTag = !want.includes('/') && !want.includes(':') && !want.includes('@');
  const haveIsTag = !have.includes('/') && !have.includes(':') && !have.includes('@');
  // `latest` matches `demo:latest`; an archive naming only a tag (`1.0`) answers `demo:1.0`.
  if (wantIsTag && tagOf(have) === want) return true;
  if (haveIsTag) return tagOf(want) === have;
  return canonical(want) === canonical(have);
}

function describe(c: Candidate): string {
  return `${formatPlatform(c.platform)} ${c.refs.length > 0 ? c.refs.join(', ') : '(no name)'} ${c.manifestDigest}`;
}

function lines(cs: readonly Candidate[]): string[] {
  return cs.map((c) => describe(c));
}

/** The images on offer, one per line, cut to fit a message ("… and N more"). */
function offered(cs: readonly Candidate[]): string {
  return `  ${joinCapped(lines(cs), '\n  ')}`;
}

function wantedPlatform(p: SelectOptions['platform']): Platform {
  if (p === undefined) return hostPlatform();
  return typeof p === 'string' ? parsePlatform(p) : normalizePlatform(p);
}

export function selectCandidate(all: readonly Candidate[], options: SelectOptions, archivePath: string): Candidate {
  let cs = all;
  if (options.ref !== undefined) {
    const ref = options.ref;
    cs = all.filter((c) => c.refs.some((r) => refMatches(ref, r)));
    if (cs.length === 0) {
      const names = [...new Set(all.flatMap((c) => c.refs))];
      throw new OciImageError(
        'NO_MATCHING_REF',
        `${archivePath}: no image named '${shorten(ref)}'; the archive offers ${names.length > 0 ? joinCapped(names.map((n) => `'${n}'`), ', ', 300) : 'only unnamed images'}:\n${offered(all)}`,
        { subject: ref, details: lines(all) },
      );
    }
  }
  const want = wantedPlatform(options.platform);
  const scored = cs.map((c) => ({ c, score: platformScore(want, c.platform) })).filter((x) => x.score > 0);
  if (scored.length === 0) {
    throw new OciImageError(
      'NO_MATCHING_PLATFORM',
      `${archivePath}: no image for platform ${formatPlatform(want)}${options.platform === undefined ? ' (the host; choose another with a platform option)' : ''}${
        options.ref !== undefined ? ` named '${shorten(options.ref)}'` : ''
      }; the archive offers:\n${offered(cs)}`,
      { subject: formatPlatform(want), details: lines(cs) },
    );
  }
  const best = scored.reduce((m, x) => Math.max(m, x.score), 0); // no spread: thousands of images
  const top = scored.filter((x) => x.score === best).map((x) => x.c);
  if (top.length > 1) {
    throw new OciImageError(
      'AMBIGUOUS_IMAGE',
      `${archivePath}: ${top.length} images match platform ${formatPlatform(want)}${options.ref !== undefined ? ` and name '${shorten(options.ref)}'` : ''}; choose one by name:\n${offered(top)}`,
      { subject: archivePath, details: lines(top) },
    );
  }
  return top[0]!;
}
