import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

describe('oci2lxc usage', () => {
  it('prints its version', () => {
    const r = runCli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('lists the commands with --help and exits 0', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['inspect', 'extract', 'config', 'create']) expect(r.stdout).toContain(`  ${c} `);
  });

  it('exits 2 without a command', () => {
    expect(runCli([]).status).toBe(2);
  });

  it.each(['inspect', 'extract', 'config', 'create'])('%s --help shows usage and examples', (cmd) => {
    const r = runCli([cmd, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: oci2lxc ${cmd} `));
    expect(r.stdout).toContain('Examples:');
    expect(runCli(['help', cmd]).stdout).toBe(r.stdout);
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['inspect'], /missing <archive>/],
    [['inspect', 'a.tar', 'b.tar'], /unexpected argument 'b.tar'/],
    [['inspect', '--bogus', 'a.tar'], /bogus/],
    [['extract', 'a.tar'], /missing <rootfs>/],
    [['extract', 'a.tar', 'r', '--idmap', 'x:y'], /--idmap/],
    [['config', 'a.tar', '--flavor', 'docker'], /--flavor must be one of lxc, pve/],
    [['config', 'a.tar', '--lxc-version', 'banana'], /--lxc-version/],
    [['create', 'c1'], /missing <archive>/],
    [['create', 'c1', 'a.tar', '--network', 'wifi'], /--network/],
    [['create', '../evil', 'a.tar'], /container name/],
    [['inspect', 'a.tar', '--platform', 'linux'], /--platform/],
  ])('%j is a usage error (exit 2)', (args, message) => {
    const r = runCli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('a missing archive is a failure (exit 1) with one line naming the path', () => {
    const r = runCli(['inspect', '/nonexistent/image.tar']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('/nonexistent/image.tar');
  });
});
