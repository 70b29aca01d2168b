// Issue #11: no string an archive (or the command line) carries may add a key to a generated
// config. Every slot below gets a hostile string (line breaks, NUL, controls, quotes and a whole
// `lxc.hook.pre-start` line); `create`, `config` (lxc and pve) and the LXC template run on it, and
// every file they write is parsed with LXC's (or pve's) line rules. Per slot, refusal (exit 1,
// nothing left behind) or exact/escaped carriage are fine; a key that the benign run of the same
// slot does not have never is. A sample then goes through real lxc-start, and the sentinel file
// the hook would create must never appear.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { busyboxLayer, dir, editJson, file, tempDir, writeArchive, type ArchiveSpec, type ImageSpec, type RuntimeConfig, type WriteOptions } from '@oci2lxc/fixtures';
import { parseConfigText, parsePveText } from '@oci2lxc/lxc-config';
import { main } from '../src/main.js';
import { isRoot, runCli, templateBin } from './run-cli.js';

const tmp = tempDir('oci2lxc-injection-');
afterAll(() => void spawnSync('rm', ['-rf', '--one-file-system', tmp.path]));
const sentinelDir = join(tmp.path, 'sentinel');
mkdirSync(sentinelDir);
const SENTINEL = join(sentinelDir, 'PWNED');
const hook = `lxc.hook.pre-start = /bin/touch ${SENTINEL}`;

// Two payloads: everything at once, and a clean "\n + hook line" that no earlier character refuses first.
const PAYLOADS: Record<string, string> = {
  all: `a\n${hook}\r${hook}\0${hook}\n lxc.hook.pre-start: /bin/touch ${SENTINEL}\n"'\x01\x1b\x7f\u0085\u2028\u2029 "q" 'q' #x =y %z`,
  newline: `a\n${hook}\n`,
};
const noNul = (s: string): string => s.replace(/\0/g, '');
const hostArch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[arch()] ?? arch();

const layer = [
  dir('bin'),
  file('bin/sh', '#!/bin/true\n', { mode: 0o755 }),
  file('bin/env', '#!/bin/true\n', { mode: 0o755 }),
  file('bin/app', 'x', { mode: 0o755 }),
  dir('etc'),
  file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'),
  file('etc/group', 'root:x:0:\n'),
  dir('srv'),
];
const baseConfig: RuntimeConfig = {
  Cmd: ['/bin/app', 'a b'],
  Env: ['A=1'],
  WorkingDir: '/srv',
  User: '0',
  StopSignal: 'SIGTERM',
  Labels: { l: 'v' },
  ExposedPorts: { '80/tcp': {} },
  Volumes: { '/data': {} },
};

interface Slot {
  name: string;
  /** A value that works for this slot (default 'x'): the benign run's keys are the expected ones. */
  benign?: string;
  /** The archive for payload p. */
  image?: (p: string) => Partial<ImageSpec>;
  config?: (p: string) => RuntimeConfig;
  format?: ArchiveSpec['format'];
  mutate?: (p: string) => WriteOptions['mutate'];
  archiveName?: (p: string) => string;
  containerName?: (p: string) => string;
  lxcpath?: (p: string) => string;
  createArgs?: (p: string) => string[];
  configArgs?: (p: string) => string[];
}

const cfg = (over: (p: string) => RuntimeConfig) => (p: string): RuntimeConfig => ({ ...baseConfig, ...over(p) });
const index = (edit: (m: Record<string, unknown>, p: string) => void) => (p: string): WriteOptions['mutate'] => (files) =>
  editJson<{ manifests: Array<Record<string, unknown>> }>(files, 'index.json', (doc) => {
    edit(doc.manifests[0]!, p);
  });

