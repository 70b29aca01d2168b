import { LxcConfigError, show } from './errors.js';
import type { ParsedSignal } from './types.js';

// Linux signal numbers (x86, arm, arm64, riscv, s390, ppc share them). The first name of a
// number is the one LXC's sig_parse() knows for sure, so it is what we write.
const NAMES: Array<[string, number]> = [
  ['HUP', 1], ['INT', 2], ['QUIT', 3], ['ILL', 4], ['TRAP', 5], ['ABRT', 6], ['IOT', 6], ['BUS', 7],
  ['FPE', 8], ['KILL', 9], ['USR1', 10], ['SEGV', 11], ['USR2', 12], ['PIPE', 13], ['ALRM', 14],
  ['TERM', 15], ['STKFLT', 16], ['CHLD', 17], ['CLD', 17], ['CONT', 18], ['STOP', 19], ['TSTP', 20],
  ['TTIN', 21], ['TTOU', 22], ['URG', 23], ['XCPU', 24], ['XFSZ', 25], ['VTALRM', 26], ['PROF', 27],
  ['WINCH', 28], ['IO', 29], ['POLL', 29], ['PWR', 30], ['SYS', 31], ['UNUSED', 31],
];
const BY_NAME = new Map(NAMES);
const CANONICAL = new Map<number, string>();
for (const [name, num] of NAMES) if (!CANONICAL.has(num)) CANONICAL.set(num, name);

// glibc reserves 32 and 33; Docker (moby/sys/signal) uses SIGRTMIN = 34, SIGRTMAX = 64.
const RTMIN = 34;
const RTMAX = 64;

function result(num: number): ParsedSignal {
  const name = CANONICAL.get(num);
  return { number: num, lxcValue: name ? `SIG${name}` : String(num) };
}

/**
 * Parse an image's StopSignal the way Docker does: `SIGTERM`, `TERM`, `term`, `15`,
 * `SIGRTMIN+3`, `RTMAX-2`. Real-time signals become numbers (34..64) so LXC's libc cannot
 * shift them. Unknown → `UNKNOWN_SIGNAL`.
 */
export function parseSignal(signal: string): ParsedSignal {
  const fail = (): never => {
    throw new LxcConfigError('UNKNOWN_SIGNAL', `StopSignal ${show(signal)} is not a known Linux signal`, 'StopSignal');
  };
  if (/^\d+$/.test(signal)) {
    const num = Number(signal);
    if (num < 1 || num > RTMAX) fail();
    return result(num);
  }
  const upper = signal.toUpperCase();
  const name = upper.startsWith('SIG') ? upper.slice(3) : upper;
  const known = BY_NAME.get(name);
  if (known !== undefined) return result(known);
  const rt = /^RT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(name);
  if (rt) {
    const n = rt[3] === undefined ? 0 : Number(rt[3]);
    if (rt[1] === 'MIN' && (rt[2] ?? '+') === '+' && RTMIN + n <= RTMAX) return result(RTMIN + n);
    if (rt[1] === 'MAX' && (rt[2] ?? '-') === '-' && RTMAX - n >= RTMIN) return result(RTMAX - n);
  }
  return fail();
}
