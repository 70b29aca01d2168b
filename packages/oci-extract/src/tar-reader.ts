// A small, strict, pull-based tar reader with the semantics of Go's archive/tar (what Docker,
// containerd and umoci read layers with), so a layer means the same here as there. Header blocks
// and PAX records are decoded by @oci2lxc/oci-tar-image (one parser for indexing and reading).
// Names and link targets are byte strings (latin1: one char per byte, every char <= 0xFF).
// Pull-based on purpose: the caller awaits `next()` and iterates `body()`; every wait is on the
// source iterator, so a layer can only end in an entry, the end, or an error (never a stall).
import { BLOCK, HeaderError, decodeHeaderBlock, isZeroBlock, parsePaxExact, type HeaderBlock } from '@oci2lxc/oci-tar-image';

/** Go's maxSpecialFileSize: PAX and GNU long-name bodies above 1 MiB are refused. */
const MAX_SPECIAL = 1 << 20;

/** The layer is not a tar Go's archive/tar would read (or one we refuse more strictly). */
export class TarFormatError extends Error {
  override readonly name = 'TarFormatError';
  constructor(
    message: string,
    /** The entry being read (byte string), when known. */
    readonly entry?: string,
  ) {
    super(message);
  }
}

export interface TarHeader {
  /** Byte string: PAX `path` or GNU long name applied. */
  name: string;
  /** Byte string: PAX `linkpath` or GNU long link applied ('' when none). */
  linkname: string;
  /** The typeflag as a one-char string (`\0` already turned into `0` or `5`, as Go does). */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (0 for header-only types, whatever the size field says). */
  size: number;
  /** Seconds since the epoch (may be negative) and nanoseconds in [0, 1e9). */
  mtimeSec: number;
  mtimeNsec: number;
  /** PAX atime, when given. */
  atime?: { sec: number; nsec: number };
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* records: attribute name (byte string) → raw value (empty values dropped, as Go does). */
  xattrs: Map<string, Buffer>;
  /** A GNU sparse file (old `S` type or PAX sparse records): not supported, and the reader stops. */
  sparse: boolean;
}

/** Go's isHeaderOnlyType: these never have data, whatever their size field. */
function headerOnly(t: string): boolean {
  return t === '1' || t === '2' || t === '3' || t === '4' || t === '5' || t === '6';
}

