import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CRYPTO_OVERHEAD, decrypt, encrypt, MacError, newMasterKey } from './crypto';

test('encrypt/decrypt round trip for sizes around block boundaries', () => {
  const key = newMasterKey();
  for (const n of [0, 1, 15, 16, 17, 1000, 65536 + 3]) {
    const plain = randomBytes(n);
    const enc = encrypt(key, plain);
    assert.equal(enc.length, n + CRYPTO_OVERHEAD);
    assert.deepEqual(decrypt(key, enc), plain);
  }
});

test('a flipped bit anywhere is detected, and a different key fails', () => {
  const key = newMasterKey();
  const enc = encrypt(key, Buffer.from('restic-compatible data'));
  for (const pos of [0, 16, 20, enc.length - 1]) {
    const bad = Buffer.from(enc);
    bad[pos] ^= 1;
    assert.throws(() => decrypt(key, bad), MacError);
  }
  assert.throws(() => decrypt(newMasterKey(), enc), MacError);
});

test('too-short data and an all-zero IV are rejected', () => {
  const key = newMasterKey();
  assert.throws(() => decrypt(key, Buffer.alloc(31)), /too short/);
  const enc = encrypt(key, Buffer.from('x'));
  enc.fill(0, 0, 16);
  assert.throws(() => decrypt(key, enc), /all-zero IV/);
});

test('two encryptions of the same plaintext differ (fresh IV)', () => {
  const key = newMasterKey();
  const p = Buffer.from('same');
  assert.notDeepEqual(encrypt(key, p), encrypt(key, p));
});
