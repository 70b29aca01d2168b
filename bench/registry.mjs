#!/usr/bin/env node
// pnpm bench:registry — the issue's registry numbers, on the bench images served by a local
// docker-registry (Distribution) on 127.0.0.1: `oci2lxc extract REF` (cold, no cache) against
// `skopeo copy docker://… oci:DIR` + `umoci raw unpack` (LXC's oci template pipeline), and a warm
// blob cache against extracting the archive. Interleaved rounds, medians, ratios.
//
// By default everything that is written or read during a timed run (registry storage, rootfs,
// blob cache, skopeo's OCI dir, temp files of both sides, a copy of the archive) is on a tmpfs
// (/dev/shm), so that disk noise does not decide the ratio; --work-dir DIR puts it elsewhere.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchImage, QUICK_SHAPES, SHAPES } from './images.mjs';
import { measure, median } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'packages/cli/dist/bin.js');
const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    rounds: { type: 'string', default: '3' },
    'cache-dir': { type: 'string', default: join(here, 'cache') },
    compression: { type: 'string', default: 'gzip' },
    // Default: a tmpfs when there is one.
    'work-dir': { type: 'string', default: existsSync('/dev/shm') ? '/dev/shm' : tmpdir() },
    profile: { type: 'boolean' },
    // Subsets, for quicker iterations: --shape small|large, --tools archive,pull-cold,…
    shape: { type: 'string', default: 'all' },
    tools: { type: 'string' },
  },
});
const log = (s) => process.stderr.write(`${s}\n`);
const rounds = Number(opt.rounds);
const shapes = opt.quick ? QUICK_SHAPES : SHAPES;
const images = [];
for (const s of opt.shape === 'all' ? ['small', 'large'] : [opt.shape]) images.push(await benchImage(s, shapes[s], opt.compression, opt['cache-dir'], log));

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const work = mkdtempSync(join(opt['work-dir'], 'oci2lxc-bench-registry-'));
// Temp files of every child (oci2lxc's layers fetched ahead without a cache, skopeo's big files)
// go where the rest is.
const childTmp = join(work, 'tmp');
mkdirSync(childTmp);
const childEnv = { ...process.env, TMPDIR: childTmp };
for (const img of images) {
  const copy = join(work, `${img.name}.tar`);
  copyFileSync(img.archive, copy);
  img.archive = copy;
}
const port = await freePort();
writeFileSync(
  join(work, 'config.yml'),
  `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
);
const registry = spawn('docker-registry', ['serve', join(work, 'config.yml')], { stdio: 'ignore' });
registry.unref(); // stopped by the exit handler; must not keep this process alive
const cleanup = () => {
  registry.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
// The work dir may be on a tmpfs (memory): leave nothing there on Ctrl-C either.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
  } catch {
    await new Promise((r) => setTimeout(r, 50));
  }
}
const host = `127.0.0.1:${port}`;
for (const img of images) {
  execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${img.layout}:${img.tag}`, `docker://${host}/${img.name}:bench`]);
}
const warmCache = join(work, 'warm-cache');
const rootfs = join(work, 'rootfs');
const oci = join(work, 'oci');
const coldCache = join(work, 'cold-cache');
const clean = () => {
  rmSync(rootfs, { recursive: true, force: true });
  rmSync(oci, { recursive: true, force: true });
  rmSync(coldCache, { recursive: true, force: true });
};
for (const img of images) {
  clean();
  const r = spawnSync(process.execPath, [cli, 'extract', `${host}/${img.name}:bench`, rootfs, '--cache', warmCache], { encoding: 'utf8', env: childEnv });
  if (r.status !== 0) throw new Error(r.stderr);
}