/** Go's strconv.ParseInt(s, 10, 64), refused beyond JavaScript's exact integers (stricter). */
function parseDecimal(v: Buffer, key: string): number {
  const s = v.toString('latin1');
  if (!/^[+-]?[0-9]+$/.test(s)) throw new HeaderError(`PAX ${key} ${JSON.stringify(s.slice(0, 40))} is not a decimal integer`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new HeaderError(`PAX ${key} ${JSON.stringify(s.slice(0, 40))} is out of range`);
  return n;
}

/** Go's parsePAXTime: `[-]sec[.frac]`, normalised to seconds and nanoseconds in [0, 1e9). */
function parsePaxTime(v: Buffer, key: string): { sec: number; nsec: number } {
  const s = v.toString('latin1');
  const dot = s.indexOf('.');
  const ss = dot < 0 ? s : s.slice(0, dot);
  const sn = dot < 0 ? '' : s.slice(dot + 1);
  const sec = parseDecimal(Buffer.from(ss, 'latin1'), key);
  if (sn === '') return { sec, nsec: 0 };
  if (!/^[0-9]*$/.test(sn)) throw new HeaderError(`PAX ${key} ${JSON.stringify(s.slice(0, 40))} is not a time`);
  // Go: time.Unix(sec, ±frac) — the fraction takes the sign of the seconds' text ("-0.5" too).
  const frac = Number(sn.padEnd(9, '0').slice(0, 9));
  const ns = ss.startsWith('-') ? -frac : frac;
  if (ns >= 0) return { sec, nsec: ns };
  return { sec: sec - 1, nsec: ns + 1_000_000_000 };
}

/** A byte string (one char per byte) of `b`. */
function byteString(b: Buffer): string {
  return b.toString('latin1');
}

export class TarReader {
  private chunks: Buffer[] = [];
  /** Bytes available in `chunks`. */
  private buffered = 0;
  private eof = false;
  /** Data bytes of the current entry not read yet, and its padding. */
  private remaining = 0;
  private pad = 0;
  private finished = false;
  private stopped: string | undefined;
  /** Increments per entry: a body iterator of an older entry yields nothing. */
  private serial = 0;
  /** Name of the entry being read, for messages. */
  private current: string | undefined;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Pulls chunks until `n` bytes are buffered or the source ends; true when they are. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.eof) {
      const r = await this.source.next();
      if (r.done) {
        this.eof = true;
        break;
      }
      const c = r.value;
      if (c.length === 0) continue;
      this.chunks.push(c);
      this.buffered += c.length;
    }
    return this.buffered >= n;
  }

  /** Takes exactly `n` buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }

  /** Drops `n` bytes; false when the source ended first. */
  private async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.buffered === 0 && !(await this.fill(1))) return false;
      const k = Math.min(n, this.buffered);
      this.take(k);
      n -= k;
    }
    return true;
  }

  private fail(message: string): TarFormatError {
    return new TarFormatError(message, this.current);
  }

  /** Reads the data of a PAX or GNU long-name header (Go's readSpecialFile). */
  private async special(size: number, what: string): Promise<Buffer> {
    if (size > MAX_SPECIAL) throw this.fail(`${what} header of ${size} bytes is larger than ${MAX_SPECIAL}`);
    if (!(await this.fill(size))) throw this.fail(`truncated ${what} header data`);
    const data = Buffer.from(this.take(size)); // a copy: it outlives the chunk
    this.remaining = 0;
    return data;
  }

  /**
   * The next entry, or undefined at the end of the archive (two zero blocks, one zero block or
   * nothing before the end of the input, as Go). Data the caller did not read is skipped.
   */
  async next(): Promise<TarHeader | undefined> {
    if (this.finished) return undefined;
    if (this.stopped !== undefined) throw this.fail(this.stopped);
    this.serial++;
    let pax: Map<string, Buffer> | undefined;
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    for (;;) {
      if (!(await this.skip(this.remaining))) throw this.fail('truncated entry data');
      this.remaining = 0;
      // Padding cut short by the end of the input ends the archive (Go's tryReadFull).
      if (!(await this.skip(this.pad))) return this.end();
      this.pad = 0;

      if (!(await this.fill(BLOCK))) {
        if (this.buffered === 0) return this.end();
        throw this.fail('truncated header block');
      }
      let block = this.take(BLOCK);
      if (isZeroBlock(block)) {
        if (!(await this.fill(BLOCK))) {
          if (this.buffered === 0) return this.end();
          throw this.fail('truncated header block');
        }
        block = this.take(BLOCK);
        if (isZeroBlock(block)) return this.end();
        throw this.fail('a zero block followed by a header (broken end-of-archive marker)');
      }
      let h;
      try {
        h = decodeHeaderBlock(block);
      } catch (err) {
        if (err instanceof HeaderError) throw this.fail(`invalid tar header: ${err.message}`);
        throw err;
      }
      const rawType = String.fromCharCode(h.typeflag);
      this.current = byteString(h.name);
      const rawSize = headerOnly(rawType) ? 0 : h.size;
      if (rawSize < 0) throw this.fail(`negative size ${h.size}`);
      this.remaining = rawSize;
      this.pad = -rawSize & (BLOCK - 1);

      if (rawType === 'x' || rawType === 'g') {
        let records: Map<string, Buffer>;
        try {
          records = parsePaxExact(await this.special(rawSize, 'PAX'));
        } catch (err) {
          if (err instanceof HeaderError) throw this.fail(err.message);
          throw err;
        }
        if (rawType === 'g') {
          // Global headers are ignored, as Docker does (Go returns them as entries of their own;
          // they rename or re-own nothing). What was pending for the next entry is dropped with
          // it, as in Go.
          pax = undefined;
          longName = undefined;
          longLink = undefined;
        } else pax = records;
        continue;
      }
      if (rawType === 'L' || rawType === 'K') {
        const data = await this.special(rawSize, 'GNU long name');
        const nul = data.indexOf(0);
        const value = nul < 0 ? data : data.subarray(0, nul);
        if (rawType === 'L') longName = value;
        else longLink = value;
        continue;
      }
      return this.entry(h, rawType, pax, longName, longLink);
    }
  }

  private entry(h: HeaderBlock, rawType: string, pax: Map<string, Buffer> | undefined, longName: Buffer | undefined, longLink: Buffer | undefined): TarHeader {
    let name = h.name;
    let linkname = h.linkname;
    let { uid, gid, size } = h;
    let mtimeSec = h.mtime;
    let mtimeNsec = 0;
    let atime: { sec: number; nsec: number } | undefined;
    const xattrs = new Map<string, Buffer>();
    let sparse = rawType === 'S';
    try {
      for (const [k, v] of pax ?? []) {
        if (v.length === 0) continue; // Go keeps the header's own value
        switch (k) {
          case 'path':
            name = v;
            break;
          case 'linkpath':
            linkname = v;
            break;
          case 'uid':
            uid = parseDecimal(v, k);
            break;
          case 'gid':
            gid = parseDecimal(v, k);
            break;
          case 'size':
            size = parseDecimal(v, k);
            break;
          case 'mtime':
            ({ sec: mtimeSec, nsec: mtimeNsec } = parsePaxTime(v, k));
            break;
          case 'atime':
            atime = parsePaxTime(v, k);
            break;
          case 'ctime':
            parsePaxTime(v, k); // validated, as Go does
            break;
          default:
            if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
        }
      }
      if (pax && (pax.has('GNU.sparse.major') || pax.has('GNU.sparse.minor') || pax.get('GNU.sparse.map') !== undefined)) sparse = true;
    } catch (err) {
      if (err instanceof HeaderError) throw this.fail(err.message);
      throw err;
    }
    if (longName !== undefined && longName.length > 0) name = longName;
    if (longLink !== undefined && longLink.length > 0) linkname = longLink;
    const nameStr = byteString(name);
    this.current = nameStr;
    let typeflag = rawType;
    // Legacy (v7) archives mark directories by a trailing slash.
    if (typeflag === '\0') typeflag = nameStr.endsWith('/') ? '5' : '0';
    const dataSize = headerOnly(typeflag) ? 0 : size;
    if (dataSize < 0) throw this.fail(`negative size ${size}`);
    this.remaining = dataSize;
    this.pad = -dataSize & (BLOCK - 1);
    if (sparse) this.stopped = 'GNU sparse files are not supported';
    return {
      name: nameStr,
      linkname: byteString(linkname),
      typeflag,
      mode: h.mode,
      uid,
      gid,
      size: dataSize,
      mtimeSec,
      mtimeNsec,
      ...(atime ? { atime } : {}),
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs,
      sparse,
    };
  }

  private end(): undefined {
    this.finished = true;
    this.remaining = 0;
    this.pad = 0;
    return undefined;
  }

  /** The data of the entry `next()` returned last: views into the input, valid until consumed. */
  async *body(): AsyncGenerator<Buffer, void, undefined> {
    const serial = this.serial;
    while (this.remaining > 0 && serial === this.serial) {
      if (this.buffered === 0 && !(await this.fill(1))) throw this.fail('truncated entry data');
      const first = this.chunks[0]!;
      const k = Math.min(this.remaining, first.length);
      const out = this.take(k);
      this.remaining -= k;
      yield out;
    }
  }

  /** Reads the input to its end (bytes after the end-of-archive marker are ignored, as Go does). */
  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    while (!this.eof) {
      const r = await this.source.next();
      if (r.done) this.eof = true;
    }
  }
}
