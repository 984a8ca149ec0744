// SftpBackend: a restic repository on an SSH server, spoken to over SFTP (protocol v3, as OpenSSH
// and every common server implement it) with the pure-JS ssh2 client.
//
// Layout and modes match restic 0.14's sftp backend, so `restic -r sftp:user@host:/path` reads what
// we write and we read what it writes: config, keys/, snapshots/, index/, locks/, data/<2 hex>/<id>;
// create() makes all 256 data/XX folders; files are 0600 (restic's sftp backend leaves them 0600, not
// 0400 like its local backend). Folders are 0700 where restic's are 0777 minus the server's umask:
// the names are not secret, but nobody else needs to list them either.
//
// Saving never overwrites: data goes to `<name>-tmp-<random>` in the final folder, then a plain SFTP
// RENAME moves it into place. SFTP v3 (draft-ietf-secsh-filexfer-02, 6.5) says RENAME fails when the
// target exists, and OpenSSH implements it as link()+unlink(), so the check is atomic on the server;
// a failed rename is then told apart from a taken name with a stat. The posix-rename@openssh.com
// extension (which does replace) is used only for app/ files, which are meant to be replaced; where
// it is not offered, they are removed and then renamed.
// Durability: fsync@openssh.com is called before close when the server offers it; SFTP has no way to
// fsync a folder, so the rename itself is as durable as the server's file system makes it.
//
// Throughput: SFTP answers each WRITE/READ separately, so one request at a time is bound by latency.
// Large packs are cut into chunks of IO_CHUNK bytes with IO_CONCURRENCY requests in flight (what
// OpenSSH's sftp client and restic do too); ssh2 splits a chunk further if the server's limit is lower.
//
// Connections: one SSH connection with one SFTP channel, opened lazily and shared by all operations
// (SFTP multiplexes requests by id). A dropped connection fails the requests in flight with
// 'transient'; the next operation connects again. Read-only operations that fail because a connection
// that was already open turned out dead (server restarted while idle) are retried once on a new one.
// Keepalives notice a silently vanished peer, which would otherwise leave requests waiting forever.
//
// Host keys: the fingerprint is OpenSSH's `SHA256:<base64, unpadded>` of the raw key blob. A pinned
// fingerprint must match exactly; otherwise onFirstUse decides, and the accepted fingerprint is
// exposed as `hostKeyFingerprint` for the caller to pin. Nothing is sent before the key is accepted:
// authentication happens after the key exchange.

import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { Client } from 'ssh2';
import type { ConnectConfig, SFTPWrapper, Stats } from 'ssh2';
import { BackendError, checkAppFileName } from './backend';
import type { Backend, FileInfo, FileType, Handle } from './backend';

/** How the server's identity is checked. */
export interface HostKeyPolicy {
  /** The expected fingerprint (`SHA256:...`, as `ssh-keygen -lf` prints it). Any other key is refused. */
  pinned?: string;
  /**
   * Asked when nothing is pinned, with the presented fingerprint: true accepts (then store
   * `backend.hostKeyFingerprint` as the pin), false refuses. The connect timeout pauses while it runs.
   */
  onFirstUse?: (fingerprint: string) => boolean | Promise<boolean>;
}

export interface SftpBackendOptions {
  host: string;
  /** Default 22. */
  port?: number;
  username: string;
  /** Repository folder: absolute, or relative to the login folder (restic's sftp:user@host:relative). */
  path: string;
  password?: string;
  /** A private key in OpenSSH or PEM format. */
  privateKey?: Buffer | string;
  passphrase?: string;
  hostKey: HostKeyPolicy;
  /** Time allowed for TCP connect, key exchange and login (default 20 s; paused during onFirstUse). */
  connectTimeoutMs?: number;
}

/** The sftp variant of storage/location.ts's Location (kept structural to avoid a dependency cycle). */
export interface SftpLocationParts {
  user?: string;
  host: string;
  port: number;
  path: string;
}

/** Builds backend options from a parsed `sftp:` location plus credentials (kept out of the location). */
export function sftpOptionsFromLocation(
  loc: SftpLocationParts,
  creds: { username?: string; password?: string; privateKey?: Buffer | string; passphrase?: string; hostKey: HostKeyPolicy; connectTimeoutMs?: number },
): SftpBackendOptions {
  const username = loc.user ?? creds.username;
  if (!username) {
    throw new BackendError('other', `no user name for sftp:${loc.host}:${loc.path}: write it as sftp:user@${loc.host}:${loc.path}`);
  }
  return { host: loc.host, port: loc.port, path: loc.path, ...creds, username };
}

