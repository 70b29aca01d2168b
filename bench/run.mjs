#!/usr/bin/env node
// pnpm bench: oci2lxc extract vs umoci raw unpack vs GNU tar vs plain decompression, on
// generated images (many small files / few large files; gzip and zstd layers), interleaved
// (A B C D A B C D …), medians of wall time, user+sys CPU time and peak RSS.
// Not part of `pnpm test` (a smoke test runs it with --quick). See README.md "Benchmarks".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchImage, QUICK_SHAPES, SHAPES } from './images.mjs';
import { hasGnuTime, measure, median } from './measure.mjs';
import { summarizeProfile } from './profile.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cliBin = join(root, 'packages/cli/dist/bin.js');

const HELP = `Usage: node bench/run.mjs [options]   (pnpm bench [options] builds first)

  --rounds N          interleaved rounds per image and tool (default 5; median reported)
  --shape S           small | large | all (default all)
  --compression C     gzip | zstd | all (default all)
  --quick             tiny images (a few hundred files / a few MiB), for a smoke run
  --profile           also run oci2lxc extract once per image under node --cpu-prof
  --no-write          do not write bench/results/latest.json
  --out FILE          results file (default bench/results/latest.json)
  --cache-dir DIR     generated images (default bench/cache)
  --work-dir DIR      where the rootfs directories are written (default: the OS temp dir)
  --no-sync           do not run sync(1) between runs (outside the timed region)
  --prepare           only build (or find) the cached images, then exit
  -h, --help          this help`;

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string' },
    shape: { type: 'string', default: 'all' },
    compression: { type: 'string', default: 'all' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    out: { type: 'string', default: join(here, 'results', 'latest.json') },
    'cache-dir': { type: 'string', default: join(here, 'cache') },
    'work-dir': { type: 'string', default: tmpdir() },
    'no-sync': { type: 'boolean', default: false },
    prepare: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}
const rounds = Number(opt.rounds ?? 5);
const shapes = opt.shape === 'all' ? ['small', 'large'] : [opt.shape];
const compressions = opt.compression === 'all' ? ['gzip', 'zstd'] : [opt.compression];
for (const s of shapes) if (!(s in SHAPES)) throw new Error(`--shape: unknown shape ${s}`);
for (const c of compressions) if (c !== 'gzip' && c !== 'zstd') throw new Error(`--compression: unknown compression ${c}`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');

const log = (s) => process.stderr.write(`${s}\n`);

function version(cmd, args, pattern) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const text = `${r.stdout}${r.stderr}`;
  return (pattern ? pattern.exec(text)?.[1] : text.split('\n')[0])?.trim() ?? null;
}

// ---- what can run -----------------------------------------------------------------------------

const cliHelp = existsSync(cliBin) ? spawnSync(process.execPath, [cliBin, 'extract', '--help'], { encoding: 'utf8' }) : null;
const cliExtract = cliHelp?.status === 0 && /oci2lxc extract/.test(cliHelp.stdout);
const cliInspect = cliExtract && spawnSync(process.execPath, [cliBin, 'inspect', '--help'], { encoding: 'utf8' }).status === 0;
async function libExtractAvailable() {
  try {
    const m = await import(join(root, 'packages/oci-extract/dist/index.js'));
    return typeof m.extractImage === 'function';
  } catch {
    return false;
  }
}
const oci2lxcVia = cliExtract ? 'cli' : (await libExtractAvailable()) ? 'library' : null;
const hasUmoci = version('umoci', ['--version']) !== null;

if (!hasGnuTime) log('note: /usr/bin/time (GNU time) is missing: CPU time and peak RSS are not measured. Install it with `apt-get install time`.');
if (!oci2lxcVia) log('note: neither the oci2lxc CLI (packages/cli/dist/bin.js extract) nor extractImage (packages/oci-extract/dist) is available: oci2lxc is not measured. Run `pnpm build`.');
else if (oci2lxcVia === 'library') log('note: the oci2lxc CLI has no extract command yet: measuring bench/extract-lib.mjs (extractImage from @oci2lxc/oci-extract).');

