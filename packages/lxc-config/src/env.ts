import { LxcConfigError, show } from './errors.js';

/** Docker's default PATH (moby oci/defaults.go DefaultPathEnv for Linux). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The container environment, in Docker's order: Docker's default PATH first when the image has
 * none (moby's CreateDaemonEnvironment starts from it), `container=lxc` (what LXC gives every init;
 * never over the image's own value), the image's Env in its order (a later duplicate replaces the
 * earlier value in place, as ReplaceOrAppendEnvValues does), then HOME when the image has none —
 * or in place when the image's is empty, as runc does. HOSTNAME, which Docker adds, is not: LXC
 * sets the hostname itself, and the name is not known when a config is planned.
 */
export function buildEnv(imageEnv: readonly string[] | null | undefined, home: string): string[] {
  const names: string[] = [];
  const values = new Map<string, string>();
  (imageEnv ?? []).forEach((entry, i) => {
    const field = `Env[${i}]`;
    if (typeof entry !== 'string') throw new LxcConfigError('INVALID_ARGUMENT', `${field} is not a string`, field);
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new LxcConfigError('INVALID_ARGUMENT', `${field} ${show(entry)} is not NAME=VALUE`, field);
    if (entry.includes('\0')) throw new LxcConfigError('INVALID_ARGUMENT', `${field} ${show(entry)} contains NUL, which no environment can hold`, field);
    const name = entry.slice(0, eq);
    if (!values.has(name)) names.push(name);
    values.set(name, entry.slice(eq + 1));
  });
  const front: string[] = [];
  if (!values.has('PATH')) {
    front.push('PATH');
    values.set('PATH', DEFAULT_PATH);
  }
  if (!values.has('container')) {
    front.push('container');
    values.set('container', 'lxc');
  }
  names.unshift(...front);
  if (!values.has('HOME')) {
    names.push('HOME');
    values.set('HOME', home);
  } else if (values.get('HOME') === '') values.set('HOME', home);
  return names.map((n) => `${n}=${values.get(n)!}`);
}
