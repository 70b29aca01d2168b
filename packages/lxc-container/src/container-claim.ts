// Who may create (or replace) container NAME in LXCPATH right now: one oci2lxc run at a time, never
// over a container that is running or being created, and never silently over one that appeared
// meanwhile. The claim is a lock held for the whole run (see file-lock.ts); the final move into
// place happens under LXC's own container lock.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ContainerError } from './errors.js';
import { lockFile } from './file-lock.js';
import { commandSocketBound, lockLxcContainer } from './lxc-lock.js';

const run = promisify(execFile);

/** How long to wait for LXC's container lock (lxc-start holds it while it reads the config). */
const lxcLockTimeoutMs = 30_000;

export interface ContainerClaim {
  /** Notes for the user: leftovers of interrupted runs that were found and removed. */
  notes: string[];
  release(): Promise<void>;
}

/** The lock file of the claim: in the lxcpath, next to the container it is about. */
export function claimPath(lxcpath: string, name: string): string {
  return join(lxcpath, `.${name}.oci2lxc-lock`);
}

function pidOf(record: string): number | undefined {
  const pid = Number.parseInt(record, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims NAME for this process, before anything of the container is written: fails at once with
 * CONTAINER_BUSY while another oci2lxc run (create, or the LXC template) holds it. Once held, a
 * claim or staging directory left by a run that was killed is recovered, and said so in `notes`.
 */
export async function claimContainer(lxcpath: string, name: string, opts: { sweep: boolean }): Promise<ContainerClaim> {
  const path = claimPath(lxcpath, name);
  const held = await lockFile(path, { unlinkOnRelease: true, record: `${process.pid}\n` });
  if (held === 'busy') {
    let pid: number | undefined;
    try {
      pid = pidOf(readFileSync(path, 'latin1'));
    } catch {
      // released meanwhile: still busy a moment ago
    }
    throw new ContainerError('CONTAINER_BUSY', `container '${name}' is being created by another oci2lxc run${pid ? ` (pid ${pid})` : ''} in ${lxcpath}; nothing was changed`);
  }
  const notes: string[] = [];
  const stale = pidOf(held.previous);
  if (stale !== undefined) notes.push(`recovered the claim on '${name}' of an oci2lxc run that was killed (pid ${stale})`);
  try {
    if (opts.sweep) notes.push(...(await removeLeftovers(lxcpath, name)));
  } catch (err) {
    await held.release();
    throw err;
  }
  return { notes, release: () => held.release() };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Where a create stages NAME: mkdtemp() adds six characters; removeLeftovers() knows the pattern. */
export function stagingPrefix(lxcpath: string, name: string): string {
  return join(lxcpath, `.${name}.oci2lxc-${process.pid}-`);
}

/**
 * Staging directories of NAME (`.<name>.oci2lxc-<pid>-XXXXXX`, and `….old` for a replaced
 * container) that a killed run left behind. Only called under the claim, so none of them is in
 * use, unless its pid still runs (a run whose lock helper was killed alone): those stay.
 */
async function removeLeftovers(lxcpath: string, name: string): Promise<string[]> {
  const pattern = new RegExp(`^\\.${escapeRegExp(name)}\\.oci2lxc-(\\d+)-[A-Za-z0-9]{6}(\\.old)?$`);
  const notes: string[] = [];
  const finalDir = join(lxcpath, name);
  const found = readdirSync(lxcpath)
    .map((entry) => ({ entry, m: pattern.exec(entry) }))
    .filter((x): x is { entry: string; m: RegExpExecArray } => x.m !== null)
    // A container that a --force run had moved aside first: it may have to go back.
    .sort((a, b) => Number(b.m[2] !== undefined) - Number(a.m[2] !== undefined));
  for (const { entry, m } of found) {
    const pid = Number(m[1]);
    if (pid !== process.pid && alive(pid)) continue;
    const path = join(lxcpath, entry);
    if (!lstatSync(path).isDirectory()) continue;
    if (m[2] !== undefined && !existsSync(finalDir) && !isSymlink(finalDir)) {
      // Killed between moving the old container aside and moving the new one in: keep the old.
      await rename(path, finalDir);
      notes.push(`restored container '${name}' at ${finalDir}, which an interrupted create --force (pid ${pid} is gone) had moved aside`);
      continue;
    }
    await removeTree(path);
    notes.push(`removed ${path}, left by an interrupted create of '${name}' (pid ${pid} is gone)`);
  }
  return notes;
}

/** rm -r that also copes with trees deeper than PATH_MAX (a hostile image's), like oci-extract's. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => undefined);
  if (existsSync(path)) await run('rm', ['-rf', '--one-file-system', '--', path]);
}

/** lxc-create keeps <name>/partial (locked) until its template has finished. */
export function checkNotBeingCreated(lxcpath: string, name: string): void {
  const partial = join(lxcpath, name, 'partial');
  if (existsSync(partial)) {
    throw new ContainerError('CONTAINER_BUSY', `container '${name}' is being created by lxc-create (or its creation failed: ${partial} exists; then lxc-destroy it); nothing was changed`);
  }
}

/**
 * Why an existing container must not be replaced, checked under the claim (not before it).
 * `lxcInfo`: also ask lxc-info, which waits for LXC's container lock: not while we hold it.
 */
export async function checkReplaceable(lxcpath: string, name: string, lxcInfo: boolean): Promise<void> {
  checkNotBeingCreated(lxcpath, name);
  if (commandSocketBound(lxcpath, name) || (lxcInfo && (await lxcInfoRunning(lxcpath, name)))) {
    throw new ContainerError('CONTAINER_RUNNING', `container '${name}' is running; stop it before replacing it (nothing was changed)`);
  }
}

/** `lxc-info -s`: anything but STOPPED (STARTING, RUNNING, STOPPING, …) counts as running. */
async function lxcInfoRunning(lxcpath: string, name: string): Promise<boolean> {
  try {
    const { stdout } = await run('lxc-info', ['-n', name, '-P', lxcpath, '-s'], { encoding: 'utf8' });
    return !/STOPPED/.test(stdout);
  } catch {
    return false;
  }
}

/**
 * Moves the finished staging directory to LXCPATH/NAME, under LXC's container lock so that no
 * lxc-start reads the config or lxc-destroy/lxc-copy works on the container meanwhile. Without
 * `force` the name must still be free; the move itself never replaces anything that appeared
 * (`mv -n -T`: renameat2(RENAME_NOREPLACE); a plain rename would replace an empty directory that
 * lxc-create had just made). With `force` the old container is swapped out, if it is still not
 * running or being created, and removed after the lock is released.
 */
export async function placeContainer(staging: string, lxcpath: string, name: string, force: boolean): Promise<void> {
  const finalDir = join(lxcpath, name);
  const lock = await lockLxcContainer(lxcpath, name, lxcLockTimeoutMs);
  if (lock === 'busy') {
    throw new ContainerError('CONTAINER_BUSY', `LXC's lock on container '${name}' has been held by another LXC tool for ${lxcLockTimeoutMs / 1000}s; nothing was changed`);
  }
  let trash: string | undefined;
  try {
    if (existsSync(finalDir) || isSymlink(finalDir)) {
      if (!force) throw new ContainerError('CONTAINER_EXISTS', `container '${name}' was created at ${finalDir} by someone else meanwhile; nothing was changed`);
      await checkReplaceable(lxcpath, name, false);
      trash = `${staging}.old`;
      await rename(finalDir, trash);
    }
    await moveNoReplace(staging, finalDir);
    if (existsSync(staging)) {
      if (trash) await rename(trash, finalDir).catch(() => undefined);
      trash = undefined;
      throw new ContainerError('CONTAINER_EXISTS', `container '${name}' was created at ${finalDir} by someone else meanwhile; nothing was changed`);
    }
  } finally {
    await lock.release();
  }
  if (trash) await removeTree(trash);
}

function isSymlink(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
}

/** GNU mv -n -T renames with RENAME_NOREPLACE (Node has no renameat2); it skips an existing target. */
async function moveNoReplace(from: string, to: string): Promise<void> {
  try {
    await run('mv', ['-n', '-T', '--', from, to]);
  } catch (err) {
    // Some mv versions exit 1 when -n skipped the move; the caller checks what happened.
    if (!existsSync(from) || existsSync(to)) return;
    throw err;
  }
}
