// Opening archives from the CLI: Ctrl-C / SIGTERM while an archive is being opened, and error
// lines that stay short whatever the archive holds.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxLayer, dir, encodeEntry, file, tempDir, writeArchive } from '@oci2lxc/fixtures';
import { main } from '../src/main.js';
import { isRoot, runCli, startCli } from './run-cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** A tar of `count` empty members: slow to index (one read per header), still bounded. */
function manyMembers(path: string, count: number): void {
  const one = Buffer.concat(encodeEntry({ path: 'x', content: Buffer.alloc(0) }));
  const buf = Buffer.alloc(count * 512 + 1024);
  for (let i = 0; i < count; i++) one.copy(buf, i * 512);
  writeFileSync(path, buf);
}

/** Resolves once process `pid` has `path` open (it is reading the archive). */
async function waitForOpen(pid: number, path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === path) return;
        } catch {
          // the fd closed while we looked
        }
      }
    } catch {
      // not started yet, or already gone
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} never opened ${path}`);
}

describe('aborting while the archive is being opened', () => {
  const slow = join(tmp.path, 'many-members.tar');
  manyMembers(slow, 60_000);

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} during opening: exit status 1, ABORTED, promptly`, { timeout: 30_000 }, async () => {
      const child = startCli(['inspect', slow]);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await waitForOpen(child.pid!, slow);
      const sent = Date.now();
      child.kill(sig);
      const status = await exit;
      expect(status, stderr).toBe(1);
      expect(stderr).toMatch(/error ABORTED: .*many-members\.tar: opening the archive was aborted/);
      expect(Date.now() - sent).toBeLessThan(5_000);
    });
  }

  it('an already aborted signal stops before the archive is read (in-process)', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const status = await main(['inspect', slow], {
      stdout: { write: (s: string) => out.push(s) > 0 },
      stderr: { write: (s: string) => err.push(s) > 0 },
      signal: AbortSignal.abort(new Error('interrupted by SIGINT')),
    });
    expect(status).toBe(1);
    expect(err.join('')).toMatch(/error ABORTED: .*interrupted by SIGINT/);
    expect(out.join('')).toBe('');
  });
});

describe('error lines are bounded', () => {
  it('NO_MATCHING_PLATFORM over many images: one line of about 1 KiB saying how many were left out', () => {
    const path = join(tmp.path, 'many-images.tar');
    const images = Array.from({ length: 60 }, (_, i) => ({
      layers: [[file('n', String(i))]],
      ref: `registry.example/${'team/'.repeat(8)}image-${i}:v${i}`,
      platform: { os: 'linux', architecture: 's390x' },
    }));
    writeArchive({ images }, path);
    const r = runCli(['inspect', path, '--platform', 'linux/riscv64']);
    expect(r.status).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^oci2lxc inspect: error NO_MATCHING_PLATFORM: /);
    expect(lines[0]).toMatch(/… and \d+ more/);
    expect(lines[0]!.length).toBeLessThan(1200);
    // --json: the same failure as a document on stdout, with every image in details.
    const j = runCli(['inspect', path, '--platform', 'linux/riscv64', '--json']);
    expect(j.status).toBe(1);
    const doc = JSON.parse(j.stdout) as { error: { code: string; message: string; details: string[] } };
    expect(doc.error.code).toBe('NO_MATCHING_PLATFORM');
    expect(doc.error.details).toHaveLength(60);
    expect(doc.error.details.filter((d) => d.includes('image-59:v59'))).toHaveLength(1);
  });

  it('a missing Docker config behind an 80 000-component path: a short line naming the archive', () => {
    const path = join(tmp.path, 'deep-config.tar');
    writeArchive({ format: 'docker', images: [{ layers: [[file('a', 'a')]] }] }, path, {
      mutate: (files) => {
        const m = files.find((f) => f.path === 'manifest.json')!;
        const doc = JSON.parse(m.data!.toString()) as { Config: string }[];
        doc[0]!.Config = `${'d/'.repeat(80_000)}missing.json`;
        m.data = Buffer.from(JSON.stringify(doc));
      },
    });
    const r = runCli(['inspect', path]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error MISSING_BLOB: .*deep-config\.tar: config d\/d\/.*more characters/);
    expect(r.stderr.length).toBeLessThan(1200);
  });
});

