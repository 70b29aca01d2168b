// Concurrent runs as automation makes them: real oci2lxc processes started together, real LXC.
// Of N creates of one name exactly one wins and the container is the winner's; of N extracts into
// one destination exactly one writes; --force never replaces a running container or one being
// created; a killed create leaves nothing that blocks the next one, which says what it recovered.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxLayer, dir, file, tempDir, writeArchive } from '@oci2lxc/fixtures';
import { bin, isRoot, runCli, slowLayers, templateBin, type CliResult } from './run-cli.js';
import { commandSocketBound, commandSocketName, lxcLockPath } from '../../lxc-container/src/lxc-lock.js';
import { lockFile } from '../../lxc-container/src/file-lock.js';

const lxcAvailable = spawnSync('lxc-start', ['--version']).status === 0 && existsSync('/bin/busybox');
const tmp = tempDir('oci2lxc-concurrency-');
const lxcpath = join(tmp.path, 'lxc');
mkdirSync(lxcpath);
const suffix = Math.random().toString(36).slice(2, 8);
const containers = new Set<string>();
const N = 8;

// Long enough that LXC hashes the command socket's name (lxc/<fnv1a64>/command).
const longLxcpath = join(tmp.path, 'l'.repeat(100));
mkdirSync(longLxcpath);

afterAll(() => {
  // Stop what still runs (a test that failed half-way); the stopped containers go with tmp.
  for (const name of containers) {
    for (const p of [lxcpath, longLxcpath]) {
      if (commandSocketBound(p, name)) spawnSync('lxc-stop', ['-n', name, '-P', p, '-k'], { timeout: 30_000 });
    }
  }
  // LXC's lock files of these lxcpaths (LXC, and oci2lxc like it, never removes them).
  for (const p of [lxcpath, longLxcpath]) {
    const lock = lxcLockPath(p, 'x');
    if (lock) rmSync(lock.slice(0, lock.lastIndexOf('/')), { recursive: true, force: true });
  }
  tmp.cleanup();
}, 120_000);

/** Image i: a file that names it, a file only it has, and enough files that extraction takes a while. */
function taggedArchive(i: number, runnable = true): string {
  const path = join(tmp.path, `img-${i}${runnable ? '' : '-data'}.tar`);
  if (existsSync(path)) return path;
  const many = Array.from({ length: 600 }, (_, k) => file(`data/f${k}`, `${i}-${k}`));
  writeArchive(
    {
      images: [
        {
          ref: `tagged:${i}`,
          config: { Cmd: ['/bin/sleep', '600'] },
          // create needs a /bin/sh (the start wrapper); extract does not.
          layers: [...(runnable ? [busyboxLayer()] : []), [file('tag', `${i}`), file(`only-${i}`, `${i}`), dir('data'), ...many]],
        },
      ],
    },
    path,
  );
  return path;
}

/** Runs the CLI in N processes started together; resolves to their results, in order. */
function runTogether(argvs: string[][]): Promise<CliResult[]> {
  return Promise.all(
    argvs.map(
      (args) =>
        new Promise<CliResult>((resolve) => {
          const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('close', (status) => resolve({ status, stdout, stderr }));
        }),
    ),
  );
}

/** The pids below `pid` (children first), from /proc/PID/task/TID/children. */
function descendants(pid: number): number[] {
  let kids: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      kids.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    }
  } catch {
    kids = [];
  }
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function hidden(prefix: string): string[] {
  return readdirSync(lxcpath).filter((n) => n.startsWith(`.${prefix}`));
}

