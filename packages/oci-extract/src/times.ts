// Node's fs turns a negative time given as a number into "now"; as a numeric string it is kept.
// Times before 1970 are real (Go's archive/tar keeps them, and so do Docker and umoci).

/** A time (seconds since the epoch) for fs.utimes and friends, negative ones kept. */
export function fsTime(seconds: number): number | string {
  return seconds < 0 ? String(seconds) : seconds;
}
