// Whole-file write locks held by a small helper process, because Node has no fcntl/flock. The
// lock is LXC's kind (an open-file-description lock, F_OFD_SETLK), so the same helper can take
// LXC's own container lock; the kernel drops it when the helper exits, and the helper exits when
// its stdin closes: on release, and on any end of this process, SIGKILL included. No stale lock.
import { spawn } from 'node:child_process';
import { ContainerError } from './errors.js';

// perl, because it is everywhere LXC is (Debian's perl-base is Essential; Proxmox VE is written in
// it) and its fcntl() passes a struct flock. Arguments: path, wait (0|1), unlink on release (0|1),
// record (written into the file once locked; empty: the file is left alone, as LXC's must be).
// Prints "locked <previous record>", "busy" or "error <why>" on one line.
const helper = String.raw`
use strict; use warnings;
use Fcntl qw(O_CREAT O_RDWR O_NOFOLLOW F_WRLCK SEEK_SET LOCK_EX LOCK_NB);
use Config;
$| = 1;
# Ctrl-C reaches the whole process group: the lock must outlive it until Node has cleaned up.
$SIG{INT} = $SIG{TERM} = $SIG{QUIT} = 'IGNORE';
my ($path, $wait, $unlink, $record) = @ARGV;
for (;;) {
  sysopen(my $fh, $path, O_CREAT | O_RDWR | O_NOFOLLOW, 0600) or do { print "error cannot open: $!\n"; exit 3 };
  my $ok;
  if ($Config{longsize} == 8) {
    # struct flock on 64-bit Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid.
    my $lk = pack('s s x4 q q i x4', F_WRLCK, SEEK_SET, 0, 0, 0);
    $ok = fcntl($fh, $wait ? 38 : 37, $lk);  # F_OFD_SETLKW : F_OFD_SETLK
    # Kernels before 3.15 have no OFD locks; LXC falls back to flock() there, and so do we.
    $ok = flock($fh, LOCK_EX | ($wait ? 0 : LOCK_NB)) if !$ok && $!{EINVAL};
  } else {
    $ok = flock($fh, LOCK_EX | ($wait ? 0 : LOCK_NB));
  }
  if (!$ok) {
    if ($!{EAGAIN} || $!{EACCES} || $!{EWOULDBLOCK}) { print "busy\n"; exit 1 }
    print "error cannot lock: $!\n"; exit 3;
  }
  if ($unlink) {
    # The previous holder unlinks the file on release: make sure we locked the one at the path.
    my @a = stat($fh); my @b = lstat($path);
    if (!@b || $a[0] != $b[0] || $a[1] != $b[1]) { close $fh; next }
  }
  my $old = '';
  if (length $record) {
    sysread($fh, $old, 4096);
    $old =~ s/[^\x21-\x7e]+/ /g;
    truncate($fh, 0); sysseek($fh, 0, 0); syswrite($fh, $record);
  }
  print "locked $old\n";
  1 while sysread(STDIN, my $buf, 4096);
  unlink $path if $unlink;
  exit 0;
}
`;

export interface HeldLock {
  /** What the file held before we wrote our record (the record of a holder that was killed). */
  previous: string;
  /** Drops the lock (and removes the file, if asked to); never throws. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Wait for the lock (up to `timeoutMs`) instead of failing at once. */
  wait?: boolean;
  timeoutMs?: number;
  /** Remove the file on release (only for lock files of our own, never LXC's). */
  unlinkOnRelease?: boolean;
  /** Written into the file once locked, for whoever finds it busy. */
  record?: string;
}

/** Locks `path`; resolves to the held lock, or to 'busy' when someone else holds it. */
export function lockFile(path: string, opts: LockOptions = {}): Promise<HeldLock | 'busy'> {
  return new Promise((resolve, reject) => {
    const child = spawn('perl', ['-e', helper, '--', path, opts.wait ? '1' : '0', opts.unlinkOnRelease ? '1' : '0', opts.record ?? ''], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((done) => child.once('close', () => done()));
    let out = '';
    let err = '';
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      fn();
    };
    const timer = opts.wait && opts.timeoutMs !== undefined ? setTimeout(() => settle(() => {
      child.kill('SIGKILL');
      resolve('busy');
    }), opts.timeoutMs) : undefined;
    child.on('error', (e: NodeJS.ErrnoException) =>
      settle(() =>
        reject(
          e.code === 'ENOENT'
            ? new ContainerError('LOCK_UNAVAILABLE', `cannot lock ${path}: perl is needed to hold the lock (Debian: perl-base) and was not found`, { cause: e })
            : new ContainerError('LOCK_FAILED', `cannot lock ${path}: ${e.message}`, { cause: e }),
        ),
      ),
    );
    child.stdin.on('error', () => {
      // the helper is gone; 'close' says so
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const line = out.slice(0, nl);
      if (line === 'busy') return settle(() => resolve('busy'));
      if (line.startsWith('locked')) {
        return settle(() =>
          resolve({
            previous: line.slice(7).trim(),
            release: async () => {
              child.stdin.end();
              await exited;
            },
          }),
        );
      }
      settle(() => reject(new ContainerError('LOCK_FAILED', `cannot lock ${path}: ${line.replace(/^error /, '')}`)));
    });
    child.once('close', (code) =>
      settle(() => reject(new ContainerError('LOCK_FAILED', `cannot lock ${path}: the lock helper exited (${code ?? 'signal'})${err ? `: ${err.trim()}` : ''}`))),
    );
  });
}