const tools = {
  archive: (img) => [[process.execPath, [cli, 'extract', img.archive, rootfs, '-q']]],
  'pull-cold': (img) => [[process.execPath, [cli, 'extract', `${host}/${img.name}:bench`, rootfs, '-q', '--no-cache']]],
  // The CLI's default: cold, but filling an (empty) blob cache on the way.
  'pull-cold-cache': (img) => [[process.execPath, [cli, 'extract', `${host}/${img.name}:bench`, rootfs, '-q', '--cache', coldCache]]],
  'pull-warm': (img) => [[process.execPath, [cli, 'extract', `${host}/${img.name}:bench`, rootfs, '-q', '--cache', warmCache]]],
  'skopeo+umoci': (img) =>
    img.compression === 'zstd'
      ? null // umoci 0.4.7 rejects zstd layers
      : [
          ['skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${host}/${img.name}:bench`, `oci:${oci}:x`]],
          ['umoci', ['--log', 'error', 'raw', 'unpack', '--image', `${oci}:x`, rootfs]],
        ],
};

if (opt.tools) {
  const wanted = new Set(opt.tools.split(','));
  for (const id of Object.keys(tools)) if (!wanted.has(id)) delete tools[id];
}
// CPU seconds docker-registry has used so far (it shares the cores with the side being timed).
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const registryCpu = () => {
  try {
    const stat = readFileSync(`/proc/${registry.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / ticks;
  } catch {
    return 0;
  }
};
const runs = new Map();
log(`${rounds} round(s), work dir ${work}, load average ${loadavg()[0].toFixed(2)}`);
for (let round = 1; round <= rounds; round++) {
  for (const img of images) {
    for (const [id, make] of Object.entries(tools)) {
      const steps = make(img);
      if (!steps) continue;
      clean();
      let wall = 0;
      let rss = 0;
      let cpu = 0;
      const served0 = registryCpu();
      for (const [cmd, args] of steps) {
        const m = measure(cmd, args, { env: childEnv });
        wall += m.wall;
        rss = Math.max(rss, m.rssMiB ?? 0);
        cpu += m.cpu ?? 0;
      }
      const served = registryCpu() - served0;
      const key = `${img.name}/${id}`;
      if (!runs.has(key)) runs.set(key, []);
      runs.get(key).push({ wall, rss, cpu, served });
      log(`  round ${round} ${img.name.padEnd(11)} ${id.padEnd(13)} ${wall.toFixed(3)}s cpu ${cpu.toFixed(2)}s (+ registry ${served.toFixed(2)}s) rss ${rss.toFixed(0)}MiB`);
    }
  }
}
// --profile: one cold pull per image under node --cpu-prof (profiles in bench/results/profiles/).
if (opt.profile) {
  const dir = join(here, 'results', 'profiles');
  mkdirSync(dir, { recursive: true });
  for (const img of images) {
    clean();
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `pull-cold-${img.name}.cpuprofile`, cli, 'extract', `${host}/${img.name}:bench`, rootfs, '-q', '--no-cache'], {
      encoding: 'utf8',
      env: childEnv,
    });
    if (r.status !== 0) throw new Error(r.stderr);
    log(`  profile: ${join(dir, `pull-cold-${img.name}.cpuprofile`)}`);
  }
}

// A subset or --quick run prints its medians only (and writes no results file).
if (opt.tools || opt.shape !== 'all' || opt.quick) {
  for (const [key, r] of runs) log(`${key}: median ${median(r.map((x) => x.wall)).toFixed(3)}s, cpu ${median(r.map((x) => x.cpu)).toFixed(2)}s + registry ${median(r.map((x) => x.served)).toFixed(2)}s, peak RSS ${Math.max(...r.map((x) => x.rss)).toFixed(0)} MiB`);
  process.exit(0);
}

// A warm cache downloads no blob bytes: the summary line says how much came from the network.
const downloaded = {};
for (const img of images) {
  clean();
  const r = spawnSync(process.execPath, [cli, 'extract', `${host}/${img.name}:bench`, rootfs, '--cache', warmCache], { encoding: 'utf8', env: childEnv });
  downloaded[img.name] = /\((\S+ \S*B|0 B) downloaded/.exec(r.stderr)?.[1] ?? 'unknown';
}
clean();

const results = images.map((img) => {
  const med = (id) => {
    const r = runs.get(`${img.name}/${id}`);
    return r?.length
      ? { wall: median(r.map((x) => x.wall)), cpu: median(r.map((x) => x.cpu)), registryCpu: median(r.map((x) => x.served)), rssMiB: Math.max(...r.map((x) => x.rss)) }
      : null;
  };
  const archive = med('archive');
  const cold = med('pull-cold');
  const coldCached = med('pull-cold-cache');
  const warm = med('pull-warm');
  const pipeline = med('skopeo+umoci');
  return {
    image: img.name,
    archive,
    pullCold: cold,
    pullColdFillingCache: coldCached,
    pullWarm: warm,
    skopeoUmoci: pipeline,
    coldVsSkopeoUmoci: pipeline ? cold.wall / pipeline.wall : null,
    coldFillingCacheVsSkopeoUmoci: pipeline ? coldCached.wall / pipeline.wall : null,
    warmVsArchive: warm.wall / archive.wall,
    warmDownloaded: downloaded[img.name],
  };
});
for (const r of results) {
  log(
    `${r.image}: cold pull ${r.pullCold.wall.toFixed(2)}s${r.skopeoUmoci ? ` = ${r.coldVsSkopeoUmoci.toFixed(2)}× skopeo+umoci (${r.skopeoUmoci.wall.toFixed(2)}s; target ≤ 0.5×)` : ''}` +
      ` (filling a cache ${r.pullColdFillingCache.wall.toFixed(2)}s${r.skopeoUmoci ? ` = ${r.coldFillingCacheVsSkopeoUmoci.toFixed(2)}×` : ''}); ` +
      `warm ${r.pullWarm.wall.toFixed(2)}s = ${r.warmVsArchive.toFixed(2)}× the archive (target ≤ 1.1×), ${r.warmDownloaded} downloaded; ` +
      `CPU (user+sys, median) cold ${r.pullCold.cpu.toFixed(2)}s + registry ${r.pullCold.registryCpu.toFixed(2)}s${r.skopeoUmoci ? `, skopeo+umoci ${r.skopeoUmoci.cpu.toFixed(2)}s + registry ${r.skopeoUmoci.registryCpu.toFixed(2)}s` : ''}; ` +
      `peak RSS ${Math.max(r.pullCold.rssMiB, r.pullColdFillingCache.rssMiB, r.pullWarm.rssMiB).toFixed(0)} MiB (target < 150)`,
  );
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'registry-latest.json'), `${JSON.stringify({ date: new Date().toISOString(), loadavg: loadavg()[0], rounds, workDir: opt['work-dir'], results }, null, 2)}\n`);