describe('compressed archives (docker save | gzip, zstd)', () => {
  const plain = join(tmp.path, 'app.tar');
  writeArchive(
    {
      format: 'docker',
      images: [{ ref: 'app:1', layers: [[dir('bin'), file('bin/app', '#!/bin/sh\necho hi\n', { mode: 0o755 })], [file('etc/motd', 'compressed\n')]], config: { Cmd: ['/bin/app'] } }],
    },
    plain,
  );
  // Real tools, as users make them: `gzip` and `zstd`.
  const gz = `${plain}.gz`;
  writeFileSync(gz, execFileSync('gzip', ['-c', plain], { maxBuffer: 64 * 1024 * 1024 }));
  const zst = `${plain}.zst`;
  execFileSync('zstd', ['-q', '-o', zst, plain]);
  /** The CLI's temp dir, so leftovers would be seen. */
  const scratch = join(tmp.path, 'scratch');
  mkdirSync(scratch);
  const env = { TMPDIR: scratch };

  for (const archive of [gz, zst]) {
    const kind = archive.endsWith('.gz') ? 'gzip' : 'zstd';
    it(`inspect and extract a ${kind}-compressed archive; nothing left in the temp dir`, () => {
      const r = runCli(['inspect', archive, '--json'], { env });
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { format: string; image: { refs: string[] } };
      expect(doc.format).toBe('docker-archive');
      expect(doc.image.refs).toEqual(['app:1']);
      const rootfs = join(tmp.path, `rootfs-${kind}`);
      const x = runCli(['extract', archive, rootfs, '-q'], { env });
      expect(x.status, x.stderr).toBe(0);
      expect(readFileSync(join(rootfs, 'etc/motd'), 'utf8')).toBe('compressed\n');
      expect(readdirSync(scratch)).toEqual([]);
    });
  }

  it.skipIf(!isRoot || spawnSync('lxc-start', ['--version']).status !== 0 || !existsSync('/bin/busybox'))('create from a gzip-compressed archive', () => {
    // The start wrapper needs a /bin/sh in the image.
    const withShell = join(tmp.path, 'shell.tar');
    writeArchive({ format: 'docker', images: [{ ref: 'app:1', layers: [busyboxLayer(), [file('etc/motd', 'compressed\n')]], config: { Cmd: ['/bin/sh'], Env: ['A=1'] } }] }, withShell);
    const shellGz = `${withShell}.gz`;
    writeFileSync(shellGz, execFileSync('gzip', ['-c', withShell], { maxBuffer: 64 * 1024 * 1024 }));
    const lxcpath = join(tmp.path, 'lxc');
    mkdirSync(lxcpath);
    const name = `gz${process.pid}`;
    const r = runCli(['create', name, shellGz, '--lxcpath', lxcpath, '--network', 'none', '-q'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(lxcpath, name, 'rootfs', 'etc/motd'), 'utf8')).toBe('compressed\n');
    expect(existsSync(join(lxcpath, name, 'config'))).toBe(true);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('an xz-compressed archive: one line naming the compression and the command that fixes it', (ctx) => {
    const xz = `${plain}.xz`;
    if (spawnSync('xz', ['-k', '-c', plain], { stdio: ['ignore', 'ignore', 'ignore'] }).status !== 0) return ctx.skip();
    writeFileSync(xz, execFileSync('xz', ['-c', plain], { maxBuffer: 64 * 1024 * 1024 }));
    const r = runCli(['inspect', xz]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error UNSUPPORTED_COMPRESSION: .*xz-compressed.*xz -dc/);
  });
});
