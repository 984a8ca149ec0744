// restic key files: keys/<id> holds plain JSON with scrypt parameters, a salt and the master key
// encrypted with a key derived from the password. A password change adds a new key file for the same
// master key and removes the old one; the data is never re-encrypted.
// The file's ID is the SHA-256 of its exact bytes.
import { createHash, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { decrypt, encrypt, MacError, type MasterKey } from './crypto';

export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

/** What restic 0.14 chose on this kind of machine; slow enough to make guessing costly. */
export const DEFAULT_KDF: KdfParams = { N: 32768, r: 8, p: 6 };

export interface KeyFile {
  created: string;
  username: string;
  hostname: string;
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: string;
  data: string;
}

function scrypt(password: string, salt: Buffer, params: KdfParams): Promise<Buffer> {
  // Node caps scrypt memory at 32 MiB by default; restic's parameters need 128*N*r bytes.
  const maxmem = 256 * params.N * params.r + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, 64, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

function userKeyFrom(derived: Buffer): MasterKey {
  return { encrypt: derived.subarray(0, 32), macK: derived.subarray(32, 48), macR: derived.subarray(48, 64) };
}

/** Builds a new key file for `master`, protected by `password`. Returns its bytes and ID. */
export async function createKeyFile(
  password: string,
  master: MasterKey,
  meta: { created: string; username: string; hostname: string },
  params: KdfParams = DEFAULT_KDF,
): Promise<{ id: string; bytes: Buffer }> {
  const salt = randomBytes(64);
  const userKey = userKeyFrom(await scrypt(password, salt, params));
  const inner = JSON.stringify({
    mac: { k: master.macK.toString('base64'), r: master.macR.toString('base64') },
    encrypt: master.encrypt.toString('base64'),
  });
  const data = encrypt(userKey, Buffer.from(inner));
  // Field order as Go's json.Marshal writes restic's Key struct.
  const file: KeyFile = {
    created: meta.created,
    username: meta.username,
    hostname: meta.hostname,
    kdf: 'scrypt',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: salt.toString('base64'),
    data: data.toString('base64'),
  };
  const bytes = Buffer.from(JSON.stringify(file));
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes };
}

export function parseKeyFile(bytes: Buffer): KeyFile {
  let j: unknown;
  try {
    j = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error('key file is not valid JSON');
  }
  const k = j as Partial<KeyFile>;
  if (!k || typeof k !== 'object' || typeof k.salt !== 'string' || typeof k.data !== 'string') {
    throw new Error('key file lacks salt or data');
  }
  if (k.kdf !== 'scrypt') throw new Error(`key file uses unsupported KDF ${JSON.stringify(k.kdf)}`);
  for (const f of ['N', 'r', 'p'] as const) {
    if (!Number.isInteger(k[f]) || (k[f] as number) <= 0) throw new Error(`key file has invalid scrypt parameter ${f}`);
  }
  // Refuse absurd parameters rather than exhaust memory on a hostile key file.
  if ((k.N as number) > 1 << 22 || (k.r as number) > 64 || (k.p as number) > 64) {
    throw new Error('key file scrypt parameters are too large');
  }
  return k as KeyFile;
}

/**
 * Decrypts the master key with a password. Returns null when the password does not fit this key
 * (restic tries every key file in turn); throws for a key file that is damaged in other ways.
 */
export async function openKeyFile(password: string, file: KeyFile): Promise<MasterKey | null> {
  const salt = Buffer.from(file.salt, 'base64');
  const userKey = userKeyFrom(await scrypt(password, salt, file));
  let plain: Buffer;
  try {
    plain = decrypt(userKey, Buffer.from(file.data, 'base64'));
  } catch (e) {
    if (e instanceof MacError) return null;
    throw e;
  }
  const j = JSON.parse(plain.toString('utf8')) as { mac?: { k?: string; r?: string }; encrypt?: string };
  const key: MasterKey = {
    encrypt: Buffer.from(j.encrypt ?? '', 'base64'),
    macK: Buffer.from(j.mac?.k ?? '', 'base64'),
    macR: Buffer.from(j.mac?.r ?? '', 'base64'),
  };
  if (key.encrypt.length !== 32 || key.macK.length !== 16 || key.macR.length !== 16) {
    throw new Error('key file holds a master key of the wrong size');
  }
  return key;
}
