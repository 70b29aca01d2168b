import { encodeConfigValue } from './confvalue.js';
import { LxcConfigError, show } from './errors.js';
import type { LxcConfigLine } from './types.js';

/** A bind mount of a host path into the container. */
export interface BindMount {
  /** Absolute host path (file or directory). */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly?: boolean;
  /** The source is a file (the target must be a file too). Default: a directory. */
  file?: boolean;
}

// glibc's getmntent (which LXC uses to read lxc.mount.entry) splits fields on blanks and decodes
// these octal escapes, so any byte but NUL can be expressed.
function fstabEscape(path: string): string {
  return path.replace(/[\\ \t\n\r]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * The target of a mount as LXC wants it in `lxc.mount.entry`: relative to the rootfs. Only
 * plain absolute paths are accepted (no `..`, `.` or empty components): LXC itself refuses to
 * mount through symlinks, and the caller creates the mount point chroot-style.
 */
export function mountTarget(target: string, field = '--volume'): string {
  if (!target.startsWith('/')) throw new LxcConfigError('INVALID_ARGUMENT', `${field} target ${show(target)} is not an absolute path`, field);
  const comps = target.split('/').filter((c) => c !== '');
  if (comps.length === 0) throw new LxcConfigError('INVALID_ARGUMENT', `${field} target ${show(target)} is the container's root`, field);
  if (comps.some((c) => c === '..' || c === '.')) throw new LxcConfigError('INVALID_ARGUMENT', `${field} target ${show(target)} has "." or ".." components`, field);
  if (/[\0]/.test(target)) throw new LxcConfigError('INVALID_ARGUMENT', `${field} target ${show(target)} contains NUL`, field);
  return comps.join('/');
}

/** One `lxc.mount.entry` line for a bind mount (`ro` when asked; no `create=`, the caller prepares the mount point). */
export function bindMountLine(m: BindMount, field = '--volume'): LxcConfigLine {
  if (!m.source.startsWith('/')) throw new LxcConfigError('INVALID_ARGUMENT', `${field} source ${show(m.source)} is not an absolute path`, field);
  if (m.source.includes('\0')) throw new LxcConfigError('INVALID_ARGUMENT', `${field} source ${show(m.source)} contains NUL`, field);
  const options = ['bind', ...(m.readOnly ? ['ro'] : [])].join(',');
  const value = `${fstabEscape(m.source)} ${fstabEscape(mountTarget(m.target, field))} none ${options} 0 0`;
  return { key: 'lxc.mount.entry', value: encodeConfigValue(value, field) };
}
