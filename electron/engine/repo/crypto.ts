// restic's authenticated encryption: AES-256-CTR for secrecy, Poly1305-AES for integrity.
// Every encrypted object is IV(16) || ciphertext || MAC(16). The MAC covers the ciphertext only and is
// keyed with r (masked) and AES-128_k(IV), as in Bernstein's Poly1305-AES. Poly1305 comes from
// libsodium (sodium-native): pure-JS Poly1305 would cap the whole backup pipeline.
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import sodium from 'sodium-native';

export const IV_SIZE = 16;
export const MAC_SIZE = 16;
/** Bytes an encrypted object has beyond its plaintext. */
export const CRYPTO_OVERHEAD = IV_SIZE + MAC_SIZE;

export interface MasterKey {
  /** AES-256 key for the CTR cipher. */
  encrypt: Buffer;
  /** Poly1305-AES: AES-128 key that encrypts the IV into the MAC's s. */
  macK: Buffer;
  /** Poly1305-AES: the polynomial key r (masked before use). */
  macR: Buffer;
}

export class MacError extends Error {
  constructor(message = 'ciphertext verification failed (wrong key or damaged data)') {
    super(message);
    this.name = 'MacError';
  }
}

export function newMasterKey(): MasterKey {
  return { encrypt: randomBytes(32), macK: randomBytes(16), macR: randomBytes(16) };
}

/** Clears the bits Poly1305 requires to be zero in r (restic masks r the same way when it loads a key). */
function maskR(r: Buffer): Buffer {
  const m = Buffer.from(r);
  m[3] &= 0x0f; m[7] &= 0x0f; m[11] &= 0x0f; m[15] &= 0x0f;
  m[4] &= 0xfc; m[8] &= 0xfc; m[12] &= 0xfc;
  return m;
}

function polyKey(key: MasterKey, iv: Uint8Array): Buffer {
  const ecb = createCipheriv('aes-128-ecb', key.macK, null);
  ecb.setAutoPadding(false);
  const s = Buffer.concat([ecb.update(iv), ecb.final()]);
  return Buffer.concat([maskR(key.macR), s]);
}

export function computeMac(key: MasterKey, iv: Uint8Array, ciphertext: Uint8Array): Buffer {
  const out = Buffer.alloc(MAC_SIZE);
  sodium.crypto_onetimeauth(out, ciphertext, polyKey(key, iv));
  return out;
}

/** Encrypts plaintext into IV || CT || MAC with a fresh random IV. */
export function encrypt(key: MasterKey, plaintext: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + CRYPTO_OVERHEAD);
  let iv = randomBytes(IV_SIZE);
  // An all-zero IV is rejected by restic's decrypt; the chance is 2^-128 but the check is free.
  while (iv.every((b) => b === 0)) iv = randomBytes(IV_SIZE);
  iv.copy(out, 0);
  const c = createCipheriv('aes-256-ctr', key.encrypt, iv);
  const n = c.update(plaintext).copy(out, IV_SIZE);
  c.final();
  const ct = out.subarray(IV_SIZE, IV_SIZE + n);
  computeMac(key, iv, ct).copy(out, IV_SIZE + n);
  return out;
}

/** Verifies the MAC, then decrypts. Throws MacError when the data is damaged or the key is wrong. */
export function decrypt(key: MasterKey, data: Uint8Array): Buffer {
  if (data.length < CRYPTO_OVERHEAD) throw new MacError(`encrypted data too short (${data.length} bytes)`);
  const iv = data.subarray(0, IV_SIZE);
  if (iv.every((b) => b === 0)) throw new MacError('invalid all-zero IV');
  const ct = data.subarray(IV_SIZE, data.length - MAC_SIZE);
  const mac = data.subarray(data.length - MAC_SIZE);
  const expected = computeMac(key, iv, ct);
  if (!timingSafeEqual(expected, mac)) throw new MacError();
  const d = createDecipheriv('aes-256-ctr', key.encrypt, iv);
  return Buffer.concat([d.update(ct), d.final()]);
}
