import { describe, expect, it } from 'vitest';
import { ConfigDocument, splitInitCmd } from '../src/index.js';
import { encodeConfigValue, parseConfigLine, parseConfigText } from '../src/confvalue.js';
import { encodeInitCmd } from '../src/initcmd.js';
import { randomString, rng } from './helpers.js';

const stock = { quotedInitCmd: false };
const quoted = { quotedInitCmd: true };

describe('splitInitCmd (model of LXC)', () => {
  it('LXC < 6.0 splits on single spaces only (measured on 5.0.2)', () => {
    expect(splitInitCmd('/bin/rec a  b\tc "d e" \'f\'', stock)).toEqual(['/bin/rec', 'a', 'b\tc', '"d', 'e"', "'f'"]);
    expect(splitInitCmd('  a   ', stock)).toEqual(['a']);
    expect(splitInitCmd('a\\ b', stock)).toEqual(['a\\', 'b']);
  });

  it('LXC >= 6.0 groups quoted words, isspace separates, no escapes', () => {
    expect(splitInitCmd('/usr/bin/touch "file one" \'file 2\'', quoted)).toEqual(['/usr/bin/touch', 'file one', 'file 2']);
    expect(splitInitCmd('a\tb\vc', quoted)).toEqual(['a', 'b', 'c']);
    expect(splitInitCmd('a "" b', quoted)).toEqual(['a', '', 'b']);
    expect(splitInitCmd('ab"c d"', quoted)).toEqual(['ab"c', 'd"']);
    expect(splitInitCmd('"a b"c', quoted)).toEqual(['a b', 'c']);
    expect(splitInitCmd('a "unterminated b', quoted)).toEqual(['a']);
    expect(splitInitCmd('"it\'s" \'say "hi"\'', quoted)).toEqual(["it's", 'say "hi"']);
  });
});

describe('LXC config line model', () => {
  it('trims, treats # only at line start as comment, strips one pair of outer quotes', () => {
    expect(parseConfigLine('  lxc.init.cwd =  /a b \t')).toEqual({ key: 'lxc.init.cwd', value: '/a b' });
    expect(parseConfigLine('# lxc.init.cwd = /x')).toBeUndefined();
    expect(parseConfigLine('lxc.environment = A=#b')).toEqual({ key: 'lxc.environment', value: 'A=#b' });
    expect(parseConfigLine('lxc.environment = "Q"="a"')).toEqual({ key: 'lxc.environment', value: 'Q"="a' });
    expect(parseConfigText('lxc.a = x\ry\nlxc.b = z')).toEqual([{ key: 'lxc.a', value: 'x' }, { key: 'lxc.b', value: 'z' }]);
  });

  it('encodeConfigValue round-trips and rejects what LXC would change', () => {
    for (const v of ['"a"', "'x y'", 'a"', '"', 'A= b', 'x#y', '"a" "b"']) {
      expect(parseConfigLine(`lxc.k = ${encodeConfigValue(v, 'F')}`)!.value).toBe(v);
    }
    for (const v of ['', ' a', 'a ', 'a\t', '\ta', 'a\nb', 'a\rb', 'a\0b', 'a\x1bb']) {
      expect(() => encodeConfigValue(v, 'WorkingDir')).toThrow(/WorkingDir/);
    }
  });
});

describe('encodeInitCmd', () => {
  it('writes simple argv verbatim on every LXC', () => {
    for (const caps of [stock, quoted]) {
      expect(encodeInitCmd(['/bin/app', '--flag=1', '$HOME', 'a"b', "c'd", 'e\\f', '*'], caps)).toEqual({
        ok: true,
        value: '/bin/app --flag=1 $HOME a"b c\'d e\\f *',
      });
    }
  });

  it('names the argument and the LXC feature when stock LXC cannot write it', () => {
    const r = encodeInitCmd(['/bin/app', 'a b'], stock);
    expect(r).toMatchObject({ ok: false, index: 1 });
    expect(!r.ok && r.reason).toMatch(/LXC >= 6\.0/);
    expect(encodeInitCmd(['/bin/app', ''], stock)).toMatchObject({ ok: false, index: 1 });
    expect(encodeInitCmd(['/bin/app', 'x\t'], stock)).toMatchObject({ ok: false, index: 1 });
    expect(encodeInitCmd(['/bin/app', 'x\ny'], quoted)).toMatchObject({ ok: false, index: 1 });
    expect(encodeInitCmd(['/bin/app', `it's "x y"`], quoted)).toMatchObject({ ok: false, index: 1 });
  });

  it('quotes for LXC >= 6.0, keeping outer quotes safe from the line parser', () => {
    expect(encodeInitCmd(['/bin/app', 'a b', '', 'say "hi"'], quoted)).toEqual({ ok: true, value: `/bin/app "a b" "" 'say "hi"'` });
    // The value LXC must read; the line encoder adds the outer pair LXC strips.
    expect(encodeInitCmd(['a b', 'c d'], quoted)).toEqual({ ok: true, value: '"a b" "c d"' });
    expect(new ConfigDocument().entry('lxc.init.cmd', '"a b" "c d"').render('lxc')).toBe('lxc.init.cmd = ""a b" "c d""\n');
  });

  it('property: every encodable random argv reads back exactly through the LXC model', () => {
    for (const [name, caps] of [['stock', stock], ['quoted', quoted]] as const) {
      const seed = name === 'stock' ? 1 : 2;
      const r = rng(seed);
      let ok = 0;
      for (let n = 0; n < 3000; n++) {
        const argv = Array.from({ length: 1 + Math.floor(r() * 5) }, () => randomString(r, { allowNewline: true }));
        const enc = encodeInitCmd(argv, caps);
        if (!enc.ok) {
          expect(enc.index, `seed ${seed} case ${n}`).toBeGreaterThanOrEqual(0);
          continue;
        }
        ok++;
        const [line] = parseConfigText(`lxc.init.cmd = ${encodeConfigValue(enc.value, "lxc.init.cmd")}\n`);
        expect(splitInitCmd(line!.value, caps), `seed ${seed} case ${n}: ${JSON.stringify(argv)}`).toEqual(argv);
      }
      expect(ok).toBeGreaterThan(100);
    }
  });

  it('property: on LXC >= 6.0 everything without control characters or mixed quotes is encodable', () => {
    const r = rng(3);
    for (let n = 0; n < 2000; n++) {
      const argv = Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomString(r));
      const blocked = argv.some((a) => (a === '' || /[ \t]/.test(a) || /^["']/.test(a)) && a.includes('"') && a.includes("'"));
      expect(encodeInitCmd(argv, quoted).ok, JSON.stringify(argv)).toBe(!blocked);
    }
  });
});
