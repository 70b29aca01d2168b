import { LxcConfigError, show } from './errors.js';
import { readFileInRoot } from './rootfs.js';
import type { ResolvedUser } from './types.js';

// Docker's limits for ids (moby/sys/user: 0 .. 2^31-1).
const MAX_ID = 2 ** 31 - 1;

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function lines(buf: Buffer | undefined): string[][] {
  if (!buf) return [];
  return buf
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function id(s: string | undefined): number | undefined {
  return s !== undefined && /^\d+$/.test(s) && Number(s) <= MAX_ID ? Number(s) : undefined;
}

function parsePasswd(buf: Buffer | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of lines(buf)) {
    const uid = id(f[2]);
    const gid = id(f[3]);
    if (f[0] && uid !== undefined && gid !== undefined) out.push({ name: f[0], uid, gid, home: f[5] ?? '' });
  }
  return out;
}

function parseGroup(buf: Buffer | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of lines(buf)) {
    const gid = id(f[2]);
    if (f[0] && gid !== undefined) out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').filter((m) => m !== '') });
  }
  return out;
}

// Docker parses ids with Go's strconv.Atoi, which takes a leading "+": `+1000` is uid 1000.
function numeric(s: string, field: string): number | undefined {
  if (!/^\+?\d+$/.test(s)) return undefined;
  const n = Number(s);
  if (n > MAX_ID) throw new LxcConfigError('INVALID_ARGUMENT', `User ${field} ${show(s)} is out of range (0..${MAX_ID})`, 'User');
  return n;
}

/**
 * Resolve an image's `User` (`uid`, `name`, `uid:gid`, `name:group`, `uid:group`, `name:gid`, or
 * empty for root) to numeric ids with Docker's rules (moby/sys/user GetExecUser): names come from
 * the rootfs's /etc/passwd and /etc/group (read chroot-style, symlinks never leave the rootfs);
 * an unknown numeric uid is used as is with gid 0 and HOME `/`; supplementary groups are the groups
 * listing the user by name, only when no group was given. Without a rootfs only numbers work.
 */
export function resolveUser(rootfs: string | undefined, user: string | undefined | null): ResolvedUser {
  const spec = user ?? '';
  const parts = spec.split(':');
  if (parts.length > 2) throw new LxcConfigError('INVALID_ARGUMENT', `User ${show(spec)} is not user[:group]`, 'User');
  const [userArg = '', groupArg] = parts;
  // Docker reads `alice:` as `alice` (an empty group is no group).
  const groupSpec = groupArg === '' ? undefined : groupArg;

  const passwd = rootfs ? parsePasswd(readFileInRoot(rootfs, '/etc/passwd')) : [];
  const group = rootfs ? parseGroup(readFileInRoot(rootfs, '/etc/group')) : [];
  const noRootfs = rootfs ? '' : ' (no rootfs given, so only numeric ids can be used)';

  let uid: number;
  let entry: PasswdEntry | undefined;
  const uidNum = userArg === '' ? 0 : numeric(userArg, 'uid');
  if (uidNum !== undefined) {
    uid = uidNum;
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userArg);
    if (!entry) throw new LxcConfigError('UNKNOWN_USER', `User ${show(userArg)} not found in the image's /etc/passwd${noRootfs}`, 'User');
    uid = entry.uid;
  }

  let gid = entry?.gid ?? 0;
  let groups: number[] = [];
  if (groupSpec !== undefined) {
    const gidNum = numeric(groupSpec, 'gid');
    if (gidNum !== undefined) gid = gidNum;
    else {
      const g = group.find((e) => e.name === groupSpec);
      if (!g) throw new LxcConfigError('UNKNOWN_GROUP', `group ${show(groupSpec)} of User ${show(spec)} not found in the image's /etc/group${noRootfs}`, 'User');
      gid = g.gid;
    }
  } else if (entry) {
    const name = entry.name;
    groups = [...new Set(group.filter((g) => g.members.includes(name)).map((g) => g.gid))];
  }
  // moby (daemon/oci_linux.go getUser) puts the primary gid first in the additional gids.
  if (groups.length > 0) groups = [gid, ...groups.filter((g) => g !== gid)];

  const resolved: ResolvedUser = { uid, gid, groups, home: entry?.home || '/' };
  if (entry) resolved.name = entry.name;
  return resolved;
}