const tools = [
  {
    id: 'oci2lxc',
    label: oci2lxcVia === 'library' ? 'oci2lxc (extractImage)' : 'oci2lxc extract',
    ok: () => oci2lxcVia !== null,
    cmd: (img, dest) =>
      oci2lxcVia === 'cli'
        ? [process.execPath, [cliBin, 'extract', img.archive, dest, '--quiet']]
        : [process.execPath, [join(here, 'extract-lib.mjs'), img.archive, dest]],
  },
  {
    id: 'umoci',
    label: 'umoci raw unpack',
    // umoci 0.4.7 (Debian 12) rejects zstd layers ("blob is not correct mediatype").
    ok: (img) => hasUmoci && img.compression === 'gzip',
    cmd: (img, dest) => ['umoci', ['--log', 'error', 'raw', 'unpack', '--image', `${img.layout}:${img.tag}`, dest]],
  },
  {
    id: 'tar',
    label: img => (img.compression === 'gzip' ? 'GNU tar -xzf' : 'GNU tar --zstd -xf'),
    ok: () => true,
    cmd: (img, dest) => [
      'sh',
      ['-c', `set -e; mkdir -p "$0"; for l in "$@"; do tar ${img.compression === 'gzip' ? '-xz' : '--zstd -x'} -f "$l" -C "$0"; done`, dest, ...img.layers.map((l) => l.path)],
    ],
  },
  {
    id: 'floor',
    label: (img) => (img.compression === 'gzip' ? 'gzip -dc >/dev/null' : 'zstd -dc >/dev/null'),
    ok: () => true,
    cmd: (img) => ['sh', ['-c', `set -e; for l in "$@"; do ${img.compression === 'gzip' ? 'gzip -dc' : 'zstd -qdc'} "$l" >/dev/null; done`, 'floor', ...img.layers.map((l) => l.path)]],
  },
  {
    // The same decompressors oci2lxc uses (node:zlib, zstd-napi), streaming to nowhere.
    id: 'nodefloor',
    label: (img) => (img.compression === 'gzip' ? 'node:zlib gunzip → null' : 'zstd-napi → null'),
    ok: () => existsSync(join(root, 'packages/oci-extract/package.json')),
    cmd: (img) => [process.execPath, [join(here, 'decompress-node.mjs'), img.compression, ...img.layers.map((l) => l.path)]],
  },
];
const labelOf = (tool, img) => (typeof tool.label === 'function' ? tool.label(img) : tool.label);

// ---- images -------------------------------------------------------------------------------------

const shapeParams = opt.quick ? QUICK_SHAPES : SHAPES;
mkdirSync(opt['cache-dir'], { recursive: true });
const images = [];
for (const s of shapes) for (const c of compressions) images.push(await benchImage(s, shapeParams[s], c, opt['cache-dir'], log));
if (opt.prepare) process.exit(0);

// ---- extraction runs, interleaved ---------------------------------------------------------------

const work = mkdtempSync(join(opt['work-dir'], 'oci2lxc-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const clean = (dest) => {
  rmSync(dest, { recursive: true, force: true });
  if (!opt['no-sync']) spawnSync('sync');
};

const runs = new Map(); // `${image}/${tool}` → [{wall,cpu,rssMiB}]
log(`${rounds} round(s) × ${images.length} image(s) × ${tools.length} tools, interleaved; load average at start ${loadavg()[0].toFixed(2)}`);
const loadStart = loadavg()[0];
for (let round = 1; round <= rounds; round++) {
  for (const img of images) {
    for (const tool of tools) {
      if (!tool.ok(img)) continue;
      const dest = join(work, 'rootfs');
      clean(dest);
      const [cmd, args] = tool.cmd(img, dest);
      const m = measure(cmd, args);
      const key = `${img.name}/${tool.id}`;
      if (!runs.has(key)) runs.set(key, []);
      runs.get(key).push(m);
      log(`  round ${round} ${img.name.padEnd(11)} ${tool.id.padEnd(8)} ${m.wall.toFixed(3)}s${m.cpu !== null ? ` cpu ${m.cpu.toFixed(2)}s rss ${m.rssMiB.toFixed(0)}MiB` : ''}`);
    }
  }
}
clean(join(work, 'rootfs'));

const results = [];
for (const img of images) {
  const med = {};
  for (const tool of tools) {
    const r = runs.get(`${img.name}/${tool.id}`);
    if (!r) continue;
    med[tool.id] = { wall: median(r.map((x) => x.wall)), cpu: median(r.map((x) => x.cpu)), rssMiB: median(r.map((x) => x.rssMiB)), rssMaxMiB: Math.max(...r.map((x) => x.rssMiB ?? 0)) || null };
  }
  for (const tool of tools) {
    const r = runs.get(`${img.name}/${tool.id}`);
    if (!r) continue;
    const m = med[tool.id];
    const ratio = (ref) => (med[ref] && med[ref].wall ? m.wall / med[ref].wall : null);
    results.push({
      image: img.name,
      tool: tool.id,
      label: labelOf(tool, img),
      rounds: r,
      median: m,
      vsUmoci: ratio('umoci'),
      vsTar: ratio('tar'),
      vsFloor: ratio('floor'),
      vsNodeFloor: ratio('nodefloor'),
    });
  }
}

// ---- opening the archive (headers only) and inspect latency ------------------------------------

const openStats = [];
for (const img of images) {
  const r = spawnSync(process.execPath, [join(here, 'open-archive.mjs'), img.archive, String(Math.max(3, rounds))], { encoding: 'utf8' });
  if (r.status !== 0) {
    log(`open-archive failed on ${img.name}: ${r.stderr.trim().slice(-500)}`);
    continue;
  }
  const doc = JSON.parse(r.stdout);
  if (doc.available) openStats.push({ image: img.name, archiveBytes: img.archiveBytes, ...doc });
}
if (openStats.length === 0) log('note: openImageArchive is not available (packages/oci-tar-image/dist): archive opening is not measured.');

const inspectStats = [];
if (cliInspect) {
  const nodeStart = [];
  for (let i = 0; i < Math.max(3, rounds); i++) nodeStart.push(measure(process.execPath, ['-e', '0']).wall);
  for (const img of images.filter((i) => i.compression === 'gzip')) {
    const walls = [];
    const rss = [];
    for (let i = 0; i < Math.max(3, rounds); i++) {
      const m = measure(process.execPath, [cliBin, 'inspect', img.archive, '--json']);
      walls.push(m.wall);
      rss.push(m.rssMiB);
    }
    inspectStats.push({ image: img.name, archiveBytes: img.archiveBytes, wall: median(walls), rssMiB: median(rss), nodeStartupWall: median(nodeStart) });
  }
}

// ---- profile --------------------------------------------------------------------------------------

const profiles = [];
if (opt.profile && oci2lxcVia) {
  // One profiled run per image (main thread only: zlib work on the libuv pool shows as idle).
  for (const img of images) {
    const dir = join(work, `cpuprof-${img.name}`);
    const dest = join(work, 'rootfs');
    clean(dest);
    const [, args] = tools[0].cmd(img, dest);
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) log(`profiled run failed on ${img.name}: ${r.stderr.slice(-500)}`);
    else {
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      profiles.push({ image: img.name, ...summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), 10) });
    }
    clean(dest);
  }
}

