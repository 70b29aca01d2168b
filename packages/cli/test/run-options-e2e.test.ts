// docker run-style options on a real container: what the entrypoint records (argv, env, cwd, ids,
// stop signal) equals what `docker run` with the same flags gives — expected values written from
// Docker's documentation (docs.docker.com/reference/cli/docker/container/run/: --entrypoint
// clears the image's CMD; arguments after the image replace CMD; -e KEY takes the caller's value,
// and is not set when the caller has none; --env-file is read before -e; -u, -w, --stop-signal
// replace the image's User, WorkingDir, StopSignal; HOME comes from the user's passwd entry).
// Volumes: visible, :ro read-only, hostile targets never create anything outside the rootfs.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxLayer, dir, file, symlink, tempDir, writeArchive } from '@oci2lxc/fixtures';
import { isRoot, runCli, templateBin } from './run-cli.js';
import { recorderScript, startAndRecord } from './recorder.js';

const lxcAvailable = spawnSync('lxc-start', ['--version']).status === 0 && existsSync('/bin/busybox');
const tmp = tempDir('oci2lxc-run-');
const lxcpath = join(tmp.path, 'lxc');
const outside = join(tmp.path, 'outside');
mkdirSync(outside);
const started: string[] = [];
afterAll(() => {
  for (const n of started) spawnSync('lxc-stop', ['-n', n, '-P', lxcpath, '-k']);
  if (!process.env.KEEP_E2E) tmp.cleanup();
});

