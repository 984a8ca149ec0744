// restic's content-defined chunker: a Rabin fingerprint over a 64-byte sliding window, cut where its
// low 20 bits are zero (about 1 MiB on average), with chunks kept between 512 KiB and 8 MiB.
//
// Why bit-exact with restic: blob IDs are SHA-256 of the chunks, so only identical cut points let
// Mamori and restic deduplicate against each other in the same repository.
//
// Why it looks like this: the 53-bit digest (61 bits mid-update) is kept as two 32-bit halves and the
// tables as 32-bit typed arrays, so the per-byte loop is pure 32-bit integer math that V8 compiles to
// machine words (BigInt would allocate on every byte). Like restic, the first 512 KiB - 64 bytes of a
// chunk are passed over unhashed: no cut can fall there, and from the first possible cut on the
// digest only depends on the 64 bytes before it.
//
// Chunker is the plain-JS implementation; WasmChunker (hash loop in wasm.ts) gives the same cuts about
// twice as fast, and createChunker / chunkStream pick it whenever WebAssembly runs.
import { computeTables, parsePolynomial, polyMod, WINDOW_SIZE } from './polynomial';
import { wasmKernel, type WasmKernel } from './wasm';

export const MIN_SIZE = 512 * 1024;
export const MAX_SIZE = 8 * 1024 * 1024;
/** A cut needs the low 20 bits of the digest to be zero (restic's default average of 2^20 bytes). */
const SPLIT_MASK = (1 << 20) - 1;

/**
 * The tables in use, as module-level constants. V8 compiles reads of a constant typed array with its
 * address and length folded into the code; the same reads through `this` or a closure reload them on
 * every byte, which measured 20-40% slower here. A process may chunk for several repositories (each
 * has its own polynomial), so each Chunker installs its polynomial's tables when they are not the
 * active ones: a 4 KiB copy per next() call at worst, negligible next to hashing the call's bytes.
 *
 * Layout of ACTIVE: outHi | outLo | modHi | modLo, 256 entries each; hi = bits 32..63 of the 64-bit
 * entry, lo = bits 0..31 (an Int32Array of the same bits measured no faster).
 *
 * outHi/outLo are not restic's out table but out[b] * x^8 mod f. restic removes the leaving byte
 * before the shift: d' = ((d ^ out[o]) * x^8 + b) mod f. The hash is linear and every value is fully
 * reduced, so that equals ((d * x^8 + b) mod f) ^ (out[o] * x^8 mod f): the same digest, bit for bit,
 * but the reduction index (top 8 bits of d) no longer waits for the out lookup, which shortens the
 * per-byte dependency chain.
 */
const ACTIVE = new Uint32Array(1024);
const OUT_HI = ACTIVE.subarray(0, 256);
const OUT_LO = ACTIVE.subarray(256, 512);
const MOD_HI = ACTIVE.subarray(512, 768);
const MOD_LO = ACTIVE.subarray(768, 1024);
let activeTables: Uint32Array | null = null;

// Computing tables costs ~16k BigInt mod steps; a backup builds one Chunker per file, so share them.
const tableCache = new Map<string, Uint32Array>();

/**
 * Table set of one polynomial: outHi | outLo | modHi | modLo (see ACTIVE). Internal to this folder
 * (the WebAssembly variant derives its own layout from it).
 */
export function tablesFor(polynomialHex: string): Uint32Array {
  const key = polynomialHex.toLowerCase();
  let t = tableCache.get(key);
  if (!t) {
    const f = parsePolynomial(polynomialHex);
    const { out, mod } = computeTables(f);
    t = new Uint32Array(1024);
    for (let b = 0; b < 256; b++) {
      const out8 = polyMod(out[b] << 8n, f);
      t[b] = Number(out8 >> 32n);
      t[256 + b] = Number(out8 & 0xffffffffn);
      t[512 + b] = Number(mod[b] >> 32n);
      t[768 + b] = Number(mod[b] & 0xffffffffn);
    }
    tableCache.set(key, t);
  }
  return t;
}

