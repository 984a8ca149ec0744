import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import type { Db } from '../state/db';
import { openStateDb } from '../state/db';
import type { PlatformCipher, SecretStore } from './secret-store';
import {
  EncryptedDbSecretStore,
  EnvSecretStore,
  KeyringSecretStore,
  PasswordFileStore,
  SECRET,
  SecretChain,
  envVarFor,
} from './secret-store';

/** AES-256-GCM under a fixed key: stands in for Electron's safeStorage (a key the platform holds). */
function aesCipher(key = Buffer.alloc(32, 0x5a)): PlatformCipher {
  return {
    encrypt(plain: string): Buffer {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decrypt(blob: Buffer): string {
      const d = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12));
      d.setAuthTag(blob.subarray(12, 28));
      return Buffer.concat([d.update(blob.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

async function rejectsInvalid(p: Promise<unknown>, mentions: RegExp): Promise<MamoriError> {
  let caught: unknown;
  await p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => (caught = e),
  );
  assert.ok(caught instanceof MamoriError, `expected MamoriError, got ${String(caught)}`);
  assert.match(`${caught.message} ${caught.hint ?? ''}`, mentions);
  return caught;
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamori-secrets-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('envVarFor and EnvSecretStore', () => {
  const env = {
    MAMORI_PASSWORD: 'repo-pw',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'aws-secret',
    MAMORI_SFTP_PASSWORD: 'sftp-pw',
    MAMORI_SFTP_KEY_PASSPHRASE: 'key-pp',
    MAMORI_REST_PASSWORD: 'rest-pw',
  };
  const cases: [string, string | undefined][] = [
    [SECRET.repositoryPassword, 'MAMORI_PASSWORD'],
    [SECRET.destinationPassword('d1'), 'MAMORI_PASSWORD'],
    [SECRET.s3AccessKeyId('d1'), 'AWS_ACCESS_KEY_ID'],
    [SECRET.s3SecretAccessKey('d1'), 'AWS_SECRET_ACCESS_KEY'],
    [SECRET.sftpPassword('d1'), 'MAMORI_SFTP_PASSWORD'],
    [SECRET.sftpKeyPassphrase('d1'), 'MAMORI_SFTP_KEY_PASSPHRASE'],
    [SECRET.restPassword('d1'), 'MAMORI_REST_PASSWORD'],
    ['something-else', undefined],
  ];
  for (const [name, v] of cases) {
    test(`${name} -> ${v ?? '(none)'}`, async () => {
      assert.equal(envVarFor(name), v);
      const store: SecretStore = new EnvSecretStore(env);
      assert.equal(await store.get(name), v ? env[v as keyof typeof env] : undefined);
    });
  }
  test('names are the documented ones', () => {
    assert.equal(SECRET.repositoryPassword, 'repository-password');
    assert.equal(SECRET.destinationPassword('abc'), 'destination/abc/password');
    assert.equal(SECRET.s3SecretAccessKey('abc'), 'destination/abc/s3-secret-access-key');
  });
  test('an unset or empty variable answers undefined', async () => {
    assert.equal(await new EnvSecretStore({}).get(SECRET.repositoryPassword), undefined);
    assert.equal(await new EnvSecretStore({ MAMORI_PASSWORD: '' }).get(SECRET.repositoryPassword), undefined);
  });
  test('read-only: set rejects with InvalidRequest naming the environment; delete is a no-op', async () => {
    const store: SecretStore = new EnvSecretStore(env);
    assert.equal(store.writable, false);
    const e = await rejectsInvalid(store.set(SECRET.repositoryPassword, 'x'), /environment/);
    assert.equal(e.code, ErrorCode.InvalidRequest);
    await store.delete(SECRET.repositoryPassword);
    assert.equal(await store.get(SECRET.repositoryPassword), 'repo-pw');
  });
  test('reads process.env by default', async () => {
    const saved = process.env.MAMORI_REST_PASSWORD;
    process.env.MAMORI_REST_PASSWORD = 'from-process-env';
    try {
      assert.equal(await new EnvSecretStore().get(SECRET.restPassword('x')), 'from-process-env');
    } finally {
      if (saved === undefined) delete process.env.MAMORI_REST_PASSWORD;
      else process.env.MAMORI_REST_PASSWORD = saved;
    }
  });
});

describe('PasswordFileStore', () => {
  const forPasswords = (n: string) => n === SECRET.repositoryPassword || n.endsWith('/password');
  test('the first line only, for the names it serves', async () => {
    const file = join(dir, 'pw.txt');
    writeFileSync(file, 'correct horse battery staple\nsecond line\n');
    const store = new PasswordFileStore(file, forPasswords);
    assert.equal(await store.get(SECRET.repositoryPassword), 'correct horse battery staple');
    assert.equal(await store.get(SECRET.destinationPassword('d')), 'correct horse battery staple');
    assert.equal(await store.get(SECRET.s3SecretAccessKey('d')), undefined);
    assert.match(store.label, /pw\.txt/);
  });
  test('CRLF line ends and a file without a final newline', async () => {
    const crlf = join(dir, 'crlf.txt');
    writeFileSync(crlf, 'windows-pw\r\nmore\r\n');
    assert.equal(await new PasswordFileStore(crlf, forPasswords).get(SECRET.repositoryPassword), 'windows-pw');
    const bare = join(dir, 'bare.txt');
    writeFileSync(bare, ' spaces kept ');
    assert.equal(await new PasswordFileStore(bare, forPasswords).get(SECRET.repositoryPassword), ' spaces kept ');
  });
  test('a missing file is an error naming the file, but only when asked for a name it serves', async () => {
    const missing = join(dir, 'no-such-file.txt');
    const store = new PasswordFileStore(missing, forPasswords);
    assert.equal(await store.get(SECRET.sftpPassword('d')), undefined);
    let caught: unknown;
    await store.get(SECRET.repositoryPassword).catch((e: unknown) => (caught = e));
    assert.ok(caught instanceof MamoriError);
    assert.equal(caught.code, ErrorCode.PathNotFound);
    assert.ok(caught.message.includes(missing), caught.message);
    assert.equal(caught.subject, missing);
  });
  test('read-only', async () => {
    const store: SecretStore = new PasswordFileStore(join(dir, 'pw.txt'), forPasswords);
    assert.equal(store.writable, false);
    await rejectsInvalid(store.set(SECRET.repositoryPassword, 'x'), /password file/);
  });
});

describe('EncryptedDbSecretStore', () => {
  let home: string;
  let db: Db;
  beforeEach(() => {
    home = mkdtempSync(join(dir, 'db-'));
    db = openStateDb(home).db;
  });
  afterEach(() => db.close());

  test('set, get, overwrite, delete', async () => {
    const store = new EncryptedDbSecretStore(db, aesCipher());
    assert.equal(store.writable, true);
    assert.equal(await store.get('repository-password'), undefined);
    await store.set('repository-password', 'first');
    assert.equal(await store.get('repository-password'), 'first');
    await store.set('repository-password', 'second ✓ ünïcödé');
    assert.equal(await store.get('repository-password'), 'second ✓ ünïcödé');
    await store.set(SECRET.s3SecretAccessKey('d1'), 'aws');
    await store.delete('repository-password');
    assert.equal(await store.get('repository-password'), undefined);
    assert.equal(await store.get(SECRET.s3SecretAccessKey('d1')), 'aws');
    await store.delete('never-set');
  });

  test('the secrets table and the database files never hold the plain text', async () => {
    const plain = 'Plain-Text-Password-4711';
    await new EncryptedDbSecretStore(db, aesCipher()).set('repository-password', plain);
    const rows = db.prepare('SELECT name, ciphertext FROM secrets').all() as { name: string; ciphertext: Buffer }[];
    assert.equal(rows.length, 1);
    assert.ok(Buffer.isBuffer(rows[0].ciphertext));
    assert.ok(!rows[0].ciphertext.includes(plain));
    assert.ok(!rows[0].ciphertext.toString('latin1').includes(plain));
    const hit = db.prepare("SELECT count(*) AS n FROM secrets WHERE instr(CAST(ciphertext AS TEXT), ?) > 0 OR instr(ciphertext, CAST(? AS BLOB)) > 0").get(plain, plain) as { n: number };
    assert.equal(hit.n, 0);
    for (const f of ['state.db', 'state.db-wal']) {
      const p = join(home, f);
      if (existsSync(p)) assert.ok(!readFileSync(p).includes(plain), `${f} holds the plain text`);
    }
  });

  test('the platform key is what opens them: another key fails, no plaintext fallback', async () => {
    await new EncryptedDbSecretStore(db, aesCipher()).set('k', 'v');
    await assert.rejects(new EncryptedDbSecretStore(db, aesCipher(Buffer.alloc(32, 1))).get('k'));
  });

  test('a cipher failure rejects the promise (a .catch() sees it) and stores nothing', async () => {
    const broken: PlatformCipher = {
      encrypt: () => {
        throw new Error('encryption is not available');
      },
      decrypt: () => {
        throw new Error('cannot decrypt');
      },
    };
    const store = new EncryptedDbSecretStore(db, broken);
    assert.equal(await store.set('k', 'v').catch(() => 'caught'), 'caught');
    assert.deepEqual(db.prepare('SELECT * FROM secrets').all(), []);
    await new EncryptedDbSecretStore(db, aesCipher()).set('k', 'v');
    assert.equal(await store.get('k').catch(() => 'caught'), 'caught');
  });
});

describe('SecretChain', () => {
  let home: string;
  let db: Db;
  let db2: Db;
  beforeEach(() => {
    home = mkdtempSync(join(dir, 'chain-'));
    db = openStateDb(join(home, 'a')).db;
    db2 = openStateDb(join(home, 'b')).db;
  });
  afterEach(() => {
    db.close();
    db2.close();
  });

  test('asks each store in order; the first answer wins', async () => {
    const pwFile = join(home, 'pw');
    writeFileSync(pwFile, 'from-file\n');
    const appStore = new EncryptedDbSecretStore(db, aesCipher());
    await appStore.set(SECRET.repositoryPassword, 'from-app');
    await appStore.set(SECRET.sftpPassword('d'), 'sftp-from-app');
    const file = new PasswordFileStore(pwFile, (n) => n === SECRET.repositoryPassword);

    const envFirst = new SecretChain([new EnvSecretStore({ MAMORI_PASSWORD: 'from-env' }), file, appStore]);
    assert.equal(await envFirst.get(SECRET.repositoryPassword), 'from-env');
    assert.equal(await envFirst.get(SECRET.sftpPassword('d')), 'sftp-from-app');
    assert.equal(await envFirst.get('unknown'), undefined);

    const noEnv = new SecretChain([new EnvSecretStore({}), file, appStore]);
    assert.equal(await noEnv.get(SECRET.repositoryPassword), 'from-file');

    const appFirst = new SecretChain([appStore, new EnvSecretStore({ MAMORI_PASSWORD: 'from-env' })]);
    assert.equal(await appFirst.get(SECRET.repositoryPassword), 'from-app');
    assert.equal(appFirst.label, 'app secret store, environment');
  });

  test('set goes to the first writable store only; delete clears every writable store', async () => {
    const first = new EncryptedDbSecretStore(db, aesCipher());
    const second = new EncryptedDbSecretStore(db2, aesCipher());
    const chain = new SecretChain([new EnvSecretStore({}), first, second]);
    assert.equal(chain.writable, true);
    await chain.set(SECRET.restPassword('d'), 'rest-pw');
    assert.equal(await first.get(SECRET.restPassword('d')), 'rest-pw');
    assert.equal(await second.get(SECRET.restPassword('d')), undefined);
    assert.equal(await chain.get(SECRET.restPassword('d')), 'rest-pw');

    await second.set(SECRET.restPassword('d'), 'stale');
    await chain.delete(SECRET.restPassword('d'));
    assert.equal(await first.get(SECRET.restPassword('d')), undefined);
    assert.equal(await second.get(SECRET.restPassword('d')), undefined);
    assert.equal(await chain.get(SECRET.restPassword('d')), undefined);
  });

  test('with no writable store, set names the environment variable to use', async () => {
    const chain = new SecretChain([new EnvSecretStore({}), new PasswordFileStore(join(home, 'pw'), () => true)]);
    assert.equal(chain.writable, false);
    const e1 = await rejectsInvalid(chain.set(SECRET.repositoryPassword, 'x'), /MAMORI_PASSWORD/);
    assert.equal(e1.code, ErrorCode.InvalidRequest);
    await rejectsInvalid(chain.set(SECRET.s3SecretAccessKey('d'), 'x'), /AWS_SECRET_ACCESS_KEY/);
    await rejectsInvalid(chain.set(SECRET.sftpKeyPassphrase('d'), 'x'), /MAMORI_SFTP_KEY_PASSPHRASE/);
    await rejectsInvalid(new SecretChain([]).set('custom', 'x'), /no secret store/);
  });

  test('a value set through the chain never appears in the rejection of a read-only chain', async () => {
    const secret = 'do-not-print-me';
    const e = await rejectsInvalid(new SecretChain([new EnvSecretStore({})]).set(SECRET.repositoryPassword, secret), /MAMORI_PASSWORD/);
    assert.ok(!`${e.message} ${e.hint ?? ''} ${e.subject ?? ''}`.includes(secret));
  });
});

describe('KeyringSecretStore', () => {
  test('available() answers a boolean (false when secret-tool is missing or not on Linux)', async () => {
    const a = await KeyringSecretStore.available();
    assert.equal(typeof a, 'boolean');
    if (process.platform !== 'linux') assert.equal(a, false);
  });
});
