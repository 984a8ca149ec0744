// From a destination's record (or a location typed by the user) to a live Backend: the location is
// parsed in restic's syntax, secrets come from the secret store by name, an SFTP host key is pinned
// on first use, and every remote backend is wrapped in retries with back-off for transient errors.

import { readFile } from 'node:fs/promises';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import type { DestinationOptions, DestinationRecord } from '../../../shared/domain/state';
import { SECRET, type SecretStore } from '../secrets/secret-store';
import type { Backend } from '../storage/backend';
import { LocalBackend } from '../storage/local';
import { parseLocation, type Location } from '../storage/location';
import { RcloneBackend } from '../storage/rclone';
import { RestBackend } from '../storage/rest';
import { RetryBackend } from '../storage/retry';
import { S3Backend } from '../storage/s3';
import { SftpBackend } from '../storage/sftp';

export interface ConnectOptions {
  secrets: SecretStore;
  /** The destination's ID for secret names; absent while a destination is being added. */
  id?: string;
  options?: DestinationOptions;
  /** SFTP: the pinned host key; without one, onFirstUse decides. */
  hostKey?: string;
  onNewHostKey?: (fingerprint: string, host: string) => boolean | Promise<boolean>;
  /** Retry policy for transient errors (tests shorten it). */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  signal?: AbortSignal;
}

async function secret(o: ConnectOptions, name: (id: string) => string, fallbackEnvName: string): Promise<string | undefined> {
  // Before a destination has an ID, the environment-style name still resolves through the chain.
  return o.secrets.get(o.id ? name(o.id) : `destination/new/${fallbackEnvName}`);
}

function need(value: string | undefined, what: string, envVar: string, location: string): string {
  if (value !== undefined) return value;
  throw new MamoriError(ErrorCode.InvalidRequest, `${what} for ${location} is not available`, {
    subject: location,
    hint: `Set ${envVar} (or store it in the keyring when adding the destination).`,
  });
}

/** The backend for a location, connected lazily. */
export async function connectLocation(loc: Location, o: ConnectOptions): Promise<{ backend: Backend; hostKey?: () => string | undefined }> {
  const retry = (b: Backend): Backend => new RetryBackend(b, { ...(o.retry ?? {}), ...(o.signal ? { signal: o.signal } : {}) });
  switch (loc.kind) {
    case 'local':
      return { backend: new LocalBackend(loc.path) };
    case 's3': {
      const accessKeyId = need(await secret(o, SECRET.s3AccessKeyId, 's3-access-key-id'), 'the S3 access key ID', 'AWS_ACCESS_KEY_ID', loc.display);
      const secretAccessKey = need(await secret(o, SECRET.s3SecretAccessKey, 's3-secret-access-key'), 'the S3 secret access key', 'AWS_SECRET_ACCESS_KEY', loc.display);
      return {
        backend: retry(new S3Backend({
          endpoint: loc.endpoint,
          bucket: loc.bucket,
          prefix: loc.prefix,
          accessKeyId,
          secretAccessKey,
          ...(o.options?.region ? { region: o.options.region } : {}),
          ...(o.options?.pathStyle !== undefined ? { forcePathStyle: o.options.pathStyle } : {}),
        })),
      };
    }
    case 'rest': {
      const password = loc.password ?? (loc.username ? await secret(o, SECRET.restPassword, 'rest-password') : undefined);
      return { backend: retry(new RestBackend({ url: loc.url, ...(loc.username ? { username: loc.username } : {}), ...(password ? { password } : {}) })) };
    }
    case 'rclone':
      return { backend: retry(new RcloneBackend({ remote: loc.remote })) };
    case 'sftp': {
      const keyFile = o.options?.keyFile;
      const privateKey = keyFile ? await readFile(keyFile).catch((e: unknown) => {
        throw new MamoriError(ErrorCode.PathNotFound, `cannot read the SSH key ${keyFile}: ${(e as Error).message}`, { subject: keyFile });
      }) : undefined;
      const password = privateKey ? undefined : await secret(o, SECRET.sftpPassword, 'sftp-password');
      const passphrase = privateKey ? await secret(o, SECRET.sftpKeyPassphrase, 'sftp-key-passphrase') : undefined;
      if (!privateKey && password === undefined) {
        throw new MamoriError(ErrorCode.InvalidRequest, `no way to log in to ${loc.display}`, {
          subject: loc.display,
          hint: 'Give a key with --key-file, or set MAMORI_SFTP_PASSWORD.',
        });
      }
      const username = loc.user ?? o.options?.user;
      if (!username) throw new MamoriError(ErrorCode.InvalidRequest, `no user name for ${loc.display}`, { subject: loc.display, hint: 'Write it as sftp:user@host:/path.' });
      const sftp = new SftpBackend({
        host: loc.host,
        port: loc.port,
        username,
        path: loc.path,
        ...(privateKey ? { privateKey } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(passphrase !== undefined ? { passphrase } : {}),
        hostKey: o.hostKey
          ? { pinned: o.hostKey }
          : { onFirstUse: (fp: string) => (o.onNewHostKey ? o.onNewHostKey(fp, loc.host) : false) },
      });
      return { backend: retry(sftp), hostKey: () => sftp.hostKeyFingerprint };
    }
  }
}

/** The backend of a stored destination. */
export async function connectDestination(rec: DestinationRecord, o: Omit<ConnectOptions, 'id' | 'options' | 'hostKey'>): Promise<Backend> {
  const loc = parseLocation(rec.location);
  const { backend } = await connectLocation(loc, { ...o, id: rec.id, options: rec.options, ...(rec.hostKey ? { hostKey: rec.hostKey } : {}) });
  return backend;
}

/** The repository password of a destination: its own if it has one, else Mamori's. */
export async function repositoryPassword(rec: Pick<DestinationRecord, 'id' | 'options' | 'location'>, secrets: SecretStore): Promise<string> {
  if (rec.options.passwordFile) {
    try {
      return (await readFile(rec.options.passwordFile, 'utf8')).split(/\r?\n/)[0];
    } catch (e) {
      throw new MamoriError(ErrorCode.PathNotFound, `cannot read the password file ${rec.options.passwordFile}: ${(e as Error).message}`, { subject: rec.options.passwordFile });
    }
  }
  const pw = (await secrets.get(SECRET.destinationPassword(rec.id))) ?? (await secrets.get(SECRET.repositoryPassword));
  if (pw === undefined) {
    throw new MamoriError(ErrorCode.WrongPassword, `no password for ${rec.location}`, {
      subject: rec.location,
      hint: 'Set MAMORI_PASSWORD, or give --password-file when adding the destination.',
    });
  }
  return pw;
}