// ---- targets -----------------------------------------------------------------------------------

const get = (image, tool) => results.find((r) => r.image === image && r.tool === tool);
const targets = [];
const oci = results.filter((r) => r.tool === 'oci2lxc');
const check = (name, value, limit, fmt = (v) => `${v.toFixed(2)}x`) =>
  targets.push({ target: name, measured: value === null ? 'n/a' : fmt(value), limit: fmt(limit), met: value === null ? null : value <= limit });
for (const r of oci) {
  if (r.vsUmoci !== null) check(`${r.image}: wall ≤ 1.0x umoci`, r.vsUmoci, 1.0);
  if (r.vsTar !== null) check(`${r.image}: wall ≤ 1.0x GNU tar`, r.vsTar, 1.0);
}
for (const r of oci) {
  if (r.vsUmoci !== null) check(`${r.image}: wall ≤ 0.7x umoci`, r.vsUmoci, 0.7);
  if (r.vsFloor !== null) check(`${r.image}: wall ≤ 1.3x decompression floor (gzip/zstd -dc)`, r.vsFloor, 1.3);
  if (r.vsNodeFloor !== null) check(`${r.image}: wall ≤ 1.3x node decompression floor (informational)`, r.vsNodeFloor, 1.3);
}
const mib = (v) => `${v.toFixed(0)} MiB`;
for (const r of oci) if (r.median.rssMaxMiB !== null) check(`${r.image}: peak RSS < 150 MiB`, r.median.rssMaxMiB, 150, mib);
for (const c of compressions) {
  const s = get(`small-${c}`, 'oci2lxc');
  const l = get(`large-${c}`, 'oci2lxc');
  if (s?.median.rssMaxMiB && l?.median.rssMaxMiB) check(`peak RSS flat, large/small (${c})`, l.median.rssMaxMiB / s.median.rssMaxMiB, 1.25);
}
for (const o of openStats.filter((o) => o.image.startsWith('large'))) {
  check(`${o.image}: opening reads < 1 MB (of ${(o.archiveBytes / 1e6).toFixed(0)} MB)`, o.bytesReadOpen / 1e6, 1, (v) => `${(v * 1e6).toLocaleString('en')} B`);
}

// ---- report -------------------------------------------------------------------------------------