/** OpenSSH's SHA256 fingerprint of a raw public key blob: `SHA256:` + unpadded base64. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Accepts a pin with or without the `SHA256:` prefix and base64 padding, as people paste them. */
function normalizeFingerprint(fp: string): string {
  const bare = fp.trim().replace(/^SHA256:/i, '').replace(/=+$/, '');
  return `SHA256:${bare}`;
}

// SFTP v3 status codes (draft-ietf-secsh-filexfer-02, 7).
const FX_NO_SUCH_FILE = 2;
const FX_PERMISSION_DENIED = 3;
const FX_FAILURE = 4;
const FX_NO_CONNECTION = 6;
const FX_CONNECTION_LOST = 7;
const FX_OP_UNSUPPORTED = 8;

const ID_RE = /^[0-9a-f]{64}$/;
const DATA_SUBDIR_RE = /^[0-9a-f]{2}$/;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Bytes per READ/WRITE request, and requests in flight per file: see the header. */
const IO_CHUNK = 255 * 1024;
const IO_CONCURRENCY = 16;
/** Files open at once across all operations: servers limit handles, and memory stays bounded. */
const MAX_OPEN_FILES = 16;
/** data/XX folders listed at once (each readdir is several round trips). */
const LIST_CONCURRENCY = 16;
const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 3;

const TYPE_DIRS: Record<Exclude<FileType, 'config'>, string> = {
  key: 'keys',
  snapshot: 'snapshots',
  index: 'index',
  lock: 'locks',
  data: 'data',
};

// Network failures that mean "try again later": the server or the path to it went away.
const TRANSIENT_NET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENETRESET', 'EAI_AGAIN', 'ENOTCONN',
]);

function sftpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function label(h: Handle): string {
  return h.type === 'config' ? 'config' : `${h.type} ${h.name}`;
}

interface Conn {
  client: Client;
  sftp: SFTPWrapper;
  dead: boolean;
  /** Why it died, for messages (e.g. "Keepalive timeout", "read ECONNRESET"). */
  why?: string;
}

/** Raised inside operations when the connection is gone, so they stop sending requests that would never be answered. */
class ConnectionLost extends Error {}

/** A counting semaphore: at most `n` holders at once, FIFO. */
class Slots {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export class SftpBackend implements Backend {
  readonly location: string;
  private acceptedHostKey: string | undefined;

  private readonly opts: SftpBackendOptions;
  private readonly port: number;
  /** The repository folder as given (absolute or relative to the login folder), without a trailing slash. */
  private readonly root: string;
  private conn: Conn | undefined;
  private connecting: Promise<Conn> | undefined;
  private readonly files = new Slots(MAX_OPEN_FILES);

  /**
   * The server's fingerprint once a connection accepted it (pinned, or approved by onFirstUse): store
   * it as the pin. Later reconnects of this backend require the same key without asking again.
   */
  get hostKeyFingerprint(): string | undefined {
    return this.acceptedHostKey;
  }

  constructor(opts: SftpBackendOptions) {
    this.opts = opts;
    this.port = opts.port ?? 22;
    const trimmed = opts.path.length > 1 ? opts.path.replace(/\/+$/, '') : opts.path;
    if (!trimmed) throw new BackendError('other', `no repository folder given for ${opts.host}: give a path such as /srv/backup`);
    this.root = trimmed;
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    // restic's two spellings: the short one for port 22, the URL (with // for an absolute path) otherwise.
    this.location = this.port === 22
      ? `sftp:${opts.username}@${host}:${this.root}`
      : `sftp://${opts.username}@${host}:${this.port}/${this.root}`;
  }

  /** Where a file lives on the server. Validates the handle so no name can escape the folder. */
  filename(h: Handle): string {
    if (h.type === 'config') {
      if (h.name !== '') throw new BackendError('other', `invalid handle: config must have an empty name, got "${h.name}"`, h);
      return this.path('config');
    }
    const dir = TYPE_DIRS[h.type];
    if (dir === undefined) throw new BackendError('other', `invalid handle: unknown file type "${String(h.type)}"`, h);
    if (!ID_RE.test(h.name)) {
      throw new BackendError('other', `invalid handle: ${h.type} name must be 64 lowercase hex characters, got "${h.name}"`, h);
    }
    if (h.type === 'data') return this.path(dir, h.name.slice(0, 2), h.name);
    return this.path(dir, h.name);
  }

  private path(...parts: string[]): string {
    return posix.join(this.root, ...parts);
  }

  /** A path as the user should read it in a message: on which server, where. */
  private where(path: string): string {
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `${path} on ${host}${this.port === 22 ? '' : `:${this.port}`}`;
  }

