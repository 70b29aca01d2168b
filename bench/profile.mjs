// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per module.
import { basename } from 'node:path';

function moduleOf(url) {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').split('/').slice(0, 2).join('/');
  const pnpm = /node_modules\/\.pnpm\/([^/]+?)@[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm) return pnpm[2];
  const pkg = /packages\/([^/]+)\/dist\//.exec(url);
  if (pkg) return `@oci2lxc/${pkg[1]}`;
  return basename(url);
}

/** { totalMs, top: [{functionName, where, selfMs, percent}], byModule: [{module, selfMs, percent}] } */
export function summarizeProfile(profile, topN = 15) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const { samples, timeDeltas } = profile;
  // timeDeltas[i] is the time before sample i; attribute it to the sample's function.
  for (let i = 0; i < samples.length; i++) self.set(samples[i], (self.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map();
  const mods = new Map();
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const name = cf.functionName || '(anonymous)';
    const where = cf.url ? `${moduleOf(cf.url)} ${basename(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${name}\u0000${where}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const mod = name.startsWith('(') && !cf.url ? name : moduleOf(cf.url);
    mods.set(mod, (mods.get(mod) ?? 0) + us);
  }
  const pct = (us) => (total > 0 ? (100 * us) / total : 0);
  const top = [...fns.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([key, us]) => {
      const [functionName, where] = key.split('\u0000');
      return { functionName, where, selfMs: us / 1000, percent: pct(us) };
    });
  const byModule = [...mods.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([module, us]) => ({ module, selfMs: us / 1000, percent: pct(us) }));
  return { totalMs: total / 1000, top, byModule };
}
