// Shared by the hostile-input tests: what "nothing outside the rootfs changed" is checked against.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every name, type, mode, owner, size, link count, mtime, content hash and link target under
 * `root` (except the path `skip`, the rootfs), plus the xattrs of `root/host`.
 */
export function snapshot(root: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const abs = rel === '' ? root : join(root, rel);
    const st = lstatSync(abs);
    // The sandbox itself changes (mtime, link count) when the rootfs comes and goes.
    let desc = `${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    if (rel !== '') desc += ` nlink=${st.nlink} mtime=${st.mtimeMs}`;
    if (st.isFile()) desc += ` size=${st.size} sha=${createHash('sha256').update(readFileSync(abs)).digest('hex')}`;
    else if (st.isSymbolicLink()) desc += ` -> ${readlinkSync(abs)}`;
    out.set(rel, desc);
    if (st.isDirectory()) {
      for (const name of readdirSync(abs).sort()) {
        const child = rel === '' ? name : `${rel}/${name}`;
        if (child !== skip) walk(child);
      }
    }
  };
  walk('');
  out.set('#xattrs', spawnSync('getfattr', ['-R', '-h', '-d', '-m', '-', '--absolute-names', join(root, 'host')], { encoding: 'latin1' }).stdout ?? '');
  return out;
}

const hostFiles = ['/etc/passwd', '/etc/shadow', '/etc/hostname'].filter((p) => existsSync(p));

/** Link count, mtime and mode of the real host's most tempting files. */
export function hostFacts(): string {
  return hostFiles.map((p) => `${p} ${lstatSync(p).nlink} ${lstatSync(p).mtimeMs} ${lstatSync(p).mode}`).join('\n');
}

/** Every code the packages and the CLI document (read from their sources, so new codes count). */
export function documentedCodes(): Set<string> {
  const out = new Set<string>();
  const src = (rel: string): string => readFileSync(new URL(rel, import.meta.url), 'utf8');
  for (const f of ['../../oci-tar-image/src/errors.ts', '../../oci-extract/src/errors.ts']) {
    for (const m of src(f).matchAll(/\|\s*'([A-Z_]+)'/g)) out.add(m[1]!);
  }
  for (const f of readdirSync(new URL('../src/', import.meta.url), { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.ts')) continue;
    for (const m of src(`../src/${f}`).matchAll(/new CliError\(\s*'([A-Z_]+)'/g)) out.add(m[1]!);
  }
  return out;
}
