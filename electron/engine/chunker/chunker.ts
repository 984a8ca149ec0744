// restic's content-defined chunker: a Rabin fingerprint over a 64-byte sliding window, cut where its
// low 20 bits are zero (about 1 MiB on average), with chunks kept between 512 KiB and 8 MiB.
//
// Why bit-exact with restic: blob IDs are SHA-256 of the chunks, so only identical cut points let
// Mamori and restic deduplicate against each other in the same repository.
//
// Why it looks like this: the 53-bit digest (61 bits mid-update) is kept as two 32-bit halves and the
// tables as 32-bit typed arrays, so the per-byte loop is pure 32-bit integer math that V8 compiles to
// machine words (BigInt would allocate on every byte). Like restic, the first 512 KiB - 64 bytes of a
// chunk are never hashed: no cut can fall there and the window only needs the last 64 of them.
import { computeTables, parsePolynomial, WINDOW_SIZE } from './polynomial';

export const MIN_SIZE = 512 * 1024;
export const MAX_SIZE = 8 * 1024 * 1024;
/** A cut needs the low 20 bits of the digest to be zero (restic's default average of 2^20 bytes). */
const SPLIT_MASK = (1 << 20) - 1;

/**
 * Each table holds entry b as [hi, lo] at [2b, 2b+1]: both halves share a cache line and one bounds
 * check. Int32Array rather than Uint32Array: the bits are the same, but values >= 2^31 read from a
 * Uint32Array leave V8's int32 fast path in the hot loop (measured: erratic, up to 35% slower).
 */
interface PairTables {
  out: Int32Array;
  mod: Int32Array;
}

// Tables cost ~16k BigInt mod steps; a backup builds one Chunker per file, so share them.
const tableCache = new Map<string, PairTables>();

function tablesFor(polynomialHex: string): PairTables {
  const key = polynomialHex.toLowerCase();
  let t = tableCache.get(key);
  if (!t) {
    const { out, mod } = computeTables(parsePolynomial(polynomialHex));
    t = { out: new Int32Array(512), mod: new Int32Array(512) };
    for (let b = 0; b < 256; b++) {
      t.out[2 * b] = Number(out[b] >> 32n);
      t.out[2 * b + 1] = Number(out[b] & 0xffffffffn);
      t.mod[2 * b] = Number(mod[b] >> 32n);
      t.mod[2 * b + 1] = Number(mod[b] & 0xffffffffn);
    }
    tableCache.set(key, t);
  }
  return t;
}

export class Chunker {
  private readonly out: Int32Array;
  private readonly mod: Int32Array;
  /**
   * The last 64 bytes slid into the hash, oldest first (restic keeps a ring buffer; the order here
   * lets the hot loop read the outgoing byte straight from the caller's buffer at i - 64 once 64
   * bytes of it have been hashed, and only this copy is consulted for the first 64).
   */
  private readonly win = new Uint8Array(WINDOW_SIZE);
  /** Digest, bits 32..52 and 0..31. */
  private hi = 0;
  private lo = 0;
  /** Bytes already in the current chunk. */
  private count = 0;
  /** Bytes still to pass unhashed at the start of the current chunk. */
  private pre = 0;

  constructor(polynomialHex: string) {
    const t = tablesFor(polynomialHex);
    this.out = t.out;
    this.mod = t.mod;
    this.reset();
  }

  /** Start a new file (resets state exactly as restic does at file start). */
  reset(): void {
    // restic slides one 0x01 byte into the zeroed window: it leaves the window 64 bytes later and
    // changes the digest then, so it must be reproduced. Sliding it in from digest 0 gives digest 1
    // (out[0] and mod[0] are both 0).
    this.win.fill(0);
    this.win[WINDOW_SIZE - 1] = 1;
    this.hi = 0;
    this.lo = 1;
    this.count = 0;
    this.pre = MIN_SIZE - WINDOW_SIZE;
  }

