import { LxcConfigError, show } from './errors.js';

/** Docker's default PATH (moby oci/defaults.go DefaultPathEnv for Linux). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The container environment: the image's Env (a later duplicate replaces the earlier value in
 * place, as Docker's ReplaceOrAppendEnvValues does), then PATH and HOME if the image left them out.
 */
export function buildEnv(imageEnv: readonly string[] | null | undefined, home: string): string[] {
  const names: string[] = [];
  const values = new Map<string, string>();
  (imageEnv ?? []).forEach((entry, i) => {
    const field = `Env[${i}]`;
    if (typeof entry !== 'string') throw new LxcConfigError('INVALID_VALUE', `${field} is not a string`, field);
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new LxcConfigError('INVALID_VALUE', `${field} ${show(entry)} is not NAME=VALUE`, field);
    if (entry.includes('\0')) throw new LxcConfigError('INVALID_VALUE', `${field} ${show(entry)} contains NUL, which no environment can hold`, field);
    const name = entry.slice(0, eq);
    if (!values.has(name)) names.push(name);
    values.set(name, entry.slice(eq + 1));
  });
  if (!values.has('PATH')) {
    names.push('PATH');
    values.set('PATH', DEFAULT_PATH);
  }
  if (!values.has('HOME')) {
    names.push('HOME');
    values.set('HOME', home);
  }
  return names.map((n) => `${n}=${values.get(n)!}`);
}
