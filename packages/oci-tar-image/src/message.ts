// Bounded error messages: hostile archives can make names, paths and lists of any length, and
// an error line must stay readable (and small) whatever they hold.

/** Longest quoted value (a path, a name) in a message, in characters. */
export const MAX_SHOWN = 200;
/** Longest message an OciImageError carries, in characters (lists say how many items were left out). */
export const MAX_MESSAGE = 1024;

/** `value`, cut to `max` characters with a note of how much was left out. */
export function shorten(value: string, max = MAX_SHOWN): string {
  if (value.length <= max) return value;
  return `${value.slice(0, max)}… (${value.length - max} more characters)`;
}

/**
 * Joins list items until `budget` characters are used; the rest is summarised as "and N more".
 * Each item is shortened first, so one long item cannot hide all the others.
 */
export function joinCapped(items: readonly string[], sep: string, budget = MAX_MESSAGE / 2): string {
  let out = '';
  let i = 0;
  for (; i < items.length; i++) {
    const item = shorten(items[i]!);
    const next = i === 0 ? item : `${out}${sep}${item}`;
    if (next.length > budget && i > 0) break;
    out = next;
  }
  return i < items.length ? `${out}${sep}… and ${items.length - i} more` : out;
}

/** A whole message cut to MAX_MESSAGE characters (the last resort; callers shorten parts first). */
export function capMessage(message: string): string {
  if (message.length <= MAX_MESSAGE) return message;
  return `${message.slice(0, MAX_MESSAGE)}… (${message.length - MAX_MESSAGE} more characters)`;
}
