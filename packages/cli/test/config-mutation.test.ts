// Issue #11, the mutation half: instead of a list of fields someone remembered, walk every string
// (and every object key) of every JSON document in an archive — index.json, the manifest, the
// image config; Docker's manifest.json, repositories and config — and replace each one, one at a
// time, with a hostile string; blobs are re-hashed up the chain so the archive stays valid. A field
// the code starts reading tomorrow is covered the day it exists. For each mutant, `create` and
// `config --flavor pve` either refuse (exit 1, nothing left behind) or write files whose LXC / pve
// key list is exactly the unmutated archive's.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { dir, file, tempDir, writeArchive, type ArchiveFile, type ArchiveSpec } from '@oci2lxc/fixtures';
import { parseConfigText, parsePveText } from '@oci2lxc/lxc-config';
import { main } from '../src/main.js';

const tmp = tempDir('oci2lxc-mutation-');
afterAll(() => void spawnSync('rm', ['-rf', '--one-file-system', tmp.path]));
const SENTINEL = join(tmp.path, 'PWNED');
// With NUL (refused wherever it reaches argv, env or a path) and without (then carried or escaped).
const PAYLOADS = {
  nul: `m\nlxc.hook.pre-start = /bin/touch ${SENTINEL}\r\0lxc.hook.post-stop=/bin/touch ${SENTINEL}\x1b\x7f\u2028"'`,
  lines: `m\nlxc.hook.pre-start = /bin/touch ${SENTINEL}\rlxc.hook.post-stop=/bin/touch ${SENTINEL}\n`,
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Step = string | number;

/** Every string leaf and every object key of a JSON document, as paths. */
function slots(doc: Json, at: Step[] = []): Array<{ path: Step[]; kind: 'value' | 'key' }> {
  if (typeof doc === 'string') return [{ path: at, kind: 'value' }];
  if (Array.isArray(doc)) return doc.flatMap((v, i) => slots(v, [...at, i]));
  if (doc && typeof doc === 'object') return Object.entries(doc).flatMap(([k, v]) => [{ path: [...at, k], kind: 'key' as const }, ...slots(v, [...at, k])]);
  return [];
}

function mutate(doc: Json, path: Step[], kind: 'value' | 'key', payload: string): Json {
  const copy = JSON.parse(JSON.stringify(doc)) as Json;
  const parent = path.slice(0, -1).reduce<Json>((d, s) => (d as Record<string, Json>)[s as string]!, copy) as Record<string, Json>;
  const last = path[path.length - 1]!;
  if (kind === 'value') parent[last as string] = `${String(parent[last as string])}${payload}`;
  else {
    // Rename the key in place (keeps the order of the other keys).
    const entries = Object.entries(parent).map(([k, v]) => [k === last ? `${k}${payload}` : k, v] as const);
    for (const k of Object.keys(parent)) delete parent[k];
    for (const [k, v] of entries) parent[k] = v;
  }
  return copy;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const bytes = (v: Json): Buffer => Buffer.from(JSON.stringify(v));
const fileOf = (files: ArchiveFile[], path: string): ArchiveFile => files.find((f) => f.path === path)!;
const read = (files: ArchiveFile[], path: string): Json => JSON.parse(fileOf(files, path).data!.toString('utf8')) as Json;
const put = (files: ArchiveFile[], path: string, data: Buffer): void => {
  const f = files.find((x) => x.path === path);
  if (f) f.data = data;
  else files.push({ path, type: 'file', data });
};

/** The documents of an OCI archive and how to write a changed one back (re-hashing up the chain). */
function ociDocs(files: ArchiveFile[]): Record<string, { doc: Json; write: (d: Json) => void }> {
  const index = read(files, 'index.json') as { manifests: Array<{ digest: string; size: number }> };
  const mDesc = index.manifests[0]!;
  const mPath = (d: string) => `blobs/sha256/${d.slice(7)}`;
  const manifest = read(files, mPath(mDesc.digest)) as { config: { digest: string; size: number } };
  const config = read(files, mPath(manifest.config.digest));
  const writeManifest = (m: Json): void => {
    const b = bytes(m);
    put(files, `blobs/sha256/${sha(b)}`, b);
    const i = JSON.parse(JSON.stringify(index)) as typeof index;
    Object.assign(i.manifests[0]!, { digest: `sha256:${sha(b)}`, size: b.length });
    put(files, 'index.json', bytes(i as unknown as Json));
  };
  return {
    'index.json': { doc: index as unknown as Json, write: (d) => put(files, 'index.json', bytes(d)) },
    manifest: { doc: manifest as unknown as Json, write: writeManifest },
    config: {
      doc: config,
      write: (c) => {
        const b = bytes(c);
        put(files, `blobs/sha256/${sha(b)}`, b);
        const m = JSON.parse(JSON.stringify(manifest)) as typeof manifest;
        Object.assign(m.config, { digest: `sha256:${sha(b)}`, size: b.length });
        writeManifest(m as unknown as Json);
      },
    },
  };
}

/** The same for a Docker archive: manifest.json and repositories are not hashed; the config is `<sha>.json`. */
function dockerDocs(files: ArchiveFile[]): Record<string, { doc: Json; write: (d: Json) => void }> {
  const manifest = read(files, 'manifest.json') as Array<{ Config: string }>;
  const config = read(files, manifest[0]!.Config);
  return {
    'manifest.json': { doc: manifest as unknown as Json, write: (d) => put(files, 'manifest.json', bytes(d)) },
    repositories: { doc: read(files, 'repositories'), write: (d) => put(files, 'repositories', bytes(d)) },
    config: {
      doc: config,
      write: (c) => {
        const b = bytes(c);
        put(files, `${sha(b)}.json`, b);
        const m = JSON.parse(JSON.stringify(manifest)) as typeof manifest;
        m[0]!.Config = `${sha(b)}.json`;
        put(files, 'manifest.json', bytes(m as unknown as Json));
      },
    },
  };
}

const spec = (format: ArchiveSpec['format']): ArchiveSpec => ({
  format,
  images: [
    {
      ref: 'demo:1',
      annotations: { 'org.example.note': 'n' },
      config: { Cmd: ['/bin/app', 'a b'], Env: ['A=1'], WorkingDir: '/srv', User: '0:0', StopSignal: 'SIGTERM', Labels: { l: 'v' }, ExposedPorts: { '80/tcp': {} }, Volumes: { '/data': {} } },
      layers: [[dir('bin'), file('bin/sh', '#!/bin/true\n', { mode: 0o755 }), file('bin/env', '#!/bin/true\n', { mode: 0o755 }), file('bin/app', 'x', { mode: 0o755 }), dir('srv')]],
    },
  ],
});

async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { stdout: { write: (c: string) => ((stdout += c), true) }, stderr: { write: (c: string) => ((stderr += c), true) } });
  return { status, stdout, stderr };
}

