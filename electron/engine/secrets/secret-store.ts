// Where passwords and cloud keys live: never in the state database's plain columns, never in a
// config file, never in logs. Secrets are named ("repository-password", "destination/<id>/s3-secret")
// and fetched from a chain of stores:
// - environment variables (restic's habits: MAMORI_PASSWORD like RESTIC_PASSWORD, AWS_ACCESS_KEY_ID /
//   AWS_SECRET_ACCESS_KEY), read-only;
// - a password file the user points at (--password-file), read-only;
// - the OS keyring through libsecret's `secret-tool` (Linux desktops), read-write;
// - in the desktop app, the state database's secrets table encrypted by Electron's safeStorage
//   (EncryptedDbSecretStore with a platform cipher), read-write.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import type { Db } from '../state/db';

export interface SecretStore {
  /** What the user knows it as, for messages ("environment", "keyring"). */
  readonly label: string;
  readonly writable: boolean;
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
}

export const SECRET = {
  repositoryPassword: 'repository-password',
  destinationPassword: (id: string) => `destination/${id}/password`,
  s3AccessKeyId: (id: string) => `destination/${id}/s3-access-key-id`,
  s3SecretAccessKey: (id: string) => `destination/${id}/s3-secret-access-key`,
  sftpPassword: (id: string) => `destination/${id}/sftp-password`,
  sftpKeyPassphrase: (id: string) => `destination/${id}/sftp-key-passphrase`,
  restPassword: (id: string) => `destination/${id}/rest-password`,
} as const;

/** The environment variable that answers a secret name, restic-style. */
export function envVarFor(name: string): string | undefined {
  if (name === SECRET.repositoryPassword || name.endsWith('/password')) return 'MAMORI_PASSWORD';
  if (name.endsWith('/s3-access-key-id')) return 'AWS_ACCESS_KEY_ID';
  if (name.endsWith('/s3-secret-access-key')) return 'AWS_SECRET_ACCESS_KEY';
  if (name.endsWith('/sftp-password')) return 'MAMORI_SFTP_PASSWORD';
  if (name.endsWith('/sftp-key-passphrase')) return 'MAMORI_SFTP_KEY_PASSPHRASE';
  if (name.endsWith('/rest-password')) return 'MAMORI_REST_PASSWORD';
  return undefined;
}

function readOnly(label: string): MamoriError {
  return new MamoriError(ErrorCode.InvalidRequest, `secrets cannot be saved in the ${label}`);
}

export class EnvSecretStore implements SecretStore {
  readonly label = 'environment';
  readonly writable = false;
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}
  get(name: string): Promise<string | undefined> {
    const v = envVarFor(name);
    const value = v ? this.env[v] : undefined;
    return Promise.resolve(value === '' ? undefined : value);
  }
  set(): Promise<void> {
    return Promise.reject(readOnly(this.label));
  }
  delete(): Promise<void> {
    return Promise.resolve();
  }
}

/** One password read from a file (the first line), for the names it is given for. */
export class PasswordFileStore implements SecretStore {
  readonly label: string;
  readonly writable = false;
  constructor(private readonly path: string, private readonly names: (name: string) => boolean) {
    this.label = `password file ${path}`;
  }
  async get(name: string): Promise<string | undefined> {
    if (!this.names(name)) return undefined;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      throw new MamoriError(ErrorCode.PathNotFound, `cannot read the password file ${this.path}: ${(e as Error).message}`, { subject: this.path });
    }
    return text.split(/\r?\n/)[0];
  }
  set(): Promise<void> {
    return Promise.reject(readOnly(this.label));
  }
  delete(): Promise<void> {
    return Promise.resolve();
  }
}

/** Encrypts and decrypts with a key the platform holds (Electron safeStorage: Keychain, DPAPI, libsecret). */
export interface PlatformCipher {
  encrypt(plain: string): Buffer;
  decrypt(cipher: Buffer): string;
}

export class EncryptedDbSecretStore implements SecretStore {
  readonly label = 'app secret store';
  readonly writable = true;
  constructor(private readonly db: Db, private readonly cipher: PlatformCipher) {}
  // async, so that a cipher or database failure rejects the promise instead of throwing past a .catch().
  async get(name: string): Promise<string | undefined> {
    const r = this.db.prepare('SELECT ciphertext FROM secrets WHERE name = ?').get(name) as { ciphertext: Buffer } | undefined;
    return r ? this.cipher.decrypt(r.ciphertext) : undefined;
  }
  async set(name: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO secrets (name, ciphertext) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext')
      .run(name, this.cipher.encrypt(value));
  }
  async delete(name: string): Promise<void> {
    this.db.prepare('DELETE FROM secrets WHERE name = ?').run(name);
  }
}

function runSecretTool(args: string[], input?: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn('secret-tool', args, { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      resolve({ code: -1, stdout: '' });
      return;
    }
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.on('error', () => resolve({ code: -1, stdout: '' }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
    child.stdin.end(input ?? '');
  });
}

/** The desktop keyring (GNOME Keyring, KWallet) through libsecret's secret-tool. */
export class KeyringSecretStore implements SecretStore {
  readonly label = 'keyring';
  readonly writable = true;
  static async available(): Promise<boolean> {
    if (process.platform !== 'linux') return false;
    const r = await runSecretTool(['search', 'service', 'mamori-probe']);
    return r.code === 0 || r.code === 1;
  }
  async get(name: string): Promise<string | undefined> {
    const r = await runSecretTool(['lookup', 'service', 'mamori', 'name', name]);
    return r.code === 0 ? r.stdout : undefined;
  }
  async set(name: string, value: string): Promise<void> {
    const r = await runSecretTool(['store', '--label', `Mamori: ${name}`, 'service', 'mamori', 'name', name], value);
    if (r.code !== 0) throw new MamoriError(ErrorCode.Internal, `the keyring refused to store ${name}`, { hint: 'Unlock your keyring, or give the secret through an environment variable.' });
  }
  async delete(name: string): Promise<void> {
    await runSecretTool(['clear', 'service', 'mamori', 'name', name]);
  }
}

/** Looks in each store in turn; saves in the first writable one. */
export class SecretChain implements SecretStore {
  readonly label: string;
  readonly writable: boolean;
  constructor(private readonly stores: SecretStore[]) {
    this.label = stores.map((s) => s.label).join(', ');
    this.writable = stores.some((s) => s.writable);
  }
  async get(name: string): Promise<string | undefined> {
    for (const s of this.stores) {
      const v = await s.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  async set(name: string, value: string): Promise<void> {
    const s = this.stores.find((x) => x.writable);
    if (!s) {
      throw new MamoriError(ErrorCode.InvalidRequest, `no secret store can keep ${name} on this computer (no keyring found)`, {
        hint: `Give it through the environment (${envVarFor(name) ?? 'see the README'}) each time, or use a password file.`,
      });
    }
    await s.set(name, value);
  }
  async delete(name: string): Promise<void> {
    for (const s of this.stores) if (s.writable) await s.delete(name);
  }
}
