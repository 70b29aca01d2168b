import { assertShell } from './build.js';
import { writeFileInRoot } from './rootfs.js';
import type { LxcPlan } from './types.js';

/**
 * Write the plan's start wrapper into the rootfs (mode 0755), if the plan has one. Checks that the
 * image has /bin/sh (chroot-style), creates the wrapper's directory without following symlinks and
 * replaces the file atomically; nothing outside `rootfs` is read or written. Returns the wrapper's
 * path inside the container, or undefined when the plan needs no wrapper.
 */
export function writeStartWrapper(rootfs: string, plan: Pick<LxcPlan, 'wrapper'>): string | undefined {
  const wrapper = plan.wrapper;
  if (!wrapper) return undefined;
  assertShell(rootfs, wrapper);
  writeFileInRoot(rootfs, wrapper.path, wrapper.content, 0o755);
  return wrapper.path;
}