const f2 = (v) => (v === null || v === undefined ? '–' : v.toFixed(2));
const f3 = (v) => (v === null || v === undefined ? '–' : v.toFixed(3));
const fx = (v) => (v === null || v === undefined ? '–' : `${v.toFixed(2)}x`);
const lines = [];
lines.push('| image | files | unpacked | layers | archive |', '|---|---:|---:|---|---:|');
for (const img of images) {
  lines.push(`| ${img.name} | ${img.files.toLocaleString('en')} | ${(img.unpackedBytes / 2 ** 20).toFixed(1)} MiB | ${img.layers.length} (${img.compression}, whiteouts) | ${(img.archiveBytes / 2 ** 20).toFixed(1)} MiB |`);
}
lines.push('', `| image | tool | wall s (median of ${rounds}) | vs umoci | vs tar | vs floor | vs node floor | user+sys s | peak RSS MiB |`, '|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  lines.push(`| ${r.image} | ${r.label} | ${f3(r.median.wall)} | ${fx(r.vsUmoci)} | ${fx(r.vsTar)} | ${fx(r.vsFloor)} | ${fx(r.vsNodeFloor)} | ${f2(r.median.cpu)} | ${r.median.rssMaxMiB === null ? '–' : r.median.rssMaxMiB.toFixed(0)} |`);
}
for (const img of images) if (!tools[1].ok(img) && img.compression === 'zstd') {
  lines.push('', 'umoci: n/a for zstd images (umoci 0.4.7 rejects zstd layers).');
  break;
}
if (openStats.length > 0) {
  lines.push('', '| archive | size | open: bytes read | open: ms | + selectImage: bytes read | + selectImage: ms |', '|---|---:|---:|---:|---:|---:|');
  for (const o of openStats) {
    lines.push(`| ${o.image} | ${(o.archiveBytes / 2 ** 20).toFixed(1)} MiB | ${o.bytesReadOpen.toLocaleString('en')} | ${f2(o.openMs)} | ${o.bytesReadSelect.toLocaleString('en')} | ${f2(o.selectMs)} |`);
  }
}
if (inspectStats.length > 0) {
  lines.push('', `| \`oci2lxc inspect --json\` | wall ms | node startup ms | peak RSS MiB |`, '|---|---:|---:|---:|');
  for (const i of inspectStats) lines.push(`| ${i.image} (${(i.archiveBytes / 2 ** 20).toFixed(0)} MiB) | ${(i.wall * 1000).toFixed(0)} | ${(i.nodeStartupWall * 1000).toFixed(0)} | ${i.rssMiB === null ? '–' : i.rssMiB.toFixed(0)} |`);
}
if (targets.length > 0) {
  lines.push('', '| target | measured | limit | met |', '|---|---:|---:|:---:|');
  for (const t of targets) lines.push(`| ${t.target} | ${t.measured} | ${t.limit} | ${t.met === null ? '–' : t.met ? 'yes' : 'no'} |`);
}
for (const profile of profiles) {
  lines.push('', `CPU profile of oci2lxc extract, ${profile.image} (main thread, ${profile.totalMs.toFixed(0)} ms sampled), top self time:`, '', '| function | where | self ms | % |', '|---|---|---:|---:|');
  for (const p of profile.top) lines.push(`| ${p.functionName} | ${p.where} | ${p.selfMs.toFixed(0)} | ${p.percent.toFixed(1)} |`);
  lines.push('', '| by module | self ms | % |', '|---|---:|---:|');
  for (const p of profile.byModule.slice(0, 8)) lines.push(`| ${p.module} | ${p.selfMs.toFixed(0)} | ${p.percent.toFixed(1)} |`);
}

const machine = {
  cores: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  node: process.version,
  loadAverageAtStart: loadStart,
  loadAverageAtEnd: loadavg()[0],
};
const toolVersions = {
  oci2lxc: cliExtract ? version(process.execPath, [cliBin, '--version']) : oci2lxcVia,
  umoci: version('umoci', ['--version'], /umoci version (\S+)/),
  tar: version('tar', ['--version'], /\(GNU tar\) (\S+)/),
  gzip: version('gzip', ['--version'], /gzip (\S+)/),
  zstd: version('zstd', ['--version'], /(v[\d.]+)/),
};
lines.push('', `Machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}; load average ${machine.loadAverageAtStart.toFixed(2)} → ${machine.loadAverageAtEnd.toFixed(2)}.`);
lines.push(`Tools: ${Object.entries(toolVersions).map(([k, v]) => `${k} ${v ?? 'n/a'}`).join(', ')}.`);

const table = lines.join('\n');
console.log(table);

if (!opt['no-write'] && !opt.quick) {
  mkdirSync(dirname(opt.out), { recursive: true });
  const doc = {
    date: new Date().toISOString(),
    commit: version('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
    options: { rounds, shapes, compressions, quick: opt.quick, sync: !opt['no-sync'], workDir: opt['work-dir'] },
    machine,
    tools: toolVersions,
    oci2lxcVia,
    images: images.map(({ dir, layout, archive, layers, ...rest }) => ({ ...rest, layers: layers.map(({ path, ...l }) => l) })),
    results,
    open: openStats,
    inspect: inspectStats,
    targets,
    profiles,
    markdown: table,
  };
  writeFileSync(opt.out, `${JSON.stringify(doc, null, 2)}\n`);
  log(`wrote ${relative(process.cwd(), opt.out)}`);
}
