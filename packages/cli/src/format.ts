// Human-readable formatting helpers shared by the commands.

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** A JSON rendering that keeps arrays of strings readable on one line. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'string') return v === '' ? '""' : v;
  return JSON.stringify(v);
}

export function shortDigest(d: string): string {
  const i = d.indexOf(':');
  return i < 0 ? d : `${d.slice(0, i + 1)}${d.slice(i + 1, i + 13)}`;
}

/**
 * Makes text from an archive safe for a terminal: control characters (ESC, CR, BEL, …) and
 * lone surrogates become visible escapes, so a hostile name cannot rewrite the screen.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * {@link printable} for one output line: also escapes line feeds, so a name from an archive that
 * contains "\n" cannot forge a line of its own (one output line per logical line).
 */
export function printableLine(text: string): string {
  return printable(text).replace(/\n/g, '\\n');
}
