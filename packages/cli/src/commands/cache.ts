import { BlobCache, defaultCacheDir } from '@oci2lxc/oci-registry';
import { commonOptions, type OptionSpec } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { defineCommand } from '../command.js';

const options = {
  cache: { type: 'string', value: 'DIR', help: 'the cache directory' },
  'older-than': { type: 'string', value: 'AGE', help: 'prune: blobs unused for AGE (e.g. 30d, 12h)' },
  'max-size': { type: 'string', value: 'SIZE', help: 'prune: the least recently used until the rest fits in SIZE (e.g. 10G, 500M)' },
  ...commonOptions,
} as const satisfies OptionSpec;

/** `30d`, `12h`, `45m`, `90s` → milliseconds. */
export function parseAge(value: string): number {
  const m = /^(\d+)\s*([smhdw])$/i.exec(value.trim());
  if (!m) throw new UsageError(`--older-than must look like 30d, 12h or 45m (got '${value}')`, 'cache');
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit * 1000;
}

/** `10G`, `500M`, `1024` → bytes (binary units). */
export function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`--max-size must look like 10G, 500M or a byte count (got '${value}')`, 'cache');
  const exp = ['', 'k', 'm', 'g', 't'].indexOf(m[2]!.toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** exp);
}

export const cache = defineCommand({
  name: 'cache',
  summary: 'list or prune the blob cache of registry pulls',
  text: {
    usage: `oci2lxc cache list [--cache DIR] [--json]
       oci2lxc cache prune [--cache DIR] [--older-than AGE] [--max-size SIZE] [--json]`,
    about: `The blob cache of registry pulls: layers and configs by digest, each verified before it was
stored and again when it is read. Default directory: /var/cache/oci2lxc as root, else
$XDG_CACHE_HOME/oci2lxc (~/.cache/oci2lxc).`,
    more: `  list                the cached blobs, least recently used first, and their total size
  prune               remove blobs: all of them, or with --older-than those unused for AGE,
                      and with --max-size the least recently used until the rest fits in SIZE`,
    examples: ['oci2lxc cache list', 'oci2lxc cache prune --older-than 30d --max-size 10G'],
  },
  options,
  async body({ values, positionals: pos }, io) {
    const [action, extra] = pos;
    if (action !== 'list' && action !== 'prune') throw new UsageError(action === undefined ? 'missing <list|prune>' : `unknown action '${action}' (list or prune)`, 'cache');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, 'cache');
    const store = new BlobCache(values.cache ?? defaultCacheDir());
    if (action === 'list') {
      if (values['older-than'] !== undefined || values['max-size'] !== undefined) throw new UsageError('--older-than and --max-size are for prune', 'cache');
      const entries = await store.list();
      const total = entries.reduce((n, e) => n + e.size, 0);
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ dir: store.dir, blobs: entries.map((e) => ({ digest: e.digest, size: e.size, lastUsed: e.lastUsed.toISOString() })), bytes: total }, null, 2)}\n`);
      } else {
        for (const e of entries) io.stdout.write(`${e.digest}  ${formatBytes(e.size).padStart(9)}  ${e.lastUsed.toISOString()}\n`);
        io.stdout.write(`${entries.length} blob(s), ${formatBytes(total)} in ${store.dir}\n`);
      }
      return 0;
    }
    const { removed, kept } = await store.prune({
      ...(values['older-than'] !== undefined ? { olderThanMs: parseAge(values['older-than']) } : {}),
      ...(values['max-size'] !== undefined ? { maxBytes: parseSize(values['max-size']) } : {}),
    });
    const freed = removed.reduce((n, e) => n + e.size, 0);
    if (values.json) io.stdout.write(`${JSON.stringify({ dir: store.dir, removed: removed.map((e) => e.digest), freed, kept: kept.length }, null, 2)}\n`);
    else if (!values.quiet) io.stdout.write(`removed ${removed.length} blob(s), ${formatBytes(freed)}; ${kept.length} kept in ${store.dir}\n`);
    return 0;
  },
});
