import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BlobType, ID, PackedBlob } from '../repo';
import { planRestore, type BlobLocator } from './plan';

const id = (n: number): ID => n.toString(16).padStart(64, '0');
const pack = (n: number): ID => 'f' + n.toString(16).padStart(63, '0');

/** A fake index: blob n lives in pack p at the given offset with `len` stored bytes (plaintext len - 32). */
function locator(entries: { blob: number; pack: number; offset: number; len: number; ulen?: number }[]): BlobLocator {
  const m = new Map<ID, PackedBlob[]>();
  for (const e of entries) {
    const pb: PackedBlob = { id: id(e.blob), type: 'data', pack: pack(e.pack), offset: e.offset, length: e.len, uncompressedLength: e.ulen ?? 0 };
    m.set(pb.id, [...(m.get(pb.id) ?? []), pb]);
  }
  return { lookup: (type: BlobType, i: ID) => (type === 'data' ? m.get(i) ?? [] : []) };
}

test('offsets are running sums of plaintext sizes; a shared blob is read once for every use', () => {
  const idx = locator([
    { blob: 1, pack: 1, offset: 0, len: 132 }, // 100 bytes
    { blob: 2, pack: 1, offset: 132, len: 82, ulen: 500 }, // compressed: 500 bytes
    { blob: 3, pack: 2, offset: 0, len: 42 }, // 10 bytes
  ]);
  const plan = planRestore([{ content: [id(1), id(2), id(1)] }, { content: [id(3), id(1)] }, { content: [] }], idx);
  assert.deepEqual(plan.files, [
    { size: 700, writes: 3, missing: [] },
    { size: 110, writes: 2, missing: [] },
    { size: 0, writes: 0, missing: [] },
  ]);
  // Pack 1 first (first used by file 0), one range for both of its blobs.
  assert.equal(plan.ranges.length, 2);
  assert.deepEqual([plan.ranges[0].pack, plan.ranges[0].offset, plan.ranges[0].length], [pack(1), 0, 214]);
  const b1 = plan.ranges[0].blobs.find((b) => b.id === id(1))!;
  assert.deepEqual(b1.targets, [{ file: 0, offset: 0 }, { file: 0, offset: 600 }, { file: 1, offset: 10 }]);
  assert.deepEqual(plan.ranges[1].blobs[0].targets, [{ file: 1, offset: 0 }]);
});

test('ranges split at large gaps and at the size cap; blobs are sorted by pack offset', () => {
  const idx = locator([
    { blob: 1, pack: 1, offset: 0, len: 100 },
    { blob: 2, pack: 1, offset: 100, len: 100 },
    { blob: 3, pack: 1, offset: 250, len: 100 }, // gap 50: merged
    { blob: 4, pack: 1, offset: 1000, len: 100 }, // gap 650: new range
    { blob: 5, pack: 1, offset: 1100, len: 100 },
    { blob: 6, pack: 1, offset: 1200, len: 100 }, // would make the range 300 > cap 250
  ]);
  const plan = planRestore([{ content: [id(6), id(5), id(4), id(3), id(2), id(1)] }], idx, { limits: { maxGapBytes: 100, maxRangeBytes: 400 } });
  assert.deepEqual(plan.ranges.map((r) => [r.offset, r.length, r.blobs.map((b) => b.loc.offset)]), [
    [0, 350, [0, 100, 250]],
    [1000, 300, [1000, 1100, 1200]],
  ]);
  const capped = planRestore([{ content: [id(4), id(5), id(6)] }], idx, { limits: { maxGapBytes: 100, maxRangeBytes: 250 } });
  assert.deepEqual(capped.ranges.map((r) => [r.offset, r.length]), [[1000, 200], [1200, 100]]);
  // A single blob bigger than the cap still gets its own range.
  const big = planRestore([{ content: [id(1)] }], idx, { limits: { maxGapBytes: 0, maxRangeBytes: 10 } });
  assert.deepEqual(big.ranges.map((r) => [r.offset, r.length]), [[0, 100]]);
});

test('a file with an unknown blob is planned without downloads and names the missing blobs', () => {
  const idx = locator([{ blob: 1, pack: 1, offset: 0, len: 132 }, { blob: 2, pack: 2, offset: 0, len: 10 }]);
  const plan = planRestore([{ content: [id(1), id(9), id(9)] }, { content: [id(1)] }, { content: [id(2)] }], idx);
  assert.deepEqual(plan.files[0], { size: 100, writes: 0, missing: [id(9)] });
  assert.deepEqual(plan.files[1], { size: 100, writes: 1, missing: [] });
  // A stored length below the crypto overhead cannot be a blob: treated as unknown.
  assert.deepEqual(plan.files[2].missing, [id(2)]);
  assert.equal(plan.ranges.length, 1);
  assert.deepEqual(plan.ranges[0].blobs[0].targets, [{ file: 1, offset: 0 }]);
});