  // ---- connection ------------------------------------------------------------------------------

  private async session(): Promise<Conn> {
    if (this.conn && !this.conn.dead) return this.conn;
    this.conn = undefined;
    if (!this.connecting) {
      const p = this.connect();
      this.connecting = p;
      // Cleared whatever the outcome, so the next operation tries again after a failure.
      p.then(() => undefined, () => undefined).finally(() => {
        if (this.connecting === p) this.connecting = undefined;
      });
    }
    const conn = await this.connecting;
    if (!conn.dead) this.conn = conn;
    return conn;
  }

  private connect(): Promise<Conn> {
    const { host, username } = this.opts;
    const port = this.port;
    const target = `${username}@${host}:${port}`;
    const timeoutMs = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const client = new Client();
    return new Promise<Conn>((resolve, reject) => {
      let settled = false;
      let hostKeyError: BackendError | undefined;
      let timer: NodeJS.Timeout | undefined;
      const conn: Conn = { client, sftp: undefined as unknown as SFTPWrapper, dead: false };

      const fail = (err: BackendError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.dead = true;
        client.end();
        client.destroy();
        reject(err);
      };
      const armTimer = () => {
        clearTimeout(timer);
        timer = setTimeout(() => fail(new BackendError('transient',
          `timed out after ${Math.round(timeoutMs / 1000)} s connecting to the SSH server ${host}:${port}: `
          + 'check that it is reachable from this computer (network, VPN, firewall) and try again')), timeoutMs);
      };
      const markDead = (why: string) => {
        if (conn.dead) return;
        conn.dead = true;
        conn.why = why;
        if (this.conn === conn) this.conn = undefined;
      };

      client.on('error', (err: Error & { level?: string }) => {
        if (!settled) {
          fail(hostKeyError ?? this.connectError(err, target));
          return;
        }
        markDead(err.message);
      });
      client.on('end', () => markDead('the server closed the connection'));
      client.on('close', () => {
        markDead('the connection was closed');
        if (!settled) {
          fail(hostKeyError ?? new BackendError('transient',
            `the SSH server ${host}:${port} closed the connection before login completed: try again later, `
            + 'and check the server\'s log if this persists'));
        }
      });
      client.on('ready', () => {
        client.sftp((err, sftp) => {
          if (err) {
            fail(new BackendError('other', `logged in to ${host}:${port} as ${username}, but the server refused the SFTP `
              + `subsystem (${err.message}): enable SFTP on the server (Subsystem sftp in sshd_config)`, undefined, { cause: err }));
            return;
          }
          if (settled) {
            sftp.end();
            return;
          }
          settled = true;
          clearTimeout(timer);
          conn.sftp = sftp;
          sftp.on('close', () => markDead('the SFTP session was closed'));
          sftp.on('end', () => markDead('the SFTP session ended'));
          sftp.on('error', (e: Error) => markDead(e.message));
          resolve(conn);
        });
      });

      const verify = (key: Buffer, done: (ok: boolean) => void): void => {
        const fp = hostKeyFingerprint(key);
        const { onFirstUse } = this.opts.hostKey;
        // A key accepted on first use stays the expected one: a different key on reconnect is as
        // suspicious as a pinned mismatch.
        const pinned = this.opts.hostKey.pinned ?? this.acceptedHostKey;
        if (pinned !== undefined) {
          const want = normalizeFingerprint(pinned);
          if (fp === want) {
            this.acceptedHostKey = fp;
            done(true);
            return;
          }
          hostKeyError = new BackendError('permission',
            `the SSH server ${host}:${port} presented host key ${fp}, but ${want} was expected: the server's identity `
            + 'changed. This is a possible attack (someone intercepting the connection), or the server was reinstalled '
            + 'or its keys replaced. Nothing was sent to it. Ask the server\'s administrator for its fingerprint '
            + '(ssh-keygen -lf on the host key); only if it matches the new one, replace the saved fingerprint.');
          done(false);
          return;
        }
        if (!onFirstUse) {
          hostKeyError = new BackendError('permission',
            `the SSH server ${host}:${port} presented host key ${fp}, and there is no saved fingerprint to compare it `
            + 'with: confirm the fingerprint with the server\'s administrator and save it for this destination');
          done(false);
          return;
        }
        // The user may be looking at a prompt: that time does not count against the connect timeout.
        clearTimeout(timer);
        Promise.resolve()
          .then(() => onFirstUse(fp))
          .then((ok) => {
            if (settled) return;
            armTimer();
            if (ok === true) {
              this.acceptedHostKey = fp;
              done(true);
            } else {
              hostKeyError = new BackendError('permission',
                `the host key of the SSH server ${host}:${port} (${fp}) was not accepted, so no connection was made`);
              done(false);
            }
          }, (err: unknown) => {
            hostKeyError = new BackendError('permission',
              `could not confirm the host key of the SSH server ${host}:${port} (${fp}): ${errMessage(err)}`, undefined, { cause: err });
            done(false);
          });
      };

      const config: ConnectConfig = {
        host,
        port,
        username,
        password: this.opts.password,
        privateKey: this.opts.privateKey,
        passphrase: this.opts.passphrase,
        tryKeyboard: false,
        // Our own timer instead, so that an onFirstUse prompt does not count.
        readyTimeout: 0,
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        hostVerifier: (key: Buffer, done: (ok: boolean) => void) => verify(key, done),
      };
      armTimer();
      try {
        client.connect(config);
      } catch (err) {
        // ssh2 parses the private key synchronously: a wrong passphrase or a bad key lands here.
        fail(new BackendError('permission', `the private key for ${target} could not be used (${errMessage(err)}): `
          + 'check the key file and its passphrase', undefined, { cause: err }));
      }
    });
  }

