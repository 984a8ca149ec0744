import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { goIsPrint, goJSONString, goQuoteBytes, goUnquoteToBytes } from './gojson';

const b = (...bytes: number[]) => Buffer.from(bytes);
const u = (s: string) => Buffer.from(s, 'utf8');

test('strconv.Quote table (expected values as restic 0.14 / Go 1.19 store them)', () => {
  const cases: [Buffer, string][] = [
    [u('plain.txt'), 'plain.txt'],
    [u('日本語.txt'), '日本語.txt'],
    [u('we"ird\\ näme\u00a0\x01.txt'), 'we\\"ird\\\\ näme\\u00a0\\x01.txt'],
    [b(0x66, 0xff, 0xfe), 'f\\xff\\xfe'],
    [u('a\tb\nc\rd'), 'a\\tb\\nc\\rd'],
    [u('\x07\x08\x0b\x0c\x00\x1f\x7f'), '\\a\\b\\v\\f\\x00\\x1f\\x7f'],
    [u('line\u2028sep\u2029'), 'line\\u2028sep\\u2029'],
    [u('<a&b>'), '<a&b>'],
    [u('soft\u00adhyphen \u0085'), 'soft\\u00adhyphen \\u0085'],
    [u('bom\ufeff zwj\u200d'), 'bom\\ufeff zwj\\u200d'],
    [u('valid \ufffd stays'), 'valid \ufffd stays'],
    [u('😀 old emoji'), '😀 old emoji'],
    // Added in Unicode 14, after Go 1.19's Unicode 13: not printable for restic 0.14.
    [u('🫠 new emoji'), '\\U0001fae0 new emoji'],
    [u('\u{e0001}tag \u{f0000}pua'), '\\U000e0001tag \\U000f0000pua'],
    [b(0xc0, 0x80), '\\xc0\\x80'], // overlong NUL
    [b(0xed, 0xa0, 0x80), '\\xed\\xa0\\x80'], // UTF-8-encoded surrogate
    [b(0xf4, 0x90, 0x80, 0x80), '\\xf4\\x90\\x80\\x80'], // above U+10FFFF
    [b(0x61, 0xe6, 0x97), 'a\\xe6\\x97'], // truncated at the end
    [b(0xe6, 0x97, 0x61), '\\xe6\\x97a'], // truncated in the middle
  ];
  for (const [name, quoted] of cases) {
    assert.equal(goQuoteBytes(name), quoted, `quote ${name.toString('hex')}`);
    assert.deepEqual(goUnquoteToBytes(quoted), name, `unquote ${quoted}`);
  }
});

test('a tree name as restic stores it: Quote, then JSON (the example in restic-format.md)', () => {
  assert.equal(goJSONString(goQuoteBytes(u('we"ird\\ näme\u00a0\x01.txt'))), '"we\\\\\\"ird\\\\\\\\ näme\\\\u00a0\\\\x01.txt"');
  assert.equal(goJSONString(goQuoteBytes(u('<&>'))), '"\\u003c\\u0026\\u003e"');
});

test('encoding/json string table (Go 1.19, HTML escaping on)', () => {
  const cases: [string | Buffer, string][] = [
    ['', '""'],
    ['plain 日本語', '"plain 日本語"'],
    ['<a href="x">&</a>', '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"'],
    ['back\\slash', '"back\\\\slash"'],
    ['\t\n\r', '"\\t\\n\\r"'],
    ['\b\f\x00\x1f', '"\\u0008\\u000c\\u0000\\u001f"'],
    ['\x7f', '"\x7f"'],
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['\u00a0\u0085', '"\u00a0\u0085"'],
    [b(0x66, 0xff, 0xfe), '"f\\ufffd\\ufffd"'],
    [b(0xe6, 0x97), '"\\ufffd\\ufffd"'],
    ['lone \ud800 surrogate', '"lone \ufffd surrogate"'], // a JS-only case: becomes a real U+FFFD
    ['🫠', '"🫠"'],
  ];
  for (const [input, out] of cases) assert.equal(goJSONString(input), out, JSON.stringify(input));
});

test('goUnquoteToBytes accepts Go spellings and rejects what Go rejects', () => {
  assert.deepEqual(goUnquoteToBytes('\\101\\377\\x41\\u00e4\\U0001F600'), Buffer.concat([u('A'), b(0xff), u('Aä😀')]));
  assert.deepEqual(goUnquoteToBytes('\\x4A'), u('J'));
  for (const bad of ['a"b', 'a\nb', "\\'", '\\q', '\\x4', '\\ud800', '\\U00110000', '\\400', '\\1', 'end\\']) {
    assert.throws(() => goUnquoteToBytes(bad), /invalid Go-quoted name/, bad);
  }
});

function randomName(): Buffer {
  const len = randomInt(0, 40);
  const out: number[] = [];
  const pool = [0x00, 0x07, 0x0a, 0x22, 0x5c, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
  while (out.length < len) {
    const r = randomInt(0, 4);
    if (r === 0) out.push(...randomBytes(randomInt(1, 5)));
    else if (r === 1) out.push(pool[randomInt(0, pool.length)]);
    else if (r === 2) {
      const cp = randomInt(0x80, 0x110000);
      if (cp < 0xd800 || cp > 0xdfff) out.push(...u(String.fromCodePoint(cp)));
    }
    else out.push(randomInt(0x20, 0x7f));
  }
  return Buffer.from(out);
}

function hasAny(s: string, pred: (c: number) => boolean): boolean {
  for (let i = 0; i < s.length; i++) if (pred(s.charCodeAt(i))) return true;
  return false;
}

test('property: Quote/Unquote round-trips arbitrary bytes; JSON output always parses back', () => {
  for (let i = 0; i < 5000; i++) {
    const name = randomName();
    const quoted = goQuoteBytes(name);
    assert.ok(!hasAny(quoted.replace(/\\./g, ''), (c) => c < 0x20 || c === 0x7f || c === 0x22), `raw control char or quote: ${quoted}`);
    assert.deepEqual(goUnquoteToBytes(quoted), name, name.toString('hex'));
    const json = goJSONString(quoted);
    assert.equal(JSON.parse(json), quoted);
    assert.ok(!hasAny(json, (c) => c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029), json);
  }
});

test('property: JSON of arbitrary bytes parses to the same text as Buffer decoding for valid UTF-8', () => {
  for (let i = 0; i < 2000; i++) {
    const s = randomName();
    const parsed = JSON.parse(goJSONString(s)) as string;
    if (Buffer.from(s.toString('utf8'), 'utf8').equals(s)) assert.equal(parsed, s.toString('utf8'));
    else assert.ok(parsed.includes('\ufffd'));
  }
});

test("Go's printable table is a subset of today's Unicode L/M/N/P/S (catches a damaged table)", () => {
  const re = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
  let printable = 0;
  for (let c = 0; c < 0x110000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    if (!goIsPrint(c)) continue;
    printable++;
    assert.ok(c === 0x20 || re.test(String.fromCodePoint(c)), `U+${c.toString(16)} printable in Go but not in Unicode`);
  }
  // The count measured from restic 0.14 when the table was made (U+0020 and ASCII included).
  assert.equal(printable, 143_680);
  assert.equal(goIsPrint(0xa0), false);
  assert.equal(goIsPrint(0x3000), false); // ideographic space is Zs
  assert.equal(goIsPrint(0x1f600), true);
  assert.equal(goIsPrint(0x1fae0), false);
});