const SLOTS: Slot[] = [
  { name: 'Cmd[0]', config: cfg((p) => ({ Cmd: [`/bin/${p}`] })) },
  { name: 'Cmd[1]', config: cfg((p) => ({ Cmd: ['/bin/app', p] })) },
  { name: 'Entrypoint as a string', config: cfg((p) => ({ Entrypoint: p as unknown as string[], Cmd: null })) },
  { name: 'Env value', config: cfg((p) => ({ Env: [`A=${p}`] })) },
  { name: 'Env name', config: cfg((p) => ({ Env: [`${p}=1`] })) },
  { name: 'WorkingDir', config: cfg((p) => ({ WorkingDir: `/srv/${p}` })) },
  { name: 'User', benign: '0', config: cfg((p) => ({ User: p })) },
  { name: 'StopSignal', benign: 'TERM', config: cfg((p) => ({ StopSignal: p })) },
  { name: 'Label key', config: cfg((p) => ({ Labels: { [p]: 'v' } })) },
  { name: 'Label value', config: cfg((p) => ({ Labels: { l: p } })) },
  { name: 'ExposedPorts', config: cfg((p) => ({ ExposedPorts: { [p]: {} } })) },
  { name: 'Volumes', config: cfg((p) => ({ Volumes: { [p]: {} } })) },
  { name: 'config author/variant/os.version', image: (p) => ({ extraConfig: { author: p, 'os.version': p, 'os.features': [p] } }) },
  { name: 'manifest annotation', image: (p) => ({ annotations: { [p]: p } }) },
  { name: 'ref.name', image: (p) => ({ ref: p }) },
  { name: 'platform.variant', image: (p) => ({ platform: { os: 'linux', architecture: hostArch, variant: p } }) },
  { name: 'platform.os', benign: 'linux', image: (p) => ({ platform: { os: p, architecture: hostArch } }) },
  { name: 'platform.architecture', benign: hostArch, image: (p) => ({ platform: { os: 'linux', architecture: p } }) },
  { name: 'platform os.version/os.features', mutate: index((m, p) => Object.assign(m.platform as object, { 'os.version': p, 'os.features': [p] })) },
  { name: 'index descriptor annotations', mutate: index((m, p) => (m.annotations = { 'org.opencontainers.image.ref.name': 'demo', [p]: p })) },
  { name: 'layer media type', benign: 'application/vnd.oci.image.layer.v1.tar+gzip', image: (p) => ({ layers: [{ entries: layer, mediaType: p }] }) },
  { name: 'docker RepoTags', format: 'docker', image: (p) => ({ ref: p }) },
  { name: 'docker25 RepoTags', format: 'docker25', image: (p) => ({ ref: `demo:${p}` }) },
  { name: 'archive path', archiveName: (p) => `dir-${noNul(p)}/image ${noNul(p)}.tar` },
  { name: 'container name', containerName: (p) => `c${p}` },
  { name: 'lxcpath', lxcpath: (p) => `lxc-${noNul(p)}` },
  { name: '--network veth:BRIDGE', createArgs: (p) => ['--network', `veth:${noNul(p)}`] },
  { name: '--idmap', benign: '0:100000:65536', createArgs: (p) => ['--idmap', noNul(p)] },
  { name: '--ref', benign: 'demo:1', createArgs: (p) => ['--ref', noNul(p)], configArgs: (p) => ['--ref', noNul(p)] },
  { name: '--platform', benign: `linux/${hostArch}`, createArgs: (p) => ['--platform', noNul(p)], configArgs: (p) => ['--platform', noNul(p)] },
];

interface Outcome {
  status: number;
  stderr: string;
  /** key lists read back from every file written (or printed), by what wrote it. */
  keys: Record<string, string[]>;
}

async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { stdout: { write: (c: string) => ((stdout += c), true) }, stderr: { write: (c: string) => ((stderr += c), true) } });
  return { status, stdout, stderr };
}

const lxcKeys = (text: string): string[] => parseConfigText(text).map((e) => e.key);
// Environment lines may come and go with the route (a value no line can carry goes to the wrapper).
const structural = (keys: string[]): string[] => keys.filter((k) => !k.startsWith('lxc.environment'));

