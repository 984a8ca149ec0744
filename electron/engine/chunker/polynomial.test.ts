import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  computeTables, degree, isIrreducible, parsePolynomial, polyMod, polyMul, randomPolynomial, POLYNOMIAL_DEGREE,
} from './polynomial';

// restic's own test polynomial, the one behind the fixture vectors, and one `restic init` drew here.
const KNOWN_IRREDUCIBLE = [0x3da3358b4dc173n, 0x2d6c1edf6976adn, 0x26e9ba10630f79n];

test('known restic polynomials are irreducible of degree 53', () => {
  for (const f of KNOWN_IRREDUCIBLE) {
    assert.equal(degree(f), POLYNOMIAL_DEGREE);
    assert.equal(isIrreducible(f), true, f.toString(16));
    assert.equal(parsePolynomial(f.toString(16)), f);
  }
});

test('products of two polynomials are reducible', () => {
  // degree 20 x degree 33, degree 26 x degree 27, and (x + 1) x degree 52: all of degree 53.
  const pairs: Array<[bigint, bigint]> = [
    [(1n << 20n) | 0x5a3n | 1n, (1n << 33n) | 0x1234567n | 1n],
    [(1n << 26n) | 0x2f00f1n, (1n << 27n) | 0x6a5a5a5n | 1n],
    [0b11n, (1n << 52n) | 0xabcdef12345n | 1n],
  ];
  for (const [a, b] of pairs) {
    const p = polyMul(a, b);
    assert.equal(degree(p), 53);
    assert.equal(polyMod(p, a), 0n);
    assert.equal(isIrreducible(p), false, p.toString(16));
    assert.throws(() => parsePolynomial(p.toString(16)), /not irreducible/);
  }
  // A square of an irreducible polynomial, and the irreducible restic polynomials times x.
  assert.equal(isIrreducible(polyMul(0x3da3358b4dc173n, 0x3da3358b4dc173n)), false);
  for (const f of KNOWN_IRREDUCIBLE) assert.equal(isIrreducible(polyMul(f, 2n)), false);
});

test('isIrreducible agrees with trial division and the known counts for degrees 1..10', () => {
  // Number of irreducible binary polynomials of each degree (OEIS A001037).
  const expected = [0, 2, 1, 2, 3, 6, 9, 18, 30, 56, 99];
  const counts = new Array<number>(11).fill(0);
  const irreducibles: bigint[] = [];
  for (let v = 2n; v < 1n << 11n; v++) {
    const d = degree(v);
    const byDivision = !irreducibles.some((g) => 2 * degree(g) <= d && polyMod(v, g) === 0n);
    if (byDivision) irreducibles.push(v);
    assert.equal(isIrreducible(v), byDivision, `0b${v.toString(2)}`);
    if (byDivision) counts[d]++;
  }
  assert.deepEqual(counts, expected);
});

test('randomPolynomial returns degree-53 irreducible polynomials that parse back', () => {
  const seen = new Set<string>();
  for (let k = 0; k < 5; k++) {
    const hex = randomPolynomial();
    assert.match(hex, /^[0-9a-f]{14}$/);
    const f = parsePolynomial(hex);
    assert.equal(degree(f), 53);
    assert.equal(isIrreducible(f), true);
    assert.equal(f & 1n, 1n);
    seen.add(hex);
  }
  assert.ok(seen.size > 1, 'five draws should not all be equal');
});

test('randomPolynomial draws like restic: 64 LE bits, keep 54, force x^53 and 1, retry while reducible', () => {
  const le = (v: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return b;
  };
  const reducible = polyMul(0b111n, (1n << 51n) | 1n);
  // Junk above bit 53, and bits 53 and 0 cleared: the mask must restore restic's test polynomial.
  const draws = [le(reducible), le(0xffc0000000000000n | (0x3da3358b4dc173n & ~((1n << 53n) | 1n)))];
  const asked: number[] = [];
  const hex = randomPolynomial((n) => {
    asked.push(n);
    const next = draws.shift();
    assert.ok(next, 'called more often than needed');
    return next;
  });
  assert.equal(hex, '3da3358b4dc173');
  assert.deepEqual(asked, [8, 8]);
});

test('parsePolynomial rejects bad input with a clear message', () => {
  assert.equal(parsePolynomial('2D6C1EDF6976AD'), 0x2d6c1edf6976adn);
  const bad: Array<[unknown, RegExp]> = [
    ['', /expected 1 to 16 hex digits/],
    ['0x3da3358b4dc173', /expected 1 to 16 hex digits without 0x/],
    [' 3da3358b4dc173', /expected 1 to 16 hex digits/],
    ['3da3358b4dc17g', /expected 1 to 16 hex digits/],
    ['13da3358b4dc1730000', /expected 1 to 16 hex digits/],
    [0x2d6c1e, /expected 1 to 16 hex digits/], // not a string
    ['0', /it is zero, restic requires degree 53/],
    ['3da3358b4dc17', /degree is 49, restic requires 53/],
    ['7da3358b4dc173', /degree is 54, restic requires 53/],
    ['20000000000001', /not irreducible/], // x^53 + 1 has the factor x + 1
  ];
  for (const [input, message] of bad) {
    assert.throws(() => parsePolynomial(input as string), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /invalid chunker polynomial/);
      assert.match(e.message, message);
      return true;
    }, String(input));
  }
});

test('computeTables matches the definitions', () => {
  const f = 0x2d6c1edf6976adn;
  const { out, mod } = computeTables(f);
  assert.equal(out.length, 256);
  assert.equal(mod.length, 256);
  for (let b = 0; b < 256; b++) {
    const bb = BigInt(b);
    // Hash(b || 63 zero bytes) = b * x^(8*63) mod f.
    assert.equal(out[b], polyMod(bb << BigInt(8 * 63), f));
    assert.equal(mod[b] >> 53n, bb);
    assert.equal(mod[b] & ((1n << 53n) - 1n), polyMod(bb << 53n, f));
  }
  assert.equal(out[0], 0n);
  assert.equal(mod[0], 0n);
});