const image = {
  Entrypoint: ['/usr/local/bin/record', 'image-entry-arg'],
  Cmd: ['image-cmd'],
  Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'A=image', 'B=image'],
  WorkingDir: '/srv/app',
  User: 'app',
  StopSignal: 'SIGUSR1',
  Volumes: { '/var/lib/declared': {} },
};
const archive = join(tmp.path, 'rec.tar');
writeArchive(
  {
    images: [
      {
        config: image,
        layers: [
          busyboxLayer({ passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n', group: 'root:x:0:\napp:x:1000:\n' }),
          [dir('usr'), dir('usr/local'), dir('usr/local/bin'), file('usr/local/bin/record', recorderScript, { mode: 0o755 }), dir('out', { mode: 0o777 }), dir('srv'), dir('srv/app'), dir('home'), dir('home/app', { uid: 1000, gid: 1000 }), symlink('escape', outside), symlink('var', '/../../..' + outside)],
        ],
      },
    ],
  },
  archive,
);

function create(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = runCli(['create', name, archive, '--lxcpath', lxcpath, '--network', 'empty', ...args], { env });
  return r;
}

describe.skipIf(!isRoot || !lxcAvailable)('docker run-style overrides on a real container', () => {
  it('-e/--env-file/-- CMD: env replaced in place, appended, from the caller, Cmd replaced', () => {
    const envFile = join(tmp.path, 'env');
    writeFileSync(envFile, '# comment\n\n  B=from-file\nC=file value\nA=file-loses\n');
    const r = create('env1', ['--env-file', envFile, '-e', 'A=from-e', '-e', 'NEW=1', '-e', 'FROM_CALLER', '-e', 'NOT_IN_CALLER', '--', 'x y', 'z'], { FROM_CALLER: 'caller value' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/declares volumes "\/var\/lib\/declared"/);
    started.push('env1');
    const seen = startAndRecord('env1', lxcpath, tmp.path);
    expect(seen.argv.slice(1)).toEqual(['/usr/local/bin/record', 'image-entry-arg', 'x y', 'z']);
    expect([...seen.env].sort()).toEqual(['PATH=/usr/local/bin:/usr/bin:/bin', 'A=from-e', 'B=from-file', 'C=file value', 'NEW=1', 'FROM_CALLER=caller value', 'HOME=/home/app', 'container=lxc'].sort());
    expect(seen.cwd).toBe('/srv/app');
    expect(seen.uid).toBe('1000');
    expect(seen.signal).toBe('USR1');
  });

  it('--entrypoint clears the image Cmd; -u, -w, --stop-signal replace the image values', () => {
    const r = create('ep1', ['--entrypoint', '/usr/local/bin/record', '-u', '0:0', '-w', '/tmp/new/dir', '--stop-signal', 'SIGUSR2']);
    expect(r.status, r.stderr).toBe(0);
    started.push('ep1');
    const seen = startAndRecord('ep1', lxcpath, tmp.path);
    expect(seen.argv.slice(1)).toEqual(['/usr/local/bin/record']);
    expect(seen.uid).toBe('0');
    expect(seen.gid).toBe('0');
    expect(seen.cwd).toBe('/tmp/new/dir');
    expect(seen.env).toContain('HOME=/root');
    expect(seen.signal).toBe('USR2');
  });

  it('--entrypoint with -- arguments: the arguments are the new Cmd', () => {
    const r = create('ep2', ['--entrypoint', '/usr/local/bin/record', '--', 'only', 'these']);
    expect(r.status, r.stderr).toBe(0);
    started.push('ep2');
    expect(startAndRecord('ep2', lxcpath, tmp.path).argv.slice(1)).toEqual(['/usr/local/bin/record', 'only', 'these']);
  });

  it('the LXC template takes the same options, -- CMD included', () => {
    const base = join(tmp.path, 'empty.conf');
    writeFileSync(base, 'lxc.net.0.type = empty\n');
    const r = spawnSync('lxc-create', ['-n', 'tpl1', '-P', lxcpath, '-f', base, '-t', templateBin, '--', '--archive', archive, '-e', 'A=tpl', '-w', '/srv', '--quiet', '--', 'tpl-arg'], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    started.push('tpl1');
    const seen = startAndRecord('tpl1', lxcpath, tmp.path);
    expect(seen.argv.slice(1)).toEqual(['/usr/local/bin/record', 'image-entry-arg', 'tpl-arg']);
    expect(seen.env).toContain('A=tpl');
    expect(seen.cwd).toBe('/srv');
  });

  it('-v: a bind mount is visible and writable, :ro is read-only', () => {
    const data = join(tmp.path, 'data');
    const ro = join(tmp.path, 'ro');
    mkdirSync(ro);
    writeFileSync(join(ro, 'f'), 'read only\n');
    const r = create('vol1', ['-v', `${data}:/srv/data`, '-v', `${ro}:/mnt/ro:ro`, '--autostart', '--memory', '256m', '--cpus', '0.5']);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(data)).toBe(true); // created on the host, as docker run -v does
    const config = readFileSync(join(lxcpath, 'vol1', 'config'), 'utf8');
    expect(config).toMatch(/^lxc\.start\.auto = 1$/m);
    expect(config).toMatch(/^lxc\.cgroup2\.memory\.max = 268435456$/m);
    expect(config).toMatch(/^lxc\.cgroup2\.cpu\.max = 50000 100000$/m);
    // cgroup v2 keys need a cgroup2 host to apply; keep this start independent of the host's cgroup layout.
    writeFileSync(join(lxcpath, 'vol1', 'config'), config.replace(/^lxc\.cgroup2\..*$/gm, ''));
    started.push('vol1');
    const log = join(tmp.path, 'vol1.log');
    expect(spawnSync('lxc-start', ['-n', 'vol1', '-P', lxcpath, '-d', '-l', 'INFO', '-o', log]).status, existsSync(log) ? readFileSync(log, 'utf8') : '').toBe(0);
    const attach = (...argv: string[]) => spawnSync('lxc-attach', ['-n', 'vol1', '-P', lxcpath, '--', ...argv], { encoding: 'utf8' });
    for (let i = 0; i < 50 && !existsSync(join(lxcpath, 'vol1', 'rootfs', 'out', 'ready')); i++) spawnSync('sleep', ['0.1']);
    expect(attach('/bin/cat', '/mnt/ro/f').stdout).toBe('read only\n');
    expect(attach('/bin/sh', '-c', 'echo hi > /srv/data/new').status).toBe(0);
    expect(readFileSync(join(data, 'new'), 'utf8')).toBe('hi\n');
    expect(attach('/bin/sh', '-c', 'echo no > /mnt/ro/g').status).not.toBe(0);
    expect(existsSync(join(ro, 'g'))).toBe(false);
    spawnSync('lxc-stop', ['-n', 'vol1', '-P', lxcpath, '-k']);
  });

  it.each([
    ['a symlink to the host in the rootfs', '/escape/sub', 1, /UNSAFE_PATH/],
    ['a symlinked parent leading out', '/var/lib/x', 1, /UNSAFE_PATH/],
    ['dot-dot components', '/../../x', 2, /\.\./],
    ['a relative target', 'x', 2, /--volume/],
  ])('a hostile --volume target (%s) creates nothing outside the rootfs and no container', (_what, target, status, message) => {
    const src = join(tmp.path, 'src-hostile');
    const r = create('hostile', ['-v', `${src}:${target}`]);
    expect(r.status).toBe(status);
    expect(r.stderr).toMatch(message);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(lxcpath, 'hostile'))).toBe(false);
  });
});

describe('run options on config (no LXC needed)', () => {
  it('config --flavor pve: mpN bind mounts, memory, cpulimit, onboot; overrides in entrypoint', () => {
    const r = runCli(['config', archive, '--flavor', 'pve', '--lxc-version', '6.0.5', '-v', '/srv/data:/data:ro', '-m', '1g', '--cpus', '1.5', '--autostart', '-u', '0:0', '--entrypoint', '/bin/sh', '--', '-c', 'echo hi']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^mp0: \/srv\/data,mp=\/data,ro=1$/m);
    expect(r.stdout).toMatch(/^memory: 1024$/m);
    expect(r.stdout).toMatch(/^cpulimit: 1\.5$/m);
    expect(r.stdout).toMatch(/^onboot: 1$/m);
    expect(r.stderr).toMatch(/host-managed=1/);
    expect(r.stdout).toMatch(/^entrypoint: \/bin\/sh -c "echo hi"$/m);
  });

  it('hostile option values are usage errors', () => {
    for (const args of [['-e', 'BAD NAME=1'], ['-w', 'relative'], ['--stop-signal', 'SIGNOPE'], ['-m', '1t'], ['--cpus', 'x'], ['-v', 'rel:/x'], ['-v', '/a:/../b']]) {
      const r = runCli(['config', archive, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
    }
  });

  it('a newline in a volume path is escaped (fstab \\012), never a new config line', () => {
    const r = runCli(['config', archive, '-u', '0', '-v', '/a:/b\nlxc.hook.pre-start = /x']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('lxc.mount.entry = /a b\\012lxc.hook.pre-start\\040=\\040/x none bind 0 0\n');
    expect(r.stdout).not.toMatch(/^lxc\.hook/m);
  });
});
