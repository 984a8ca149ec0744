import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedFixture } from '../../../tests/helpers/tools';
import { Chunker, chunkStream, createChunker, MAX_SIZE, MIN_SIZE, WasmChunker } from './index';
import { computeTables, parsePolynomial, randomPolynomial } from './polynomial';

interface Vector {
  name: string;
  file_size: number;
  chunk_sizes: number[];
  blob_ids: string[];
}

const fixture = sharedFixture('fixtures/restic-chunker-vectors.json');

/** Both implementations must give the same cuts; every chunking test runs on each. */
const IMPLS = [Chunker, WasmChunker] as const;
type Impl = (typeof IMPLS)[number];

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Concatenated sha256(label || uint32le(i)), i = 0, 1, ...: the recipe of the fixture's stream. */
function hashStream(label: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  const ib = Buffer.alloc(4);
  for (let i = 0, off = 0; off < size; i++) {
    ib.writeUInt32LE(i);
    off += createHash('sha256').update(label).update(ib).digest().copy(out, off);
  }
  return out;
}

function vectorData(v: Vector): Buffer {
  if (v.name === 'sha256-stream') return hashStream('mamori-chunker-vector', v.file_size);
  if (v.name === 'zeros') return Buffer.alloc(v.file_size);
  throw new Error(`unknown vector ${v.name}`);
}

/** Chunk lengths of data when handed to Chunker.next in pieces of `feed` bytes. */
function chunkSizes(data: Uint8Array, polynomial: string, feed: number, Impl: Impl = Chunker): number[] {
  const c = new Impl(polynomial);
  const sizes: number[] = [];
  let last = 0;
  for (let off = 0; off < data.length; off += feed) {
    const end = Math.min(data.length, off + feed);
    let pos = off;
    for (;;) {
      const cut = c.next(data, pos, end);
      if (cut < 0) break;
      assert.ok(cut > pos && cut <= end, `cut ${cut} outside (${pos}, ${end}]`);
      sizes.push(cut - last);
      last = pos = cut;
    }
  }
  if (last < data.length) sizes.push(data.length - last);
  return sizes;
}

function idsOf(data: Uint8Array, sizes: number[]): string[] {
  const ids: string[] = [];
  let off = 0;
  for (const n of sizes) {
    ids.push(sha256(data.subarray(off, off + n)));
    off += n;
  }
  return ids;
}

async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, Math.min(data.length, off + size));
}

async function collect(source: AsyncIterable<Uint8Array>, polynomial: string): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const c of chunkStream(source, polynomial)) chunks.push(c);
  return chunks;
}

/**
 * restic's algorithm transcribed literally (BigInt digest, ring-buffer window, restic's own out
 * table), to check the fast path's split halves and folded tables on polynomials the fixture lacks.
 */
function referenceSizes(data: Uint8Array, polynomial: string): number[] {
  const { out, mod } = computeTables(parsePolynomial(polynomial));
  const sizes: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    const win = new Uint8Array(64);
    let wpos = 0;
    let digest = 0n;
    const slide = (b: number): void => {
      digest ^= out[win[wpos]];
      win[wpos] = b;
      wpos = (wpos + 1) % 64;
      const i = Number(digest >> 45n);
      digest = ((digest << 8n) | BigInt(b)) ^ mod[i];
    };
    slide(1);
    let count = Math.min(MIN_SIZE - 64, data.length - pos);
    let cut = -1;
    for (let j = pos + count; j < data.length; j++) {
      slide(data[j]);
      count++;
      if (count >= MIN_SIZE && ((digest & 0xfffffn) === 0n || count >= MAX_SIZE)) {
        cut = j + 1;
        break;
      }
    }
    const end = cut < 0 ? data.length : cut;
    sizes.push(end - pos);
    pos = end;
  }
  return sizes;
}

const loadVectors = (): { polynomial: string; vectors: Vector[] } =>
  JSON.parse(readFileSync(fixture.path!, 'utf8')) as { polynomial: string; vectors: Vector[] };

for (const Impl of IMPLS) {
  test(`${Impl.name}: restic 0.14 vectors, chunk sizes and blob IDs, whatever the buffer sizes`, { skip: fixture.skip }, () => {
    const fx = loadVectors();
    assert.equal(fx.vectors.length, 2);
    for (const v of fx.vectors) {
      const data = vectorData(v);
      assert.equal(v.chunk_sizes.reduce((a, b) => a + b, 0), v.file_size, `${v.name}: vector sizes add up to the file`);
      for (const feed of [1, 7, 64, 4097, 65536, 1_000_003, data.length]) {
        const sizes = chunkSizes(data, fx.polynomial, feed, Impl);
        assert.deepEqual(sizes, v.chunk_sizes, `${v.name}, pieces of ${feed} bytes`);
        assert.deepEqual(idsOf(data, sizes), v.blob_ids, `${v.name}, pieces of ${feed} bytes`);
      }
    }
  });
}

