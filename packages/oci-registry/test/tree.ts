// A directory tree as comparable data: type, mode, owner, size, content digest, link target.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = join(root, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[r] = `dir ${mode} ${st.uid}:${st.gid}`;
        walk(r);
      } else if (st.isSymbolicLink()) out[r] = `link ${readlinkSync(p)}`;
      else if (st.isFile()) out[r] = `file ${mode} ${st.uid}:${st.gid} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      else out[r] = `other ${st.mode.toString(8)}`;
    }
  };
  walk('');
  return out;
}
