import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, lutimesSync, mkdirSync, symlinkSync, writeFileSync, unlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@oci2lxc/fixtures';
import { diffSnapshots, formatDifferences, snapshotTree } from '../src/tree-snapshot.js';

const tmp = tempDir('oci2lxc-interop-snap-');
afterAll(() => tmp.cleanup());

function makeTree(root: string): void {
  mkdirSync(join(root, 'etc/sub'), { recursive: true });
  writeFileSync(join(root, 'etc/hello'), 'hello\n');
  linkSync(join(root, 'etc/hello'), join(root, 'etc/hello2'));
  symlinkSync('../etc/hello', join(root, 'etc/sub/link'));
  writeFileSync(join(root, 'etc/x'), 'x');
  execFileSync('setfattr', ['-n', 'user.k', '-v', 'v1', join(root, 'etc/x')]);
  execFileSync('mkfifo', [join(root, 'fifo')]);
  for (const p of ['etc/hello', 'etc/x', 'etc/sub/link', 'fifo', 'etc/sub', 'etc', '.']) lutimesSync(join(root, p), 1_600_000_000, 1_600_000_000);
}

describe('tree snapshot', () => {
  it('finds no difference between two identical trees, and records what it saw', () => {
    const a = join(tmp.path, 'a1');
    const b = join(tmp.path, 'b1');
    makeTree(a);
    makeTree(b);
    const sa = snapshotTree(a);
    const sb = snapshotTree(b);
    expect(diffSnapshots(sa, sb)).toEqual([]);
    expect([...sa.nodes.keys()]).toEqual(['.', 'etc', 'etc/hello', 'etc/hello2', 'etc/sub', 'etc/sub/link', 'etc/x', 'fifo']);
    expect(sa.nodes.get('etc/sub/link')).toMatchObject({ type: 'symlink', linkTarget: '../etc/hello' });
    expect(sa.nodes.get('etc/hello')?.linkGroup).toBe('etc/hello\netc/hello2');
    expect(sa.nodes.get('etc/x')?.xattrs).toEqual({ 'user.k': Buffer.from('v1').toString('base64') });
    expect(sa.nodes.get('fifo')?.type).toBe('fifo');
    expect(sa.nodes.get('etc/sub/link')?.mtimeNs).toBe(1_600_000_000_000_000_000n);
  });

  it('reports mode, content, xattr, hardlink, mtime, missing and extra differences', () => {
    const a = join(tmp.path, 'a2');
    const b = join(tmp.path, 'b2');
    makeTree(a);
    makeTree(b);
    chmodSync(join(b, 'etc/x'), 0o4755);
    execFileSync('setfattr', ['-n', 'user.k', '-v', 'v2', join(b, 'etc/x')]);
    unlinkSync(join(b, 'etc/hello2'));
    writeFileSync(join(b, 'etc/hello2'), 'hello\n');
    lutimesSync(join(b, 'etc/hello2'), 1_600_000_000, 1_600_000_000);
    writeFileSync(join(b, 'extra'), '');
    rmSync(join(b, 'fifo'));
    lutimesSync(join(b, 'etc/sub'), 1_600_000_001, 1_600_000_001);
    const diffs = diffSnapshots(snapshotTree(a), snapshotTree(b));
    const summary = diffs.map((d) => `${d.path}:${d.field}`);
    expect(summary).toEqual(
      expect.arrayContaining(['etc/x:mode', 'etc/x:xattrs', 'etc/hello:linkGroup', 'etc/hello2:linkGroup', 'etc/sub:mtime', 'extra:extra', 'fifo:missing']),
    );
    expect(summary).not.toContain('etc/hello2:content');
    expect(formatDifferences(diffs)).toMatch(/etc\/x: mode expected 0644, got 04755/);
    // A skip rule and ignored paths take those differences out.
    const fewer = diffSnapshots(snapshotTree(a), snapshotTree(b), {
      skip: (field, node) => field === 'mtime' && node.type === 'dir',
      ignorePaths: ['extra', 'fifo'],
    });
    expect(fewer.map((d) => `${d.path}:${d.field}`).sort()).toEqual(['etc/hello2:linkGroup', 'etc/hello:linkGroup', 'etc/x:mode', 'etc/x:xattrs'].sort());
  });

  it('compares mtimes to the nanosecond unless told a coarser resolution', () => {
    const a = join(tmp.path, 'a3');
    const b = join(tmp.path, 'b3');
    for (const d of [a, b]) mkdirSync(d);
    writeFileSync(join(a, 'f'), '');
    writeFileSync(join(b, 'f'), '');
    execFileSync('touch', ['-d', '@1600000000.123456789', join(a, 'f')]);
    execFileSync('touch', ['-d', '@1600000000.123456001', join(b, 'f')]);
    for (const d of [a, b]) lutimesSync(d, 1_600_000_000, 1_600_000_000);
    expect(snapshotTree(a).nodes.get('f')?.mtimeNs).toBe(1_600_000_000_123_456_789n);
    expect(diffSnapshots(snapshotTree(a), snapshotTree(b)).map((d) => `${d.path}:${d.field}`)).toEqual(['f:mtime']);
    expect(diffSnapshots(snapshotTree(a), snapshotTree(b), { mtimeResolutionNs: 1000 })).toEqual([]);
    execFileSync('touch', ['-d', '@1600000000.123457001', join(b, 'f')]);
    expect(diffSnapshots(snapshotTree(a), snapshotTree(b), { mtimeResolutionNs: 1000 }).map((d) => `${d.path}:${d.field}`)).toEqual(['f:mtime']);
  });
});