  /** Classifies a failure to connect or log in; never includes the password or key. */
  private connectError(err: Error & { level?: string }, target: string): BackendError {
    const { host } = this.opts;
    const port = this.port;
    const code = errCode(err);
    if (err.level === 'client-authentication') {
      return new BackendError('permission', `the SSH server ${host}:${port} refused the login for user "${this.opts.username}": `
        + 'check the user name, and that the key (its public half in the user\'s ~/.ssh/authorized_keys on the server) '
        + 'or the password is right', undefined, { cause: err });
    }
    if (code === 'ENOTFOUND') {
      return new BackendError('other', `the SSH server's name "${host}" was not found: check the spelling (and the network)`,
        undefined, { cause: err });
    }
    if (code === 'ECONNREFUSED') {
      return new BackendError('transient', `the SSH server ${host}:${port} refused the connection: check that it is running `
        + 'and that the port is right', undefined, { cause: err });
    }
    if ((code && TRANSIENT_NET_CODES.has(code)) || err.level === 'client-timeout' || err.level === 'client-socket') {
      return new BackendError('transient', `could not reach the SSH server ${host}:${port} (${err.message}): check the network `
        + 'and try again', undefined, { cause: err });
    }
    if (err.level === 'handshake' || err.level === 'protocol') {
      return new BackendError('other', `the SSH handshake with ${host}:${port} failed (${err.message}): the server may use `
        + 'algorithms this client does not support, or not be an SSH server', undefined, { cause: err });
    }
    return new BackendError('other', `connecting to ${target} failed: ${err.message}`, undefined, { cause: err });
  }

  /**
   * Runs `fn` on a live SFTP session and classifies its failure. With `retry`, an operation that
   * found an already-open connection dead is run once more on a fresh one.
   */
  private async run<T>(action: string, path: string, h: Handle | undefined, fn: (s: Sftp) => Promise<T>,
    opts: { retry?: boolean } = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const reused = this.conn !== undefined && !this.conn.dead;
      const conn = await this.session();
      try {
        return await fn(new Sftp(conn));
      } catch (err) {
        const lost = isLost(err, conn);
        if (lost && opts.retry && reused && attempt === 0) continue;
        throw this.toBackendError(err, action, path, h, lost ? conn : undefined);
      }
    }
  }

  private toBackendError(err: unknown, action: string, path: string, h?: Handle, lost?: Conn): BackendError {
    if (err instanceof BackendError) return err;
    const where = this.where(path);
    if (lost) {
      return new BackendError('transient', `the connection to ${this.opts.host}:${this.port} was lost while ${action} (${where}; `
        + `${lost.why ?? errMessage(err)}): check the network and the server, then try again`, h, { cause: err });
    }
    const detail = errMessage(err);
    switch (sftpStatus(err)) {
      case FX_NO_SUCH_FILE:
        return new BackendError('not-found', `not found: ${where} (while ${action}): check that the repository path is right`, h, { cause: err });
      case FX_PERMISSION_DENIED:
        return new BackendError('permission', `permission denied on ${where} (while ${action}): make the folder readable and `
          + `writable for the user "${this.opts.username}" on the server`, h, { cause: err });
      case FX_FAILURE:
        if (writeFailures.has(err as object)) {
          // OpenSSH maps ENOSPC and EDQUOT (and other write errors) to this generic status; while
          // creating or writing a file, a full disk is by far the likeliest cause.
          return new BackendError('no-space', `the server failed to store ${where} (${detail}): its disk may be full or the `
            + 'user\'s quota used up; free space on the server or choose another destination', h, { cause: err });
        }
        return new BackendError('other', `${action} failed at ${where}: the server reported a failure (${detail})`, h, { cause: err });
      case FX_NO_CONNECTION:
      case FX_CONNECTION_LOST:
        return new BackendError('transient', `the connection to ${this.opts.host}:${this.port} was lost while ${action} (${where}): `
          + 'try again', h, { cause: err });
      case FX_OP_UNSUPPORTED:
        return new BackendError('other', `the SFTP server does not support an operation needed for ${action} (${where}): ${detail}`, h, { cause: err });
      default:
        return new BackendError('other', `${action} failed at ${where}: ${detail}`, h, { cause: err });
    }
  }

