import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { encrypt, newMasterKey } from './crypto';
import { decodeHeader, encodeHeader, expectedPackSize, PackBuilder, parsePackTail, type PackEntry } from './pack';

const id = (s: string) => createHash('sha256').update(s).digest('hex');

test('header entries round trip, with implicit contiguous offsets', () => {
  const entries: PackEntry[] = [
    { type: 'data', id: id('a'), offset: 0, length: 100, uncompressedLength: 0 },
    { type: 'tree', id: id('b'), offset: 100, length: 50, uncompressedLength: 0 },
    { type: 'data', id: id('c'), offset: 150, length: 40, uncompressedLength: 4000 },
    { type: 'tree', id: id('d'), offset: 190, length: 60, uncompressedLength: 300 },
  ];
  const h = encodeHeader(entries);
  assert.equal(h.length, 37 + 37 + 41 + 41);
  assert.equal(h[0], 0);
  assert.equal(h[37], 1);
  assert.equal(h[74], 2);
  assert.equal(h[115], 3);
  assert.deepEqual(decodeHeader(h), entries);
});

test('a built pack parses back from its tail and has exactly the size check expects', () => {
  const key = newMasterKey();
  const b = new PackBuilder();
  const blobs = [randomBytes(1000), randomBytes(5), randomBytes(70000)];
  for (const [i, p] of blobs.entries()) b.add('data', id(String(i)), encrypt(key, p), i === 1 ? 12345 : 0);
  const { id: packId, bytes, entries } = b.finish(key);
  assert.equal(packId, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(bytes.length, expectedPackSize(entries));
  const parsed = parsePackTail(key, bytes, bytes.length);
  assert.deepEqual(parsed, entries);
  // From a short tail, the parser asks for exactly the header it needs.
  const short = parsePackTail(key, bytes.subarray(bytes.length - 8), bytes.length);
  assert.ok('need' in short);
  assert.equal(short.need, bytes.length - (1000 + 5 + 70000 + 3 * 32));
});

test('damaged headers are rejected with a reason', () => {
  const key = newMasterKey();
  assert.throws(() => decodeHeader(Buffer.from([7, 0, 0])), /unknown blob type 7/);
  assert.throws(() => decodeHeader(Buffer.from([0, 1, 2])), /truncated/);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(1 << 30, 4);
  assert.throws(() => parsePackTail(key, tail, 1000), /header length/);
  const b = new PackBuilder();
  b.add('data', id('x'), encrypt(key, Buffer.from('hi')), 0);
  const { bytes } = b.finish(key);
  bytes[bytes.length - 10] ^= 0xff;
  assert.throws(() => parsePackTail(key, bytes, bytes.length), /verification failed/);
});