  /** Scan buf[start, end). Returns the index just after the last byte of the chunk when a cut happens
      inside this range, else -1 (all of [start,end) consumed into the current chunk). After a cut, the
      state is reset for the next chunk, so the caller calls again with start = returned index. */
  next(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    if (this.pre > 0) {
      const n = end - i;
      if (this.pre >= n) {
        this.pre -= n;
        this.count += n;
        return -1;
      }
      i += this.pre;
      this.count += this.pre;
      this.pre = 0;
    }
    if (i >= end) return -1;

    // The chunk length after the byte at index j is j + 1 - base: no per-byte counter needed.
    const base = i - this.count;
    // The byte that reaches MAX_SIZE is a forced cut: never scan past it.
    const stop = Math.min(end, base + MAX_SIZE);
    // A zero mask only cuts once the chunk has MIN_SIZE bytes (i is already past the byte here).
    const minEnd = base + MIN_SIZE;
    const out = this.out, mod = this.mod, win = this.win;
    const hashStart = i;
    let hi = this.hi, lo = this.lo;

    // Phase 1: the outgoing bytes were slid in before this call, so they come from the saved window.
    // The two loops are the same update written twice, because a call per byte would cost more.
    const p1 = Math.min(stop, hashStart + WINDOW_SIZE);
    while (i < p1) {
      const b = buf[i];
      const o = win[i - hashStart] << 1;
      hi ^= out[o];
      lo ^= out[o + 1];
      // Bits 45..52 of the digest pick the entry that reduces the 8 bits about to overflow x^53.
      const m = (hi >>> 13) << 1;
      hi = ((hi << 8) | (lo >>> 24)) ^ mod[m];
      lo = ((lo << 8) | b) ^ mod[m + 1];
      i++;
      if ((lo & SPLIT_MASK) === 0 && i >= minEnd) {
        this.reset();
        return i;
      }
    }
    // Phase 2: the outgoing byte is 64 bytes back in the caller's buffer.
    while (i < stop) {
      const b = buf[i];
      const o = buf[i - WINDOW_SIZE] << 1;
      hi ^= out[o];
      lo ^= out[o + 1];
      const m = (hi >>> 13) << 1;
      hi = ((hi << 8) | (lo >>> 24)) ^ mod[m];
      lo = ((lo << 8) | b) ^ mod[m + 1];
      i++;
      if ((lo & SPLIT_MASK) === 0 && i >= minEnd) {
        this.reset();
        return i;
      }
    }
    if (i - base >= MAX_SIZE) {
      this.reset();
      return i;
    }

    const hashed = i - hashStart;
    if (hashed >= WINDOW_SIZE) {
      win.set(buf.subarray(i - WINDOW_SIZE, i));
    } else {
      win.copyWithin(0, hashed);
      win.set(buf.subarray(hashStart, i), WINDOW_SIZE - hashed);
    }
    this.hi = hi;
    this.lo = lo;
    this.count = i - base;
    return -1;
  }
}

/** Convenience: split a stream of buffers (e.g. fs.createReadStream) into chunks; each yielded
    Buffer is one whole chunk (a copy the caller may keep). Memory: at most one chunk (<= 8 MiB) plus
    one input buffer. An empty stream yields nothing. */
export async function* chunkStream(source: AsyncIterable<Uint8Array>, polynomialHex: string): AsyncGenerator<Buffer> {
  const chunker = new Chunker(polynomialHex);
  // Pieces of the current chunk are copied here rather than kept as views, because a source may
  // reuse its buffers; it grows on demand so small files never pay for 8 MiB.
  let acc = Buffer.allocUnsafeSlow(0);
  let len = 0;
  const append = (buf: Uint8Array, from: number, to: number): void => {
    const need = len + (to - from);
    if (need > acc.length) {
      const grown = Buffer.allocUnsafeSlow(Math.min(MAX_SIZE, Math.max(need, acc.length * 2, 64 * 1024)));
      acc.copy(grown, 0, 0, len);
      acc = grown;
    }
    acc.set(buf.subarray(from, to), len);
    len = need;
  };
  for await (const buf of source) {
    let pos = 0;
    while (pos < buf.length) {
      const cut = chunker.next(buf, pos, buf.length);
      if (cut < 0) {
        append(buf, pos, buf.length);
        break;
      }
      if (len === 0) {
        // Whole chunk inside this input buffer: copy it once, straight out.
        yield Buffer.from(buf.subarray(pos, cut));
      } else {
        append(buf, pos, cut);
        const chunk = Buffer.from(acc.subarray(0, len));
        len = 0;
        yield chunk;
      }
      pos = cut;
    }
  }
  if (len > 0) yield Buffer.from(acc.subarray(0, len));
}