  // ---- Backend ---------------------------------------------------------------------------------

  async create(): Promise<void> {
    const configPath = this.path('config');
    await this.run('creating the repository', this.root, undefined, async (s) => {
      if (await s.exists(configPath)) {
        throw new BackendError('other', `a repository already exists at ${this.where(this.root)} (it has a config file): `
          + 'open it instead, or choose an empty folder', { type: 'config', name: '' });
      }
      await s.mkdirp(this.root);
      await Promise.all(Object.values(TYPE_DIRS).map((d) => s.mkdirIfMissing(this.path(d))));
      // restic 0.14 init creates them all (and its list expects them); one round trip for all 256.
      await Promise.all(Array.from({ length: 256 }, (_, i) => s.mkdirIfMissing(this.path('data', i.toString(16).padStart(2, '0')))));
    });
  }

  async save(h: Handle, data: Buffer): Promise<void> {
    const finalPath = this.filename(h);
    const dir = posix.dirname(finalPath);
    // Same folder so the rename stays on one file system; the final name is embedded so a
    // leftover from a crash tells what it was (restic's leftovers look alike).
    const tmpPath = `${finalPath}-tmp-${randomBytes(8).toString('hex')}`;
    await this.files.use(() => this.run(`saving ${label(h)}`, finalPath, h, async (s) => {
      let handle: Buffer;
      try {
        handle = await s.open(tmpPath, 'wx', FILE_MODE);
      } catch (err) {
        // Repositories made by other tools (or pruned by hand) may lack a data/XX folder. Not
        // recursive: a missing repository folder is an error, not something to recreate.
        if (h.type !== 'data' || sftpStatus(err) !== FX_NO_SUCH_FILE) throw err;
        try {
          await s.mkdirIfMissing(dir);
        } catch (e) {
          if (sftpStatus(e) === FX_NO_SUCH_FILE) throw this.toBackendError(e, `saving ${label(h)}`, posix.dirname(dir), h);
          throw e;
        }
        handle = await s.open(tmpPath, 'wx', FILE_MODE);
      }
      let renamed = false;
      try {
        try {
          await s.writeAll(handle, data);
          await s.fsync(handle);
        } finally {
          await s.close(handle);
        }
        try {
          await s.rename(tmpPath, finalPath);
          renamed = true;
        } catch (err) {
          if (!(err instanceof ConnectionLost) && await s.exists(finalPath)) {
            throw new BackendError('other', `refusing to overwrite ${this.where(finalPath)}: it already exists (repository `
              + 'files are never replaced; if this follows an interrupted save, the file is already stored)', h);
          }
          throw err;
        }
      } finally {
        if (!renamed) await s.unlink(tmpPath).catch(() => undefined);
      }
    }));
  }

