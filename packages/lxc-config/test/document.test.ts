import { describe, expect, it } from 'vitest';
import { ConfigDocument, escapeComment, LxcConfigError, parseConfigText, parsePveText, PVE_DESCRIPTION_LIMIT, renderLxcConfig } from '../src/index.js';
import { rng } from './helpers.js';

// Everything that could end or forge a line for LXC, pve or a Unicode-aware reader.
const HOSTILE = ['\n', '\r', '\0', '\r\n', '\x01', '\x1b', '\x7f', '\x85', '\u2028', '\u2029', '\ud800', '\\', '"', "'", '#', '=', ':', '%', ' ', '\t', '\nlxc.hook.pre-start = /bin/touch /tmp/PWNED\n', '\rlxc.hook.pre-start: /bin/touch /tmp/PWNED', '\0lxc.hook.pre-start=/bin/x'];

function hostile(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) s += r() < 0.6 ? HOSTILE[Math.floor(r() * HOSTILE.length)]! : 'aé€x/';
  return s;
}

const err = (f: () => unknown): LxcConfigError => {
  try {
    f();
  } catch (e) {
    if (e instanceof LxcConfigError) return e;
    throw e;
  }
  throw new Error('did not throw');
};

describe('escapeComment', () => {
  it('escapes line breaks, controls, DEL, C1, U+2028/9, lone surrogates and backslash JSON-style', () => {
    expect(escapeComment('a\nb\rc\0d\te\x1bf\x7fg\x85h\u2028i\u2029j\\k')).toBe('a\\nb\\rc\\u0000d\\te\\u001bf\\u007fg\\u0085h\\u2028i\\u2029j\\\\k');
    expect(escapeComment('x\ud800y\udc00')).toBe('x\\ud800y\\udc00');
    expect(escapeComment('é€ 😀 "quoted" #=:')).toBe('é€ 😀 "quoted" #=:');
  });
  it('is reversible: JSON.parse of the escaped text gives the original back', () => {
    const r = rng(7);
    for (let i = 0; i < 500; i++) {
      const s = hostile(r);
      const e = escapeComment(s);
      expect(e).not.toMatch(/[\0-\x1f\x7f-\x9f\u2028\u2029]/);
      expect(JSON.parse(`"${e.replace(/"/g, '\\"')}"`)).toBe(s);
    }
  });
});

describe('ConfigDocument', () => {
  it('renders comments, entries and clears; LXC reads back exactly the entries', () => {
    const doc = new ConfigDocument()
      .comment('from /tmp/a\nlxc.hook.pre-start = /bin/touch /tmp/PWNED')
      .entry('lxc.uts.name', 'web')
      .entry('lxc.init.cmd', '"a b" "c"')
      .clear('lxc.net.0.hwaddr')
      .blank()
      .entry('lxc.environment', 'X="quoted"');
    const text = doc.render('lxc');
    expect(text).toBe(
      '# from /tmp/a\\nlxc.hook.pre-start = /bin/touch /tmp/PWNED\nlxc.uts.name = web\nlxc.init.cmd = ""a b" "c""\nlxc.net.0.hwaddr =\n\nlxc.environment = X="quoted"\n',
    );
    expect(parseConfigText(text)).toEqual(doc.entries);
  });

  it('refuses keys outside lxc.word(.word)* and values no line can carry, naming the field', () => {
    for (const key of ['lxc', 'lxc.', 'lxc..a', 'lxc.a b', 'lxc.a=b', 'lxc.a\nlxc.hook.x', 'LXC.a', 'x.lxc.a', ' lxc.a', 'lxc.a#']) {
      expect(err(() => new ConfigDocument().entry(key, 'v')).code, key).toBe('INVALID_KEY');
    }
    for (const value of ['', ' a', 'a ', 'a\nlxc.hook.pre-start = /x', 'a\rb', 'a\0b', 'a\x7f', 'a\x1bb']) {
      const e = err(() => new ConfigDocument().entry('lxc.init.cwd', value, 'WorkingDir'));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.field).toBe('WorkingDir');
      expect(e.message).toContain('WorkingDir');
    }
    expect(err(() => new ConfigDocument().option('cmode', 'console').render('lxc')).code).toBe('INVALID_KEY');
    expect(err(() => new ConfigDocument().option('lxc.a', 'x')).code).toBe('INVALID_KEY');
    expect(err(() => new ConfigDocument().entry('lxc.sysctl.net.ipv4.conf.ETH0.x', '1').render('pve')).code).toBe('INVALID_KEY');
  });

  it('property: hostile comments and values never add, drop or change an entry (lxc and pve)', () => {
    const r = rng(11);
    for (let n = 0; n < 2000; n++) {
      const doc = new ConfigDocument();
      const expected: Array<{ key: string; value: string }> = [];
      for (let i = 0; i < 6; i++) {
        const s = hostile(r);
        if (r() < 0.5) doc.comment(s);
        else {
          try {
            doc.entry('lxc.environment', `V=${s}`);
            expected.push({ key: 'lxc.environment', value: `V=${s}` });
          } catch (e) {
            expect((e as LxcConfigError).code).toBe('INVALID_ARGUMENT');
          }
        }
      }
      const lxc = doc.render('lxc');
      expect(parseConfigText(lxc), JSON.stringify(lxc)).toEqual(expected);
      const pve = doc.render('pve');
      expect(pve.split('\n').every((l) => l === '' || l.startsWith('#') || l.startsWith('lxc.environment: '))).toBe(true);
      expect(parsePveText(pve).map((e) => e.key)).toEqual(expected.map((e) => e.key));
    }
  });

  it('pve: comments are URI-encoded description lines within pve\'s 8 KiB limit', () => {
    const doc = new ConfigDocument().comment('a\nb%c:d é').entry('lxc.init.cwd', '/srv');
    expect(doc.render('pve')).toBe('#a%0Ab%25c%3Ad %C3%A9\nlxc.init.cwd: /srv\n');
    const big = new ConfigDocument();
    for (let i = 0; i < 10; i++) big.comment(`Label l${i}=${'x'.repeat(2000)}`);
    big.option('cmode', 'console');
    const text = big.render('pve');
    const descr = text.split('\n').filter((l) => l.startsWith('#')).map((l) => `${decodeURIComponent(l.slice(1))}\n`).join('');
    expect(Buffer.byteLength(descr)).toBeLessThanOrEqual(PVE_DESCRIPTION_LIMIT);
    expect(descr).toContain('l3=');
    expect(descr).toMatch(/\(6 more comment lines left out: Proxmox limits the description to 8192 bytes\)\n$/);
    expect(text.endsWith('cmode: console\n')).toBe(true);
  });

  it('renderLxcConfig goes through the document (a plan with a hostile comment)', () => {
    const text = renderLxcConfig({ comments: ['x\nlxc.hook.pre-start = /bin/sh'], lines: [{ key: 'lxc.init.cwd', value: '/' }], console: true }, 'lxc');
    expect(parseConfigText(text)).toEqual([{ key: 'lxc.init.cwd', value: '/' }]);
  });
});