const structural = (keys: string[]): string[] => keys.filter((k) => !k.startsWith('lxc.environment'));

let n = 0;
/** create + config --flavor pve on the archive written with `edit`; the key lists, or null when refused. */
async function outcome(format: ArchiveSpec['format'], edit?: (files: ArchiveFile[]) => void): Promise<{ create: string[] | null; pve: string[] | null; why: string }> {
  const base = join(tmp.path, `m${++n}`);
  mkdirSync(base);
  const archive = join(base, 'image.tar');
  writeArchive(spec(format), archive, edit ? { mutate: edit } : {});
  const lxcpath = join(base, 'lxc');
  const c = await cli(['create', 'ct', archive, '--lxcpath', lxcpath, '--network', 'empty', '--lxc-version', '5.0', '-q']);
  let create: string[] | null = null;
  if (c.status === 0) create = parseConfigText(readFileSync(join(lxcpath, 'ct', 'config'), 'utf8')).map((e) => e.key);
  else {
    expect(c.status, c.stderr).toBe(1);
    expect(c.stderr).toMatch(/^oci2lxc create: error [A-Z_]+: [^\n]*\n$/);
    expect(existsSync(lxcpath) ? readdirSync(lxcpath) : []).toEqual([]);
  }
  const p = await cli(['config', archive, '--flavor', 'pve', '--lxc-version', '6.0.5', '-q']);
  if (p.status !== 0) expect(p.status, p.stderr).toBe(1);
  rmSync(base, { recursive: true, force: true });
  return { create, pve: p.status === 0 ? parsePveText(p.stdout).map((e) => e.key) : null, why: `${c.stderr}${p.stderr}` };
}

describe.each(['oci', 'docker'] as const)('every JSON string of a %s archive, mutated one at a time', (format) => {
  // The documents and their slots, from an unmutated build.
  const probe = join(tmp.path, `probe-${format}.tar`);
  const built = writeArchive(spec(format), probe);
  const docs = format === 'oci' ? ociDocs(built.files) : dockerDocs(built.files);
  const cases = Object.entries(docs).flatMap(([name, d]) =>
    slots(d.doc).flatMap((s) => Object.entries(PAYLOADS).map(([pname, payload]) => [`${name} ${s.kind} ${s.path.join('.')} (${pname})`, name, s, payload] as const)),
  );

  it('has slots to mutate in every document', () => {
    for (const name of Object.keys(docs)) expect(cases.filter((c) => c[1] === name).length, name).toBeGreaterThan(0);
  });

  let baseline: { create: string[] | null; pve: string[] | null } | undefined;
  it.each(cases)('%s', async (_label, docName, slot, payload) => {
    baseline ??= await outcome(format);
    expect(baseline.create).not.toBeNull();
    expect(baseline.pve).not.toBeNull();
    const got = await outcome(format, (files) => {
      const d = (format === 'oci' ? ociDocs(files) : dockerDocs(files))[docName]!;
      d.write(mutate(d.doc, slot.path, slot.kind, payload));
    });
    for (const keys of [got.create, got.pve]) {
      if (keys === null) continue;
      expect(keys.filter((k) => k.includes('hook')), got.why).toEqual([]);
    }
    if (got.create) expect(structural(got.create), got.why).toEqual(structural(baseline.create!));
    if (got.pve) expect(structural(got.pve), got.why).toEqual(structural(baseline.pve!));
    expect(existsSync(SENTINEL)).toBe(false);
  });
});