  async load(h: Handle, offset = 0, length?: number): Promise<Buffer> {
    const path = this.filename(h);
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      throw new BackendError('other', `invalid range for ${this.where(path)}: offset ${offset}, length ${String(length)}`, h);
    }
    return this.files.use(() => this.run(`reading ${label(h)}`, path, h, async (s) => {
      const handle = await s.open(path, 'r');
      try {
        let want = length;
        if (want === undefined) {
          const size = (await s.fstat(handle)).size;
          if (offset > size) throw this.shortRead(path, h, offset, 0, size);
          want = size - offset;
        }
        const buf = Buffer.allocUnsafe(want);
        const got = await s.readAll(handle, buf, offset);
        if (got < want) {
          const size = await s.fstat(handle).then((st) => st.size, () => offset + got);
          throw this.shortRead(path, h, offset, want, size);
        }
        return buf;
      } finally {
        await s.close(handle).catch(() => undefined);
      }
    }, { retry: true }));
  }

  private shortRead(path: string, h: Handle, offset: number, length: number, size: number): BackendError {
    return new BackendError('other', `short read: ${this.where(path)} has ${size} bytes but bytes ${offset}..${offset + length} `
      + 'were requested: the file is truncated or damaged; run a check of this repository', h);
  }

  async stat(h: Handle): Promise<FileInfo> {
    const path = this.filename(h);
    return this.run(`checking ${label(h)}`, path, h, async (s) => {
      const st = await s.stat(path);
      return { name: h.name, size: st.size };
    }, { retry: true });
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      const path = this.path('config');
      const st = await this.run('listing', path, undefined, (s) => s.statOrUndefined(path), { retry: true });
      if (st && isFile(st)) yield { name: '', size: st.size };
      return;
    }
    const base = this.path(TYPE_DIRS[type]);
    if (type !== 'data') {
      yield* await this.listFolder(base, null);
      return;
    }
    const entries = await this.listFolderEntries(base, false);
    const subdirs = entries.filter((e) => DATA_SUBDIR_RE.test(e.filename) && (e.attrs.mode === undefined || isDir(e.attrs)))
      .map((e) => e.filename).sort();
    // A sliding window of readdirs, yielded in order: over a WAN each one costs several round trips.
    const pending: Promise<FileInfo[]>[] = [];
    let next = 0;
    const fill = () => {
      while (pending.length < LIST_CONCURRENCY && next < subdirs.length) {
        const sub = subdirs[next++];
        const p = this.listFolder(posix.join(base, sub), sub);
        p.catch(() => undefined); // Awaited below; this keeps an early failure from being "unhandled".
        pending.push(p);
      }
    };
    fill();
    while (pending.length > 0) {
      const infos = await pending.shift()!;
      fill();
      yield* infos;
    }
  }

  /** Files of one folder whose names are IDs; with `prefix`, only those that load() could reach there. */
  private async listFolder(dir: string, prefix: string | null): Promise<FileInfo[]> {
    const entries = await this.listFolderEntries(dir, prefix !== null);
    const out: FileInfo[] = [];
    for (const e of entries) {
      if (!ID_RE.test(e.filename) || (prefix !== null && !e.filename.startsWith(prefix))) continue;
      // Sizes come with the listing: no stat per file.
      if (e.attrs.mode !== undefined && !isFile(e.attrs)) continue;
      out.push({ name: e.filename, size: e.attrs.size });
    }
    return out;
  }

  /**
   * A folder's entries. A missing type folder means "no files"; a missing data/XX (`quiet`) too; but a
   * missing repository folder is reported, since that usually means a wrong path or unmounted volume.
   */
  private async listFolderEntries(dir: string, quiet: boolean): Promise<DirEntry[]> {
    return this.run('listing', dir, undefined, async (s) => {
      try {
        return await s.readdir(dir);
      } catch (err) {
        if (sftpStatus(err) !== FX_NO_SUCH_FILE) throw err;
        if (quiet) return [];
        try {
          await s.stat(this.root);
        } catch (e) {
          if (sftpStatus(e) === FX_NO_SUCH_FILE) throw this.toBackendError(e, 'listing', this.root);
          throw e;
        }
        return [];
      }
    }, { retry: true });
  }

  async remove(h: Handle): Promise<void> {
    const path = this.filename(h);
    // Not retried: a remove that succeeded just before the connection dropped would report not-found.
    await this.run(`removing ${label(h)}`, path, h, (s) => s.unlink(path));
  }

  async hasConfig(): Promise<boolean> {
    const path = this.path('config');
    return this.run('checking for a repository', path, undefined, async (s) => {
      const st = await s.statOrUndefined(path);
      return st !== undefined && isFile(st);
    }, { retry: true });
  }

  async writeAppFile(name: string, data: Buffer): Promise<void> {
    checkAppFileName(name);
    const dir = this.path('app');
    const finalPath = posix.join(dir, name);
    const tmpPath = posix.join(dir, `.${name}-tmp-${randomBytes(8).toString('hex')}`);
    await this.files.use(() => this.run(`writing app/${name}`, finalPath, undefined, async (s) => {
      // Not recursive: a missing repository folder means a wrong path, not something to create.
      await s.mkdirIfMissing(dir);
      const handle = await s.open(tmpPath, 'wx', FILE_MODE);
      let renamed = false;
      try {
        try {
          await s.writeAll(handle, data);
          await s.fsync(handle);
        } finally {
          await s.close(handle);
        }
        // Replacing is intended here: the marker's facts change. posix-rename replaces atomically;
        // servers without it get remove-then-rename, where a crash in between loses the old marker
        // but never leaves a half-written one.
        let replaced = false;
        if (s.hasPosixRename) {
          try {
            await s.posixRename(tmpPath, finalPath);
            replaced = true;
          } catch (err) {
            // Advertised but not implemented after all (some SFTP proxies and gateways).
            if (sftpStatus(err) !== FX_OP_UNSUPPORTED) throw err;
          }
        }
        if (!replaced) {
          await s.unlink(finalPath).catch((err: unknown) => {
            if (sftpStatus(err) !== FX_NO_SUCH_FILE) throw err;
          });
          await s.rename(tmpPath, finalPath);
        }
        renamed = true;
      } finally {
        if (!renamed) await s.unlink(tmpPath).catch(() => undefined);
      }
    }));
  }

  async readAppFile(name: string): Promise<Buffer | undefined> {
    checkAppFileName(name);
    const path = this.path('app', name);
    return this.files.use(() => this.run(`reading app/${name}`, path, undefined, async (s) => {
      let handle: Buffer;
      try {
        handle = await s.open(path, 'r');
      } catch (err) {
        if (sftpStatus(err) === FX_NO_SUCH_FILE) return undefined;
        throw err;
      }
      try {
        const size = (await s.fstat(handle)).size;
        const buf = Buffer.allocUnsafe(size);
        const got = await s.readAll(handle, buf, 0);
        return buf.subarray(0, got);
      } finally {
        await s.close(handle).catch(() => undefined);
      }
    }, { retry: true }));
  }

  async close(): Promise<void> {
    const pending = this.connecting;
    this.connecting = undefined;
    const conns = [this.conn, await pending?.catch(() => undefined)];
    this.conn = undefined;
    await Promise.all(conns.map((c) => {
      if (!c || c.dead) return undefined;
      c.dead = true;
      c.why = 'the backend was closed';
      return new Promise<void>((resolve) => {
        c.client.once('close', () => resolve());
        c.client.end();
        // A server that does not answer our goodbye must not hold close() up.
        setTimeout(() => {
          c.client.destroy();
          resolve();
        }, 2000).unref();
      });
    }));
  }
}