export class Chunker {
  protected readonly tables: Uint32Array;
  /**
   * The last 64 bytes slid into the hash, oldest first (restic keeps a ring buffer; this order lets
   * the hot loop read the leaving byte straight from the caller's buffer at i - 64 once 64 bytes of
   * this call have been hashed; only the first 64 need this copy).
   */
  protected readonly win = new Uint8Array(WINDOW_SIZE);
  /** Digest, bits 32..52 and 0..31. */
  protected hi = 0;
  protected lo = 0;
  /** Bytes already in the current chunk. */
  private count = 0;
  /** Bytes still to pass unhashed at the start of the current chunk. */
  private pre = 0;

  constructor(polynomialHex: string) {
    this.tables = tablesFor(polynomialHex);
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
    const cut = this.scan(buf, i, stop, base + MIN_SIZE);
    if (cut >= 0 || stop - base >= MAX_SIZE) {
      this.reset();
      return cut >= 0 ? cut : stop;
    }
    this.count = stop - base;
    return -1;
  }

  /**
   * Hashes buf[i, stop) (stop > i). Returns the index just after the first byte where the digest
   * matches and the chunk has reached minEnd, or -1 after saving window and digest for the next call.
   */
  protected scan(buf: Uint8Array, i: number, stop: number, minEnd: number): number {
    if (activeTables !== this.tables) {
      ACTIVE.set(this.tables);
      activeTables = this.tables;
    }
    const win = this.win;
    const hashStart = i;
    let hi = this.hi, lo = this.lo;

    // Phase 1: the outgoing bytes were slid in before this call, so they come from the saved window.
    // The two loops are the same update written twice, because a call per byte would cost more.
    const p1 = Math.min(stop, hashStart + WINDOW_SIZE);
    while (i < p1) {
      const o = win[i - hashStart];
      // Bits 45..52 of the digest pick the entry that reduces the 8 bits about to overflow x^53.
      const m = hi >>> 13;
      hi = ((hi << 8) | (lo >>> 24)) ^ OUT_HI[o] ^ MOD_HI[m];
      lo = ((lo << 8) | buf[i]) ^ OUT_LO[o] ^ MOD_LO[m];
      i++;
      if ((lo & SPLIT_MASK) === 0 && i >= minEnd) return i;
    }
    // Phase 2: the outgoing byte is 64 bytes back in the caller's buffer.
    while (i < stop) {
      const o = buf[i - WINDOW_SIZE];
      const m = hi >>> 13;
      hi = ((hi << 8) | (lo >>> 24)) ^ OUT_HI[o] ^ MOD_HI[m];
      lo = ((lo << 8) | buf[i]) ^ OUT_LO[o] ^ MOD_LO[m];
      i++;
      if ((lo & SPLIT_MASK) === 0 && i >= minEnd) return i;
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
    return -1;
  }
}

/** Same API and cut points as Chunker; hashes in WebAssembly (see wasm.ts), about twice as fast. */
export class WasmChunker extends Chunker {
  private readonly kernel: WasmKernel;

  constructor(polynomialHex: string) {
    super(polynomialHex);
    const k = wasmKernel();
    if (!k) throw new Error('WebAssembly is not available in this process: use Chunker');
    this.kernel = k;
  }

  protected override scan(buf: Uint8Array, i: number, stop: number, minEnd: number): number {
    const k = this.kernel;
    const cut = k.scan(this.tables, this.win, this.hi, this.lo, buf, i, stop, minEnd);
    if (cut < 0) {
      this.hi = k.hi;
      this.lo = k.lo;
    }
    return cut;
  }
}

/** The fastest chunker that runs here: WebAssembly, or plain JS where WebAssembly is unavailable. */
export function createChunker(polynomialHex: string): Chunker {
  return wasmKernel() ? new WasmChunker(polynomialHex) : new Chunker(polynomialHex);
}

/** Convenience: split a stream of buffers (e.g. fs.createReadStream) into chunks; each yielded
    Buffer is one whole chunk (a copy the caller may keep). Memory: at most one chunk (<= 8 MiB) plus
    one input buffer. An empty stream yields nothing. */
export async function* chunkStream(source: AsyncIterable<Uint8Array>, polynomialHex: string): AsyncGenerator<Buffer> {
  const chunker = createChunker(polynomialHex);
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