describe.skipIf(!isRoot || !lxcAvailable)('concurrent runs (real processes, real LXC)', () => {
  it(`${N} creates of one name with different images: exactly one wins, the container is the winner's`, async () => {
    const name = `race-${suffix}`;
    containers.add(name);
    const archives = Array.from({ length: N }, (_, i) => taggedArchive(i));
    const results = await runTogether(archives.map((a) => ['create', name, a, '--lxcpath', lxcpath, '--network', 'empty', '-q']));
    const winners = results.flatMap((r, i) => (r.status === 0 ? [i] : []));
    expect(winners, results.map((r) => r.stderr).join('\n')).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 0)) {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^oci2lxc create: error CONTAINER_(BUSY|EXISTS): container '[^']+' (is being created by another oci2lxc run|already exists)/);
    }
    const w = winners[0]!;
    const config = readFileSync(join(lxcpath, name, 'config'), 'utf8');
    expect(config).toContain(`from ${archives[w]}`);
    expect(config).toMatch(new RegExp(`^# image tagged:${w} `, 'm'));
    const rootfs = join(lxcpath, name, 'rootfs');
    expect(readFileSync(join(rootfs, 'tag'), 'utf8')).toBe(`${w}`);
    expect(readdirSync(rootfs).filter((n) => n.startsWith('only-'))).toEqual([`only-${w}`]);
    expect(readFileSync(join(rootfs, 'data/f599'), 'utf8')).toBe(`${w}-599`);
    // No staging directory, lock file or extraction marker is left behind.
    expect(hidden(name)).toEqual([]);
    expect(existsSync(join(rootfs, '.oci2lxc-extracting'))).toBe(false);
  });

  it(`${N} creates --force of one existing name: each one that succeeds leaves a whole container, never a mix`, async () => {
    const name = `force-race-${suffix}`;
    containers.add(name);
    const archives = Array.from({ length: N }, (_, i) => taggedArchive(i));
    expect(runCli(['create', name, archives[0]!, '--lxcpath', lxcpath, '--network', 'empty', '-q']).status).toBe(0);
    const results = await runTogether(archives.map((a) => ['create', name, a, '--lxcpath', lxcpath, '--network', 'empty', '-q', '--force']));
    const ok = results.flatMap((r, i) => (r.status === 0 ? [i] : []));
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of results.filter((r) => r.status !== 0)) expect(r.stderr).toMatch(/error CONTAINER_BUSY: container '[^']+' is being created by another oci2lxc run/);
    const tag = readFileSync(join(lxcpath, name, 'rootfs', 'tag'), 'utf8');
    expect(ok.map(String)).toContain(tag);
    expect(readFileSync(join(lxcpath, name, 'config'), 'utf8')).toMatch(new RegExp(`^# image tagged:${tag} `, 'm'));
    expect(readdirSync(join(lxcpath, name, 'rootfs')).filter((n) => n.startsWith('only-'))).toEqual([`only-${tag}`]);
    expect(hidden(name)).toEqual([]);
  });

  it.each(['absent', 'empty'] as const)(`${N} extracts into one %s destination: exactly one writes, the tree is the winner's alone`, async (kind) => {
    const dest = join(tmp.path, `dest-${kind}`);
    if (kind === 'empty') mkdirSync(dest);
    const archives = Array.from({ length: N }, (_, i) => taggedArchive(i, false));
    const results = await runTogether(archives.map((a) => ['extract', a, dest, '-q']));
    const winners = results.flatMap((r, i) => (r.status === 0 ? [i] : []));
    expect(winners, results.map((r) => r.stderr).join('\n')).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 0)) {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^oci2lxc extract: error DESTINATION_NOT_EMPTY: /);
    }
    const w = winners[0]!;
    expect(readFileSync(join(dest, 'tag'), 'utf8')).toBe(`${w}`);
    expect(readdirSync(dest).sort()).toEqual(['data', `only-${w}`, 'tag']);
    const data = readdirSync(join(dest, 'data'));
    expect(data).toHaveLength(600);
    for (const f of ['f0', 'f377', 'f599']) expect(readFileSync(join(dest, 'data', f), 'utf8')).toBe(`${w}-${f.slice(1)}`);
  });

  it.each([
    ['', lxcpath],
    [' (lxcpath so long that LXC hashes the socket name)', longLxcpath],
  ])('--force refuses a running container and leaves it untouched%s', (_, lxcpath) => {
    const name = `running-${suffix}`;
    containers.add(name);
    if (lxcpath === longLxcpath) expect(commandSocketName(lxcpath, name)).toMatch(/^lxc\/[0-9a-f]{16}\/command$/);
    expect(commandSocketBound(lxcpath, name)).toBe(false);
    const first = runCli(['create', name, taggedArchive(1), '--lxcpath', lxcpath, '--network', 'empty', '-q']);
    expect(first.status, first.stderr).toBe(0);
    const start = spawnSync('lxc-start', ['-n', name, '-P', lxcpath, '-d'], { encoding: 'utf8' });
    expect(start.status, start.stderr).toBe(0);
    expect(spawnSync('lxc-wait', ['-n', name, '-P', lxcpath, '-s', 'RUNNING', '-t', '20']).status).toBe(0);
    const configBefore = readFileSync(join(lxcpath, name, 'config'), 'utf8');
    const r = runCli(['create', name, taggedArchive(2), '--lxcpath', lxcpath, '--network', 'empty', '--force']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error CONTAINER_RUNNING: container '[^']+' is running; stop it before replacing it/);
    expect(readFileSync(join(lxcpath, name, 'config'), 'utf8')).toBe(configBefore);
    expect(readFileSync(join(lxcpath, name, 'rootfs', 'tag'), 'utf8')).toBe('1');
    expect(spawnSync('lxc-info', ['-n', name, '-P', lxcpath, '-s'], { encoding: 'utf8' }).stdout).toMatch(/RUNNING/);
    expect(readdirSync(lxcpath).filter((n) => n.startsWith(`.${name}`))).toEqual([]);
    // The check made at the moment of the swap, when lxc-info cannot be asked: the command socket.
    expect(commandSocketBound(lxcpath, name)).toBe(true);
    expect(spawnSync('lxc-stop', ['-n', name, '-P', lxcpath, '-k']).status).toBe(0);
    expect(commandSocketBound(lxcpath, name)).toBe(false);
  });

  it('a container that a killed create --force had moved aside is put back, not lost', () => {
    const name = `aside-${suffix}`;
    containers.add(name);
    expect(runCli(['create', name, taggedArchive(3), '--lxcpath', lxcpath, '--network', 'empty', '-q']).status).toBe(0);
    // The state between the two renames of the swap: old container aside, new one staged.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const staged = join(lxcpath, `.${name}.oci2lxc-${gone.stdout}-AbCdEf`);
    execFileSync('mv', ['-T', join(lxcpath, name), `${staged}.old`]);
    mkdirSync(join(staged, 'rootfs'), { recursive: true });
    writeFileSync(join(staged, 'rootfs', 'tag'), 'new');
    const r = runCli(['create', name, taggedArchive(4), '--lxcpath', lxcpath, '--network', 'empty']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`note: restored container '${name}' at ${join(lxcpath, name)}, which an interrupted create --force (pid ${gone.stdout} is gone) had moved aside`);
    expect(r.stderr).toContain(`note: removed ${staged}, left by an interrupted create of '${name}'`);
    expect(r.stderr).toMatch(/error CONTAINER_EXISTS/);
    expect(readFileSync(join(lxcpath, name, 'rootfs', 'tag'), 'utf8')).toBe('3');
    expect(hidden(name)).toEqual([]);
  });

  it('--force refuses a container that lxc-create is still creating', async () => {
    const name = `creating-${suffix}`;
    containers.add(name);
    // A template that waits for a file: lxc-create holds <name>/partial all that time.
    const gate = join(tmp.path, `gate-${name}`);
    const template = join(tmp.path, 'slow-template');
    writeFileSync(template, `#!/bin/sh\nwhile [ ! -e '${gate}' ]; do sleep 0.1; done\nexit 0\n`);
    chmodSync(template, 0o755);
    const base = join(tmp.path, 'empty-net.conf');
    writeFileSync(base, 'lxc.net.0.type = empty\n');
    const creating = spawn('lxc-create', ['-n', name, '-P', lxcpath, '-f', base, '-t', template], { stdio: 'ignore' });
    const done = new Promise<number | null>((resolve) => creating.on('close', resolve));
    try {
      for (let i = 0; i < 200 && !existsSync(join(lxcpath, name, 'partial')); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(join(lxcpath, name, 'partial'))).toBe(true);
      const r = runCli(['create', name, taggedArchive(3), '--lxcpath', lxcpath, '--network', 'empty', '--force']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/error CONTAINER_BUSY: container '[^']+' is being created by lxc-create/);
      const plain = runCli(['create', name, taggedArchive(3), '--lxcpath', lxcpath, '--network', 'empty']);
      expect(plain.status).toBe(1);
      expect(plain.stderr).toMatch(/error CONTAINER_BUSY: container '[^']+' is being created by lxc-create/);
    } finally {
      writeFileSync(gate, '');
    }
    expect(await done).toBe(0);
    expect(existsSync(join(lxcpath, name, 'rootfs', 'tag'))).toBe(false);
    expect(hidden(name)).toEqual([]);
  });

  it('a create killed mid-way (SIGKILL, with its lock helper) leaves a stale claim that the next create recovers, saying so', async () => {
    const name = `killed-${suffix}`;
    containers.add(name);
    const big = join(tmp.path, 'big.tar');
    if (!existsSync(big)) writeArchive({ images: [{ layers: slowLayers(), config: { Cmd: ['/bin/sh'] } }] }, big);
    // Its own process group, so that the lock helper is killed too: the harshest end.
    const child = spawn(process.execPath, [bin, 'create', name, big, '--lxcpath', lxcpath, '--network', 'empty'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('layer 1/')) resolve();
      }),
    );
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    const left = hidden(name);
    expect(left).toContain(`.${name}.oci2lxc-lock`);
    expect(left.some((n) => n.startsWith(`.${name}.oci2lxc-${child.pid}-`))).toBe(true);
    expect(existsSync(join(lxcpath, name))).toBe(false);

    const r = runCli(['create', name, taggedArchive(4), '--lxcpath', lxcpath, '--network', 'empty', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`note: recovered the claim on '${name}' of an oci2lxc run that was killed (pid ${child.pid})`);
    expect(r.stderr).toMatch(new RegExp(`note: removed \\S+/\\.${name}\\.oci2lxc-${child.pid}-\\w{6}, left by an interrupted create of '${name}' \\(pid ${child.pid} is gone\\)`));
    const doc = JSON.parse(r.stdout) as { warnings: string[] };
    expect(doc.warnings.some((w) => w.includes(`pid ${child.pid}`))).toBe(true);
    expect(readFileSync(join(lxcpath, name, 'rootfs', 'tag'), 'utf8')).toBe('4');
    expect(hidden(name)).toEqual([]);
  });

  it('Ctrl-C releases the claim: the next create of the name proceeds at once', async () => {
    const name = `sigint-${suffix}`;
    containers.add(name);
    const big = join(tmp.path, 'big.tar');
    if (!existsSync(big)) writeArchive({ images: [{ layers: slowLayers(), config: { Cmd: ['/bin/sh'] } }] }, big);
    const child = spawn(process.execPath, [bin, 'create', name, big, '--lxcpath', lxcpath, '--network', 'empty'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('layer 1/')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(hidden(name)).toEqual([]);
    const r = runCli(['create', name, taggedArchive(5), '--lxcpath', lxcpath, '--network', 'empty']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/note:/);
  });

  it('without perl to hold the claim, create fails clearly and changes nothing', () => {
    const name = `noperl-${suffix}`;
    const r = runCli(['create', name, taggedArchive(0), '--lxcpath', lxcpath, '--network', 'empty'], { env: { PATH: join(tmp.path, 'no-such-bin') } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error LOCK_UNAVAILABLE: cannot lock \S+\.oci2lxc-lock: perl is needed/);
    expect(existsSync(join(lxcpath, name))).toBe(false);
    expect(hidden(name)).toEqual([]);
  });

  it("takes LXC's own container lock: lxc-info and lxc-start wait while it is held", async () => {
    const name = `locked-${suffix}`;
    containers.add(name);
    expect(runCli(['create', name, taggedArchive(6), '--lxcpath', lxcpath, '--network', 'empty', '-q']).status).toBe(0);
    const path = lxcLockPath(lxcpath, name)!;
    mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true });
    const held = await lockFile(path, { wait: true, timeoutMs: 10_000 });
    expect(held).not.toBe('busy');
    if (held === 'busy') return;
    const blocked = spawnSync('lxc-info', ['-n', name, '-P', lxcpath, '-s'], { encoding: 'utf8', timeout: 1500 });
    expect(blocked.error && (blocked.error as NodeJS.ErrnoException).code).toBe('ETIMEDOUT');
    // lxc-start cannot begin either (it reads the config under this lock): a swap made while
    // holding it is never raced by a start that has not read the config yet.
    const starting = spawn('lxc-start', ['-n', name, '-P', lxcpath, '-d'], { stdio: 'ignore' });
    const started = new Promise<number | null>((resolve) => starting.on('close', resolve));
    await new Promise((r) => setTimeout(r, 1500));
    expect(starting.exitCode).toBe(null);
    expect(commandSocketBound(lxcpath, name)).toBe(false);
    await held.release();
    expect(await started).toBe(0);
    expect(spawnSync('lxc-wait', ['-n', name, '-P', lxcpath, '-s', 'RUNNING', '-t', '20']).status).toBe(0);
    expect(commandSocketBound(lxcpath, name)).toBe(true);
    expect(spawnSync('lxc-stop', ['-n', name, '-P', lxcpath, '-k']).status).toBe(0);
    const free = spawnSync('lxc-info', ['-n', name, '-P', lxcpath, '-s'], { encoding: 'utf8', timeout: 10_000 });
    expect(free.stdout).toMatch(/STOPPED/);
  });

  it('the LXC template path takes the same claim: a create of the name during lxc-create -t fails at once', async () => {
    const name = `tmpl-${suffix}`;
    containers.add(name);
    const base = join(tmp.path, 'empty-net.conf');
    writeFileSync(base, 'lxc.net.0.type = empty\n');
    const creating = spawn('lxc-create', ['-n', name, '-P', lxcpath, '-f', base, '-t', templateBin, '--', '--archive', taggedArchive(7)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const done = new Promise<number | null>((resolve) => creating.on('close', resolve));
    await new Promise<void>((resolve) =>
      creating.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('layer 1/')) resolve();
      }),
    );
    // Hold the template (our own grandchild) still mid-extraction, claim held, while the create runs.
    const template = descendants(creating.pid!).find((pid) => cmdline(pid).includes(templateBin));
    expect(template).toBeDefined();
    process.kill(template!, 'SIGSTOP');
    let r: CliResult;
    try {
      r = runCli(['create', name, taggedArchive(6), '--lxcpath', lxcpath, '--network', 'empty', '--force']);
    } finally {
      process.kill(template!, 'SIGCONT');
    }
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error CONTAINER_BUSY: container '[^']+' is being created by another oci2lxc run \(pid \d+\)/);
    expect(await done, stderr).toBe(0);
    expect(readFileSync(join(lxcpath, name, 'rootfs', 'tag'), 'utf8')).toBe('7');
    expect(existsSync(join(lxcpath, name, 'rootfs', 'only-6'))).toBe(false);
    expect(hidden(name)).toEqual([]);
    expect(readdirSync(join(lxcpath, name))).not.toContain('partial');
  });
});