interface DirEntry {
  filename: string;
  attrs: { mode?: number; size: number };
}

function isFile(st: { mode?: number }): boolean {
  return st.mode === undefined || (st.mode & S_IFMT) === S_IFREG;
}

function isDir(st: { mode?: number }): boolean {
  return st.mode !== undefined && (st.mode & S_IFMT) === S_IFDIR;
}

/** Errors from creating or writing file data: there, SSH_FX_FAILURE most likely means a full disk. */
const writeFailures = new WeakSet<object>();

async function tagWriteFailure<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (typeof err === 'object' && err !== null) writeFailures.add(err);
    throw err;
  }
}

/** A failure that came from the connection dying rather than from the server's answer. */
function isLost(err: unknown, conn: Conn): boolean {
  if (err instanceof ConnectionLost) return true;
  if (err instanceof BackendError) return false;
  const status = sftpStatus(err);
  if (status === FX_NO_CONNECTION || status === FX_CONNECTION_LOST) return true;
  if (status !== undefined) return false;
  // ssh2 fails requests in flight with "No response from server" when the channel closes.
  const code = errCode(err);
  return conn.dead || (code !== undefined && TRANSIENT_NET_CODES.has(code));
}

/**
 * Promise wrappers around one connection's SFTP requests. Every request first checks that the
 * connection is alive: ssh2 silently queues requests on a closed channel and never answers them.
 */
class Sftp {
  constructor(private readonly conn: Conn) {}

  private get s(): SFTPWrapper {
    if (this.conn.dead) throw new ConnectionLost(this.conn.why ?? 'connection lost');
    return this.conn.sftp;
  }

