// Polynomials over GF(2) for restic's Rabin chunker, held in BigInt (bit i = coefficient of x^i).
//
// A restic repository's config names one random irreducible polynomial of degree 53; every chunk
// boundary depends on it, so Mamori must accept exactly the polynomials restic accepts and derive the
// very same lookup tables. BigInt keeps this code short and obviously correct; it runs only once per
// polynomial (tables are cached by the chunker), never per byte.
import { randomBytes as cryptoRandomBytes } from 'node:crypto';

/** restic draws polynomials of exactly this degree; its hot loop relies on it (index = digest >> 45). */
export const POLYNOMIAL_DEGREE = 53;
/** Bytes in the sliding window hashed by the Rabin fingerprint (restic's windowSize). */
export const WINDOW_SIZE = 64;

// Go's RandomPolynomial gives up after this many draws; about 1 in 53 candidates is irreducible,
// so reaching it means the randomness source is broken, not bad luck.
const RANDOM_MAX_TRIES = 1_000_000;

/** Degree of a polynomial; -1 for the zero polynomial. */
export function degree(p: bigint): number {
  return p === 0n ? -1 : p.toString(2).length - 1;
}

/** Remainder of a divided by m (m non-zero). */
export function polyMod(a: bigint, m: bigint): bigint {
  const dm = degree(m);
  if (dm < 0) throw new Error('polynomial division by zero');
  let da = degree(a);
  while (da >= dm) {
    a ^= m << BigInt(da - dm);
    da = degree(a);
  }
  return a;
}

/** Carry-less product (multiplication in GF(2)[x]). */
export function polyMul(a: bigint, b: bigint): bigint {
  let res = 0n;
  for (let shift = 0n; b !== 0n; shift++, b >>= 1n) {
    if (b & 1n) res ^= a << shift;
  }
  return res;
}

export function polyMulMod(a: bigint, b: bigint, m: bigint): bigint {
  return polyMod(polyMul(a, b), m);
}

export function polyGcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, polyMod(a, b)];
  return a;
}

// x^(2^i) + x mod f, by squaring x i times (reducing each time so numbers stay ~2*deg bits).
// Minus and plus are the same operation in GF(2), hence the XOR with x.
function xPow2PowMinusX(i: number, f: bigint): bigint {
  let r = 2n;
  for (let k = 0; k < i; k++) r = polyMulMod(r, r, f);
  return polyMod(r ^ 2n, f);
}

/**
 * Ben-Or's test, as restic runs it: f of degree d is irreducible iff it shares no factor with
 * x^(2^i) - x for every i in 1..floor(d/2) (each such term is the product of all irreducible
 * polynomials whose degree divides i, so any factor of f of degree <= d/2 would show up).
 */
export function isIrreducible(f: bigint): boolean {
  const d = degree(f);
  if (d < 1) return false;
  for (let i = 1; i <= Math.floor(d / 2); i++) {
    if (polyGcd(f, xPow2PowMinusX(i, f)) !== 1n) return false;
  }
  return true;
}

/**
 * A fresh polynomial in restic's format (lowercase hex, no 0x) for a new repository's config.
 * Candidates are drawn exactly like restic does (64 random bits read little-endian, keep the low 54,
 * force x^53 and 1) so the distribution matches; randomBytes is injectable for tests.
 */
export function randomPolynomial(randomBytes: (n: number) => Buffer = cryptoRandomBytes): string {
  const mask = (1n << 54n) - 1n;
  const force = (1n << 53n) | 1n;
  for (let tries = 0; tries < RANDOM_MAX_TRIES; tries++) {
    const raw = randomBytes(8);
    if (raw.length < 8) throw new Error(`randomPolynomial: randomness source returned ${raw.length} bytes, wanted 8`);
    const f = (raw.readBigUInt64LE(0) & mask) | force;
    if (isIrreducible(f)) return f.toString(16);
  }
  throw new Error(`randomPolynomial: no irreducible polynomial after ${RANDOM_MAX_TRIES} tries (broken randomness source?)`);
}

/**
 * Parses a config's chunker_polynomial. Anything restic would chunk differently with (or refuse)
 * is rejected here, so a damaged or hostile config cannot make us write chunks restic won't match.
 */
export function parsePolynomial(hex: string): bigint {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{1,16}$/.test(hex)) {
    throw new Error(`invalid chunker polynomial ${JSON.stringify(hex)}: expected 1 to 16 hex digits without 0x`);
  }
  const f = BigInt('0x' + hex);
  const d = degree(f);
  if (f === 0n) throw new Error(`invalid chunker polynomial ${hex}: it is zero, restic requires degree ${POLYNOMIAL_DEGREE}`);
  if (d !== POLYNOMIAL_DEGREE) {
    throw new Error(`invalid chunker polynomial ${hex}: degree is ${d}, restic requires ${POLYNOMIAL_DEGREE}`);
  }
  if (!isIrreducible(f)) {
    throw new Error(`invalid chunker polynomial ${hex}: it is not irreducible over GF(2)`);
  }
  return f;
}

/** Lookup tables of the rolling hash, each entry < 2^61. */
export interface RabinTables {
  /** out[b] = fingerprint of b followed by WINDOW_SIZE-1 zero bytes: XOR it to drop b from the window. */
  out: bigint[];
  /** mod[b] = (b * x^53 mod f) | (b << 53): one XOR both clears the 8 overflow bits and reduces. */
  mod: bigint[];
}

function appendByte(h: bigint, b: number, f: bigint): bigint {
  return polyMod((h << 8n) | BigInt(b), f);
}

export function computeTables(f: bigint): RabinTables {
  const k = BigInt(degree(f));
  const out: bigint[] = [];
  const mod: bigint[] = [];
  for (let b = 0; b < 256; b++) {
    let h = appendByte(0n, b, f);
    for (let i = 0; i < WINDOW_SIZE - 1; i++) h = appendByte(h, 0, f);
    out.push(h);
    const bb = BigInt(b);
    mod.push(polyMod(bb << k, f) | (bb << k));
  }
  return { out, mod };
}