function spawnAsync(cmd: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

let caseNo = 0;
async function runSlot(slot: Slot, p: string): Promise<Record<string, Outcome>> {
  const dirPath = join(tmp.path, `case-${++caseNo}`);
  mkdirSync(dirPath);
  const archive = join(dirPath, slot.archiveName?.(p) ?? 'image.tar');
  const spec: ArchiveSpec = {
    format: slot.format ?? 'oci',
    images: [{ ref: 'demo:1', config: slot.config?.(p) ?? baseConfig, layers: [layer], ...slot.image?.(p) }],
  };
  writeArchive(spec, archive, slot.mutate ? { mutate: slot.mutate(p) } : {});
  const out: Record<string, Outcome> = {};

  // create
  const lxcpath = join(dirPath, slot.lxcpath?.(p) ?? 'lxc');
  const name = slot.containerName?.(p) ?? 'ct';
  const c = await cli(['create', name, archive, '--lxcpath', lxcpath, '--network', 'empty', '--lxc-version', '5.0', '-q', ...(slot.createArgs?.(p) ?? [])]);
  const created = join(lxcpath, name, 'config');
  if (c.status === 0) out.create = { status: 0, stderr: c.stderr, keys: { config: lxcKeys(readFileSync(created, 'utf8')) } };
  else {
    out.create = { status: c.status, stderr: c.stderr, keys: {} };
    // Nothing left behind: no container, no staging directory.
    expect(existsSync(lxcpath) ? readdirSync(lxcpath) : [], `${slot.name}: ${c.stderr}`).toEqual([]);
  }
  rmSync(lxcpath, { recursive: true, force: true });

  // config, both flavours (no rootfs: nothing written)
  for (const [flavor, version] of [['lxc', '5.0'], ['pve', '6.0.5']] as const) {
    const r = await cli(['config', archive, '--flavor', flavor, '--lxc-version', version, '-q', ...(slot.configArgs?.(p) ?? [])]);
    const keys: Record<string, string[]> = r.status === 0 ? { stdout: flavor === 'lxc' ? lxcKeys(r.stdout) : parsePveText(r.stdout).map((e) => e.key) } : {};
    if (r.status === 0 && flavor === 'pve') {
      // Every pve line is a comment (URI-encoded), an option, or an lxc.* key: nothing else.
      for (const l of r.stdout.split('\n')) expect(l === '' || /^(#[\x20-\x7e]*|[a-z][a-z_]*\d*: \S.*|lxc\.[a-z0-9_.-]+: \S.*)$/.test(l), JSON.stringify(l)).toBe(true);
    }
    out[`config-${flavor}`] = { status: r.status, stderr: r.stderr, keys };
  }

  // the LXC template, as lxc-create runs it (a container dir with lxc-create's config)
  const ctDir = join(dirPath, 'tpl');
  mkdirSync(join(ctDir, 'rootfs'), { recursive: true });
  writeFileSync(join(ctDir, 'config'), 'lxc.rootfs.path = dir:/nonexistent\n');
  const t = await spawnAsync(process.execPath, [templateBin, '--path', ctDir, '--name', noNul(name), '--rootfs', join(ctDir, 'rootfs'), '--archive', archive, '--lxc-version', '5.0', '-q', ...(slot.configArgs?.(p) ?? [])]);
  const after = readFileSync(join(ctDir, 'config'), 'utf8');
  // A failed template run leaves lxc-create's config as it was (lxc-create then removes the container).
  if (t.status !== 0) expect(after).toBe('lxc.rootfs.path = dir:/nonexistent\n');
  out.template = { status: t.status ?? -1, stderr: t.stderr, keys: t.status === 0 ? { config: lxcKeys(after) } : {} };
  return out;
}

// Concurrent: most of the time is spent waiting for child processes (the template, lxc-config).
describe.concurrent('no archive string or option adds a config key (property over every slot)', () => {
  const benignRuns: Record<string, Promise<Record<string, Outcome>>> = {};
  const all = SLOTS.flatMap((s) => Object.entries(PAYLOADS).map(([pname, p]) => [s.name, pname, s, p] as const));
  it.each(all)('%s (%s payload)', async (_slot, _p, slot, payload) => {
    // One benign run per slot, shared by its payloads.
    const benign = await (benignRuns[slot.name] ??= runSlot(slot, slot.benign ?? 'x'));
    const hostile = await runSlot(slot, payload);
    for (const [what, b] of Object.entries(benign)) {
      const h = hostile[what]!;
      const label = `${slot.name} / ${what}: ${h.stderr}`;
      expect(b.status, `benign ${slot.name} / ${what}: ${b.stderr}`).toBe(0);
      // A refusal is a typed error (or a usage error for a bad name), one line on stderr.
      expect([0, 1, 2], label).toContain(h.status);
      if (h.status === 1) expect(h.stderr, label).toMatch(/error [A-Z_]+: [^\n]*\n$/);
      for (const [file, keys] of Object.entries(h.keys)) {
        expect(keys.filter((k) => k.includes('hook')), label).toEqual([]);
        expect(structural(keys), `${label} (${file})`).toEqual(structural(b.keys[file]!));
      }
    }
    expect(existsSync(SENTINEL)).toBe(false);
  });
});

const lxcAvailable = spawnSync('lxc-start', ['--version']).status === 0 && existsSync('/bin/busybox');

describe.skipIf(!isRoot || !lxcAvailable)('the issue\'s four injections through real lxc-start', () => {
  const lxcpath = join(tmp.path, 'real-lxc');
  const names: string[] = [];
  afterAll(() => {
    for (const n of names) spawnSync('lxc-stop', ['-n', n, '-P', lxcpath, '-k']);
  });

  it.each([
    ['OCI ref.name annotation', 'oci', { ref: `demo\n${hook}` }],
    ['Docker RepoTags', 'docker', { ref: `demo:1\n${hook}` }],
    ['platform.variant', 'oci', { platform: { os: 'linux', architecture: hostArch, variant: `v1\n${hook}` } }],
    ['archive file name', 'oci', {}],
  ] as const)('%s: the container starts, the hook never runs on the host', (what, format, over) => {
    const name = `inj-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    names.push(name);
    const archive = join(tmp.path, `real-${names.length}`, what === 'archive file name' ? `x\n${hook}\n.tar` : 'image.tar');
    writeArchive({ format, images: [{ ref: 'demo:1', config: { Cmd: ['/bin/true'] }, layers: [busyboxLayer()], ...over }] }, archive);
    const r = runCli(['create', name, archive, '--lxcpath', lxcpath, '--network', 'empty', '-q']);
    // These strings only reach comments: carried, escaped on one line.
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(lxcpath, name, 'config'), 'utf8');
    // (oci-tar-image lower-cases the variant.)
    expect(text.toLowerCase()).toContain(`\\n${hook}`.toLowerCase());
    expect(lxcKeys(text).filter((k) => k.includes('hook'))).toEqual([]);
    const start = spawnSync('lxc-start', ['-n', name, '-P', lxcpath, '-F', '-l', 'INFO', '-o', join(tmp.path, `${name}.log`)], { encoding: 'utf8', timeout: 30_000 });
    expect(start.status, `${start.stderr}\n${readFileSync(join(tmp.path, `${name}.log`), 'utf8')}`).toBe(0);
    // LXC's log lists the hooks it ran (common.conf's own, e.g. lxcfs): none of them is ours.
    expect(readFileSync(join(tmp.path, `${name}.log`), 'utf8')).not.toContain(SENTINEL);
    expect(existsSync(SENTINEL)).toBe(false);
  });
});