  private call<T>(fn: (s: SFTPWrapper, cb: (err: Error | undefined | null, v?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        fn(this.s, (err, v) => (err ? reject(err) : resolve(v as T)));
      } catch (err) {
        reject(err);
      }
    });
  }

  get hasPosixRename(): boolean {
    return (this.conn.sftp as unknown as { _extensions?: Record<string, string> })._extensions?.['posix-rename@openssh.com'] === '1';
  }

  private get hasFsync(): boolean {
    return (this.conn.sftp as unknown as { _extensions?: Record<string, string> })._extensions?.['fsync@openssh.com'] === '1';
  }

  open(path: string, flags: 'r' | 'wx', mode?: number): Promise<Buffer> {
    const opening = this.call<Buffer>((s, cb) => {
      if (mode === undefined) s.open(path, flags, cb);
      else s.open(path, flags, { mode }, cb);
    });
    // Creating a file can fail for lack of space (or inodes) too.
    return flags === 'r' ? opening : tagWriteFailure(opening);
  }

  /** Closing a written file can report a deferred write error (network file systems on the server). */
  close(handle: Buffer): Promise<void> {
    return tagWriteFailure(this.call<void>((s, cb) => s.close(handle, cb)));
  }

  fstat(handle: Buffer): Promise<Stats> {
    return this.call<Stats>((s, cb) => s.fstat(handle, cb));
  }

  stat(path: string): Promise<Stats> {
    return this.call<Stats>((s, cb) => s.stat(path, cb));
  }

  async statOrUndefined(path: string): Promise<Stats | undefined> {
    try {
      return await this.stat(path);
    } catch (err) {
      if (sftpStatus(err) === FX_NO_SUCH_FILE) return undefined;
      throw err;
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.statOrUndefined(path)) !== undefined;
  }

  unlink(path: string): Promise<void> {
    return this.call<void>((s, cb) => s.unlink(path, cb));
  }

  rename(from: string, to: string): Promise<void> {
    return this.call<void>((s, cb) => s.rename(from, to, cb));
  }

  posixRename(from: string, to: string): Promise<void> {
    return this.call<void>((s, cb) => s.ext_openssh_rename(from, to, cb));
  }

  /** fsync@openssh.com when offered; servers without it give no stronger guarantee than close. */
  async fsync(handle: Buffer): Promise<void> {
    if (!this.hasFsync) return;
    await tagWriteFailure(this.call<void>((s, cb) => s.ext_openssh_fsync(handle, (err) => cb(err))));
  }

  readdir(path: string): Promise<DirEntry[]> {
    return this.call<DirEntry[]>((s, cb) => s.readdir(path, cb));
  }

  mkdir(path: string): Promise<void> {
    return this.call<void>((s, cb) => s.mkdir(path, { mode: DIR_MODE }, cb));
  }

  /** mkdir that accepts an existing folder (servers answer FAILURE for "exists", so check with stat). */
  async mkdirIfMissing(path: string): Promise<void> {
    try {
      await this.mkdir(path);
    } catch (err) {
      if (sftpStatus(err) !== FX_FAILURE && sftpStatus(err) !== FX_PERMISSION_DENIED) throw err;
      const st = await this.statOrUndefined(path);
      if (!st || !isDir(st)) throw err;
    }
  }

  /** mkdir -p, for create() only: the parents of a new repository folder may not exist yet. */
  async mkdirp(path: string): Promise<void> {
    try {
      await this.mkdirIfMissing(path);
    } catch (err) {
      const parent = posix.dirname(path);
      if (sftpStatus(err) !== FX_NO_SUCH_FILE || parent === path || parent === '.') throw err;
      await this.mkdirp(parent);
      await this.mkdirIfMissing(path);
    }
  }

  /** Writes all of `data` at offset 0 with several requests in flight; waits for all before returning. */
  async writeAll(handle: Buffer, data: Buffer): Promise<void> {
    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (failure === undefined && next < data.length) {
        const off = next;
        const len = Math.min(IO_CHUNK, data.length - off);
        next += len;
        try {
          await tagWriteFailure(this.call<void>((s, cb) => s.write(handle, data, off, len, off, (err) => cb(err))));
        } catch (err) {
          failure ??= err;
        }
      }
    };
    const workers = Math.min(IO_CONCURRENCY, Math.ceil(data.length / IO_CHUNK));
    await Promise.all(Array.from({ length: workers }, worker));
    if (failure !== undefined) throw failure;
  }

  /**
   * Fills `buf` from file position `pos` with several requests in flight. Returns how many bytes were
   * read: less than buf.length only if the file ended first. A server may answer a READ with fewer
   * bytes than asked even mid-file, so each chunk continues until it is full or the server says EOF.
   */
  async readAll(handle: Buffer, buf: Buffer, pos: number): Promise<number> {
    let next = 0;
    let failure: unknown;
    let eofAt = buf.length;
    const readChunk = async (start: number, end: number) => {
      let at = start;
      while (at < end && at < eofAt) {
        const want = end - at;
        const n = await this.call<number>((s, cb) => s.read(handle, buf, at, want, pos + at, (err, bytesRead) => cb(err, bytesRead)));
        if (n === 0) {
          eofAt = Math.min(eofAt, at);
          return;
        }
        at += n;
      }
    };
    const worker = async () => {
      while (failure === undefined && next < buf.length && next < eofAt) {
        const start = next;
        const end = Math.min(start + IO_CHUNK, buf.length);
        next = end;
        try {
          await readChunk(start, end);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    const workers = Math.min(IO_CONCURRENCY, Math.ceil(buf.length / IO_CHUNK));
    await Promise.all(Array.from({ length: workers }, worker));
    if (failure !== undefined) throw failure;
    return eofAt;
  }
}