test('restic 0.14 vectors through chunkStream', { skip: fixture.skip }, async () => {
  const fx = loadVectors();
  for (const v of fx.vectors) {
    const data = vectorData(v);
    for (const feed of [1009, 65536, data.length]) {
      const chunks = await collect(pieces(data, feed), fx.polynomial);
      assert.deepEqual(chunks.map((c) => c.length), v.chunk_sizes, `${v.name}, chunkStream, pieces of ${feed}`);
      assert.deepEqual(chunks.map(sha256), v.blob_ids, `${v.name}, chunkStream, pieces of ${feed}`);
    }
  }
});

test('restic 0.14 vector through fs.createReadStream', { skip: fixture.skip }, async () => {
  const fx = loadVectors();
  const v = fx.vectors[0];
  const dir = mkdtempSync(join(tmpdir(), 'mamori-chunker-'));
  try {
    const file = join(dir, 'stream.bin');
    writeFileSync(file, vectorData(v));
    const chunks = await collect(createReadStream(file, { highWaterMark: 64 * 1024 + 13 }), fx.polynomial);
    assert.deepEqual(chunks.map(sha256), v.blob_ids);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exact 8 MiB cut on incompressible data that never matches (IDs from restic 0.14)', async () => {
  // A hash stream in which three bytes were flipped so that no cut point falls before 8 MiB under
  // this polynomial (drawn by `restic init`); restic 0.14 produced the two blob IDs below.
  const polynomial = '26e9ba10630f79';
  const data = hashStream('mamori-max-size', MAX_SIZE + 1_000_003);
  for (const p of [1032114, 1591269, 8190436]) data[p] ^= 0x55;
  const expected = [
    '6864d09cfe391a5f04d676ac04e13464df57a7312229f8daa731a6eaef2bdb08',
    '3d365bbb277ccc2f3e3fe0dbee08279e3a3c4b8bb59be01030599ec592f66339',
  ];
  assert.deepEqual(referenceSizes(data, polynomial), [MAX_SIZE, 1_000_003]);
  for (const Impl of IMPLS) {
    for (const feed of [4097, MAX_SIZE, data.length]) {
      const sizes = chunkSizes(data, polynomial, feed, Impl);
      assert.deepEqual(sizes, [MAX_SIZE, 1_000_003], `${Impl.name}, pieces of ${feed}`);
      assert.deepEqual(idsOf(data, sizes), expected);
    }
    // The cut falls exactly on the last byte of a piece: it must be reported there, not later.
    const c = new Impl(polynomial);
    assert.equal(c.next(data, 0, MAX_SIZE - 1), -1);
    assert.equal(c.next(data, MAX_SIZE - 1, MAX_SIZE), MAX_SIZE);
    assert.equal(c.next(data, MAX_SIZE, MAX_SIZE), -1);
  }
  const chunks = await collect(pieces(data, 65536), polynomial);
  assert.deepEqual(chunks.map(sha256), expected);
});

test('files under 512 KiB are one chunk; exactly 512 KiB too', async () => {
  const poly = '3da3358b4dc173';
  for (const n of [1, 1000, 65, MIN_SIZE - 64, MIN_SIZE - 1, MIN_SIZE]) {
    const data = randomBytes(n);
    for (const Impl of IMPLS) assert.deepEqual(chunkSizes(data, poly, 4097, Impl), [n], `${Impl.name}, ${n} bytes`);
    const chunks = await collect(pieces(data, 1000), poly);
    assert.equal(chunks.length, 1, `${n} bytes`);
    assert.ok(chunks[0].equals(data));
  }
});

test('empty input gives no chunk', async () => {
  const poly = '3da3358b4dc173';
  assert.deepEqual(await collect(pieces(Buffer.alloc(0), 1), poly), []);
  async function* emptyBuffers(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(0);
    yield Buffer.alloc(0);
  }
  assert.deepEqual(await collect(emptyBuffers(), poly), []);
  for (const Impl of IMPLS) assert.equal(new Impl(poly).next(Buffer.alloc(10), 5, 5), -1);
});

test('both implementations match a literal transcription of restic on random polynomials and data', () => {
  const data = Buffer.concat([randomBytes(5_000_000), Buffer.alloc(700_000), randomBytes(1_500_000)]);
  for (const poly of [randomPolynomial(), randomPolynomial(), '3da3358b4dc173']) {
    const want = referenceSizes(data, poly);
    assert.ok(want.length >= 4, 'data long enough for several cuts');
    for (const Impl of IMPLS) {
      for (const feed of [1009, 65536, 3_000_001, data.length]) {
        assert.deepEqual(chunkSizes(data, poly, feed, Impl), want, `${Impl.name}, polynomial ${poly}, pieces of ${feed}`);
      }
    }
  }
});

test('WasmChunker: a match in the second lane never hides an earlier one in the first', () => {
  // WasmChunker hashes the two halves of a slice at once. Zero runs (their 64-byte fingerprint is 0,
  // a match) are placed so the second half matches first in time while the first half matches
  // later in time but earlier in the data, and the other way round; the earlier position must win.
  const poly = '3da3358b4dc173';
  const hashStart = MIN_SIZE - 64;
  for (const [aZeros, bZeros] of [[500_000, 600_000], [520_000, 524_300], [300_000, 800_000], [-1, 700_000]]) {
    const data = randomBytes(3_000_000);
    if (aZeros >= 0) data.fill(0, hashStart + aZeros, hashStart + aZeros + 70);
    data.fill(0, hashStart + bZeros, hashStart + bZeros + 70);
    const want = referenceSizes(data, poly);
    for (const Impl of IMPLS) {
      for (const feed of [data.length, 1 << 20, 777_777]) {
        assert.deepEqual(chunkSizes(data, poly, feed, Impl), want, `${Impl.name}, zeros at ${aZeros}/${bZeros}, pieces of ${feed}`);
      }
    }
  }
});

test('chunkers for different polynomials can be interleaved', () => {
  const data = randomBytes(6_000_000);
  const polys = ['3da3358b4dc173', '2d6c1edf6976ad', '26e9ba10630f79'];
  const want = polys.map((p) => chunkSizes(data, p, data.length));
  assert.notDeepEqual(want[0], want[1]);
  const chunkers = [...polys.map((p) => new Chunker(p)), ...polys.map((p) => new WasmChunker(p))];
  const got: number[][] = chunkers.map(() => []);
  const last = chunkers.map(() => 0);
  const feed = 30_011;
  for (let off = 0; off < data.length; off += feed) {
    const end = Math.min(data.length, off + feed);
    chunkers.forEach((c, k) => {
      let pos = off;
      for (let cut = c.next(data, pos, end); cut >= 0; cut = c.next(data, pos, end)) {
        got[k].push(cut - last[k]);
        last[k] = pos = cut;
      }
    });
  }
  got.forEach((g, k) => {
    if (last[k] < data.length) g.push(data.length - last[k]);
  });
  assert.deepEqual(got, [...want, ...want]);
});

test('reset() starts a new file from scratch', () => {
  const poly = '3da3358b4dc173';
  const data = randomBytes(3_000_000);
  const want = chunkSizes(data, poly, data.length);
  for (const Impl of IMPLS) {
    const c = new Impl(poly);
    const other = randomBytes(MIN_SIZE + 12345);
    assert.equal(c.next(other, 0, other.length), -1);
    c.reset();
    const sizes: number[] = [];
    let pos = 0;
    for (let cut = c.next(data, 0, data.length); cut >= 0; cut = c.next(data, pos, data.length)) {
      sizes.push(cut - pos);
      pos = cut;
    }
    sizes.push(data.length - pos);
    assert.deepEqual(sizes, want, Impl.name);
  }
});

test('chunkStream copies: a source that reuses its buffer still yields the right chunks', async () => {
  const poly = '3da3358b4dc173';
  const data = randomBytes(4_000_000);
  const want = chunkSizes(data, poly, data.length);
  async function* reusing(): AsyncGenerator<Uint8Array> {
    const buf = Buffer.alloc(50_000);
    for (let off = 0; off < data.length; off += buf.length) {
      const n = data.copy(buf, 0, off, Math.min(data.length, off + buf.length));
      yield buf.subarray(0, n);
      buf.fill(0xee);
    }
  }
  const chunks = await collect(reusing(), poly);
  assert.deepEqual(chunks.map((c) => c.length), want);
  assert.deepEqual(chunks.map(sha256), idsOf(data, want));
});

test('createChunker picks WebAssembly here', () => {
  assert.ok(createChunker('3da3358b4dc173') instanceof WasmChunker);
});

test('an invalid polynomial is refused', () => {
  for (const Impl of IMPLS) {
    assert.throws(() => new Impl('20000000000001'), /not irreducible/);
    assert.throws(() => new Impl('0x3da3358b4dc173'), /invalid chunker polynomial/);
  }
});
