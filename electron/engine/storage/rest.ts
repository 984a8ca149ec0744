// RestBackend: a repository behind restic's REST protocol v2 (rest-server, `rclone serve restic`).
//
// Protocol (restic doc/REST_backend.rst), paths relative to the repository URL, which ends with "/":
//   POST   ?create=true          create the repository (the server makes the type folders)
//   HEAD   config | <type>/<id>  exists? Content-Length is the size
//   GET    config | <type>/<id>  read; ranged reads send "Range: bytes=a-b" and expect 206
//   POST   config | <type>/<id>  store the body
//   DELETE config | <type>/<id>  remove
//   GET    <type>/               list; with "Accept: application/vnd.x.restic.rest.v2" the answer is
//                                JSON [{"name","size"}], otherwise (v1) a JSON array of names
// Types are keys, snapshots, index, locks, data; packs are addressed as data/<id> and the server
// files them under data/<2 hex>/.
//
// Where this differs from restic's own REST client:
// - save() asks HEAD first and never overwrites: servers differ (rest-server refuses, plain rclone
//   replaces), and an existing content-addressed name means the same bytes or damage.
// - Append-only servers (rest-server and rclone with --append-only) answer DELETE with 403 for
//   everything except locks/<id>: both still let clients remove their lock files, so locking and
//   unlocking work there. A 403 on deleting anything else is reported as "append-only" (kind
//   'permission'); probeAppendOnly() detects the mode without changing anything, by deleting a
//   random, certainly absent pack name: a normal server says 404, an append-only one 403.
// - The protocol has no place for Mamori's app/ files: writeAppFile refuses, readAppFile finds none.
//
// The HTTP exchange sits behind RestTransport so the same logic serves `rclone serve restic --stdio`
// over HTTP/2 on a child process's pipes (rclone.ts). Bodies are whole Buffers: save() already has
// the pack in memory and hands that very Buffer to the socket (no copy); load() returns a Buffer, so
// responses are gathered into one allocation sized from Content-Length.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { BackendError, checkAppFileName } from './backend';
import type { Backend, BackendErrorKind, FileInfo, FileType, Handle } from './backend';

export type RestMethod = 'GET' | 'HEAD' | 'POST' | 'DELETE';

export interface RestRequest {
  method: RestMethod;
  /** Relative to the repository root, without a leading "/": "config", "data/<id>", "keys/", "?create=true". */
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body?: Buffer;
}

export interface RestResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

/** How RestBackend reaches the server. Failures to get any answer are thrown (they become 'transient'). */
export interface RestTransport {
  request(req: RestRequest): Promise<RestResponse>;
  close(): Promise<void>;
  /** Completes "cannot reach <location>: <detail>: ..." with what the user should check. */
  readonly unreachableHint: string;
}

export interface RestBackendOptions {
  /** The repository URL, ending with "/" (e.g. http://nas:8000/laptop/). Credentials in it are moved to Basic auth. */
  url: string;
  username?: string;
  password?: string;
  /**
   * Give up on a request when the connection stays silent this long (default 5 minutes). An idle
   * limit, not a total one: a 100 MiB pack on a slow uplink may take far longer to upload.
   */
  timeoutMs?: number;
}

export const DEFAULT_REST_TIMEOUT_MS = 5 * 60 * 1000;

const API_V2 = 'application/vnd.x.restic.rest.v2';
const ID_RE = /^[0-9a-f]{64}$/;
// HEAD requests kept in flight when a v1 server lists only names.
const STAT_CONCURRENCY = 16;
// Connections per server: enough to keep background pack uploads and index reads going together.
const MAX_SOCKETS = 16;

const TYPE_DIRS: Record<Exclude<FileType, 'config'>, string> = {
  key: 'keys',
  snapshot: 'snapshots',
  index: 'index',
  lock: 'locks',
  data: 'data',
};

function label(h: Handle): string {
  return h.type === 'config' ? 'config' : `${h.type} ${h.name}`;
}

function handlePath(h: Handle): string {
  if (h.type === 'config') {
    if (h.name !== '') throw new BackendError('other', `invalid handle: config must have an empty name, got "${h.name}"`, h);
    return 'config';
  }
  const dir = TYPE_DIRS[h.type];
  if (dir === undefined) throw new BackendError('other', `invalid handle: unknown file type "${String(h.type)}"`, h);
  if (!ID_RE.test(h.name)) {
    throw new BackendError('other', `invalid handle: ${h.type} name must be 64 lowercase hex characters, got "${h.name}"`, h);
  }
  return `${dir}/${h.name}`;
}

/** What an HTTP status means for callers deciding to retry, wait or give up. */
export function classifyHttpStatus(status: number): BackendErrorKind {
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'permission';
  if (status === 507 || status === 413) return 'no-space';
  if (status >= 500 || status === 408 || status === 429) return 'transient';
  return 'other';
}

// Certificate problems do not go away by retrying: the user has to act.
const TLS_CODE_RE = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT|ERR_SSL_)/;

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const code = errCode(err);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}

/** A short, single-line excerpt of a server's error text, for messages. */
function bodySnippet(body: Buffer): string {
  const s = body.subarray(0, 300).toString('utf8').replace(/\s+/g, ' ').trim();
  return s ? `: "${s}"` : '';
}

interface DirectOptions {
  transport: RestTransport;
  /** Shown to the user; must not contain secrets. */
  location: string;
}

export class RestBackend implements Backend {
  readonly location: string;
  private readonly transport: RestTransport;
  private appendOnlySeen: boolean | undefined;

  constructor(opts: RestBackendOptions | DirectOptions) {
    if ('transport' in opts) {
      this.transport = opts.transport;
      this.location = opts.location;
      return;
    }
    const { url, username, password } = splitCredentials(opts);
    this.location = `rest:${url.toString()}`;
    this.transport = new HttpTransport(url, username, password, opts.timeoutMs ?? DEFAULT_REST_TIMEOUT_MS);
  }

  /**
   * True once the server showed itself append-only (a 403 on deleting a non-lock file, or
   * probeAppendOnly()), false once probeAppendOnly() found it is not, undefined before either.
   */
  get appendOnly(): boolean | undefined {
    return this.appendOnlySeen;
  }

  /**
   * Asks the server whether it refuses deletions, without changing anything: it deletes a random
   * pack name that cannot exist. A normal server answers 404, an append-only one 403 (both
   * rest-server and rclone check the mode before looking for the file).
   */
  async probeAppendOnly(): Promise<boolean> {
    const name = randomBytes(32).toString('hex');
    const res = await this.send({ method: 'DELETE', path: `data/${name}`, headers: {} }, 'checking whether the server is append-only');
    if (res.status === 403) this.appendOnlySeen = true;
    else if (res.status === 404 || (res.status >= 200 && res.status < 300)) this.appendOnlySeen = false;
    else throw this.statusError(res, 'checking whether the server is append-only');
    return this.appendOnlySeen;
  }

  async create(): Promise<void> {
    if (await this.hasConfig()) {
      throw new BackendError('other', `a repository already exists at ${this.location} (it has a config file): `
        + 'open it instead, or choose another repository path', { type: 'config', name: '' });
    }
    const res = await this.send({ method: 'POST', path: '?create=true', headers: {} }, 'creating the repository');
    if (res.status !== 200 && res.status !== 201) throw this.statusError(res, 'creating the repository');
  }

  async save(h: Handle, data: Buffer): Promise<void> {
    const path = handlePath(h);
    const action = `saving ${label(h)}`;
    const head = await this.send({ method: 'HEAD', path, headers: {} }, action, h);
    if (head.status === 200) {
      throw new BackendError('other', `refusing to overwrite ${label(h)} at ${this.location}: it already exists `
        + '(repository files are never replaced; if this follows an interrupted save, the file is already stored)', h);
    }
    if (head.status !== 404) throw this.statusError(head, action, h);
    const res = await this.send({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
      body: data,
    }, action, h);
    if (res.status !== 200 && res.status !== 201 && res.status !== 204) throw this.statusError(res, action, h);
  }

  async load(h: Handle, offset = 0, length?: number): Promise<Buffer> {
    const path = handlePath(h);
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      throw new BackendError('other', `invalid range for ${label(h)} at ${this.location}: offset ${offset}, length ${String(length)}`, h);
    }
    const action = `reading ${label(h)}`;
    // HTTP cannot ask for zero bytes: only existence and size matter.
    if (length === 0) {
      const { size } = await this.stat(h);
      if (offset > size) throw this.shortRead(h, offset, 0, size);
      return Buffer.alloc(0);
    }
    const ranged = offset > 0 || length !== undefined;
    const headers: Record<string, string> = {};
    if (ranged) headers.range = `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`;
    const res = await this.send({ method: 'GET', path, headers }, action, h);

    if (res.status === 416) {
      // Nothing at or after `offset`: fine only when reading "to the end" from exactly the end.
      const { size } = await this.stat(h);
      if (length === undefined && offset === size) return Buffer.alloc(0);
      throw this.shortRead(h, offset, length ?? 0, size);
    }
    if (res.status === 200) {
      // A server that ignores Range sends the whole file: cut the range out of it.
      const size = res.body.length;
      const end = length === undefined ? size : offset + length;
      if (offset > size || end > size) throw this.shortRead(h, offset, end - offset, size);
      return ranged ? res.body.subarray(offset, end) : res.body;
    }
    if (res.status === 206 && ranged) {
      const cr = parseContentRange(res.headers['content-range']);
      if (cr && cr.start !== offset) {
        throw new BackendError('other', `the server at ${this.location} answered bytes ${cr.start}.. of ${label(h)} when `
          + `bytes ${offset}.. were asked for: it does not handle ranged reads correctly`, h);
      }
      if (length !== undefined) {
        if (res.body.length !== length) throw this.shortRead(h, offset, length, cr?.size ?? offset + res.body.length);
      } else if (cr?.size !== undefined && offset + res.body.length !== cr.size) {
        throw this.shortRead(h, offset, cr.size - offset, offset + res.body.length);
      }
      return res.body;
    }
    throw this.statusError(res, action, h);
  }

  async stat(h: Handle): Promise<FileInfo> {
    const path = handlePath(h);
    const action = `checking ${label(h)}`;
    const res = await this.send({ method: 'HEAD', path, headers: {} }, action, h);
    if (res.status !== 200) throw this.statusError(res, action, h);
    const size = Number(res.headers['content-length']);
    if (res.headers['content-length'] === undefined || !Number.isSafeInteger(size) || size < 0) {
      throw new BackendError('other', `the server at ${this.location} gave no size for ${label(h)} (no Content-Length in its `
        + 'answer to HEAD): it does not follow restic\'s REST protocol', h);
    }
    return { name: h.name, size };
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      const h: Handle = { type: 'config', name: '' };
      try {
        yield await this.stat(h);
      } catch (err) {
        if (!(err instanceof BackendError && err.kind === 'not-found')) throw err;
      }
      return;
    }
    const dir = TYPE_DIRS[type];
    if (dir === undefined) throw new BackendError('other', `cannot list unknown file type "${String(type)}"`);
    const action = `listing ${dir}`;
    const res = await this.send({ method: 'GET', path: `${dir}/`, headers: { accept: API_V2 } }, action);
    // rest-server answers 404 for a type folder that does not exist yet: nothing of that type.
    if (res.status === 404) return;
    if (res.status !== 200) throw this.statusError(res, action);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new BackendError('other', `the server at ${this.location} sent a listing of ${dir} that is not JSON: `
        + 'check that the URL points to a restic REST server');
    }
    if (!Array.isArray(parsed)) {
      throw new BackendError('other', `the server at ${this.location} sent a listing of ${dir} that is not a JSON array: `
        + 'check that the URL points to a restic REST server');
    }
    const infos: FileInfo[] = [];
    const namesOnly: string[] = [];
    for (const item of parsed as unknown[]) {
      if (typeof item === 'string') {
        // Protocol v1: names only; sizes come from HEAD below.
        if (ID_RE.test(item)) namesOnly.push(item);
        continue;
      }
      const { name, size } = (item ?? {}) as { name?: unknown; size?: unknown };
      // Temporary and foreign files (and anything load() could not address) are not ours.
      if (typeof name !== 'string' || !ID_RE.test(name)) continue;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw new BackendError('other', `the server at ${this.location} listed ${dir}/${name} with an invalid size`);
      }
      infos.push({ name, size });
    }
    yield* infos;
    for (let i = 0; i < namesOnly.length; i += STAT_CONCURRENCY) {
      const batch = namesOnly.slice(i, i + STAT_CONCURRENCY);
      const stats = await Promise.all(batch.map(async (name) => {
        try {
          return await this.stat({ type, name });
        } catch (err) {
          // Removed between listing and HEAD (a lock released meanwhile): not an error.
          if (err instanceof BackendError && err.kind === 'not-found') return null;
          throw err;
        }
      }));
      for (const s of stats) if (s) yield s;
    }
  }

  async remove(h: Handle): Promise<void> {
    const path = handlePath(h);
    const action = `removing ${label(h)}`;
    const res = await this.send({ method: 'DELETE', path, headers: {} }, action, h);
    if (res.status >= 200 && res.status < 300) return;
    if (res.status === 403 && h.type !== 'lock') {
      // Append-only servers still allow removing locks, so a 403 there is an ordinary refusal.
      this.appendOnlySeen = true;
      throw new BackendError('permission', `the server at ${this.location} refused to delete ${label(h)} (403 Forbidden): `
        + 'it is append-only (rest-server or rclone serve restic started with --append-only), which protects existing '
        + 'backups from deletion. Backups keep working; forget and prune must run on an access to this repository '
        + 'that is not append-only', h);
    }
    throw this.statusError(res, action, h);
  }

  async hasConfig(): Promise<boolean> {
    const action = 'checking for a repository';
    const res = await this.send({ method: 'HEAD', path: 'config', headers: {} }, action);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.statusError(res, action);
  }

  async writeAppFile(name: string, _data: Buffer): Promise<void> {
    checkAppFileName(name);
    throw new BackendError('other', `cannot store app/${name} at ${this.location}: restic's REST protocol only has room for `
      + 'repository files (config, keys, snapshots, index, locks, data), so Mamori keeps no files of its own on this '
      + 'destination; backups work without them');
  }

  async readAppFile(name: string): Promise<Buffer | undefined> {
    checkAppFileName(name);
    return undefined;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  /** One request; failures to get any answer become 'transient' errors naming the file and the server. */
  private async send(req: RestRequest, action: string, h?: Handle): Promise<RestResponse> {
    try {
      return await this.transport.request(req);
    } catch (err) {
      if (err instanceof BackendError) throw err;
      const code = errCode(err);
      if (code && TLS_CODE_RE.test(code)) {
        throw new BackendError('other', `cannot connect securely to ${this.location} while ${action}: ${errText(err)}: `
          + 'the server\'s TLS certificate is not trusted; fix the certificate or the URL', h, { cause: err });
      }
      throw new BackendError('transient', `cannot reach ${this.location} while ${action}: ${errText(err)}: `
        + this.transport.unreachableHint, h, { cause: err });
    }
  }

  private statusError(res: RestResponse, action: string, h?: Handle): BackendError {
    const kind = classifyHttpStatus(res.status);
    const st = `${res.status}${http.STATUS_CODES[res.status] ? ` ${http.STATUS_CODES[res.status]}` : ''}`;
    let message: string;
    switch (kind) {
      case 'not-found':
        message = h
          ? `not found: ${label(h)} at ${this.location}: the file is missing from the repository; `
            + 'check that the URL names the right repository, then run a check'
          : `not found at ${this.location} (while ${action}, ${st}): check that the URL names the repository`;
        break;
      case 'permission':
        message = res.status === 401
          ? `the server at ${this.location} did not accept the credentials (${st}) while ${action}: `
            + 'check the user name and password for this destination'
          : `the server at ${this.location} denied access (${st}) while ${action}: check that this user may use `
            + 'this repository path on the server';
        break;
      case 'no-space':
        message = res.status === 413
          ? `the server at ${this.location} refused the upload as too large (${st}) while ${action}: it, or a proxy in `
            + 'front of it, limits upload sizes or has run out of space; raise the limit or free space on the server'
          : `no space left on the server at ${this.location} (${st}) while ${action}: free space on the server or `
            + 'choose another destination';
        break;
      case 'transient':
        message = `the server at ${this.location} failed (${st}) while ${action}${bodySnippet(res.body)}: it may be `
          + 'overloaded, restarting or unable to reach its storage; try again later, and check the server\'s log if it persists';
        break;
      default:
        message = `unexpected answer from ${this.location} (${st}) while ${action}${bodySnippet(res.body)}: check that `
          + 'the URL points to a restic REST server';
    }
    return new BackendError(kind, message, h);
  }

  private shortRead(h: Handle, offset: number, length: number, size: number): BackendError {
    return new BackendError('other', `short read: ${label(h)} at ${this.location} has ${size} bytes but bytes `
      + `${offset}..${offset + length} were requested: the file is truncated or damaged; run a check of this repository`, h);
  }
}

/** "bytes a-b/size" (size may be "*"); undefined when absent or unreadable. */
function parseContentRange(v: string | undefined): { start: number; size?: number } | undefined {
  const m = v ? /^bytes\s+(\d+)-\d+\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), size: m[2] === '*' ? undefined : Number(m[2]) };
}

/** The URL without credentials (ending with "/"), and the credentials from the options or the URL. */
function splitCredentials(opts: RestBackendOptions): { url: URL; username?: string; password?: string } {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    // The raw text may hold a password: do not echo it.
    throw new BackendError('other', 'the REST server address is not a valid URL: write it as http://host:8000/path/');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BackendError('other', `the REST server address must start with http:// or https://, not ${url.protocol}//`);
  }
  const username = opts.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = opts.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return { url, username, password };
}

/** HTTP/1.1 with keep-alive connections, over node:http or node:https. */
class HttpTransport implements RestTransport {
  readonly unreachableHint = 'check that the server is running and reachable from this computer, then try again';
  private readonly agent: http.Agent;
  private readonly auth?: string;
  private readonly mod: typeof http | typeof https;

  constructor(private readonly base: URL, username: string | undefined, password: string | undefined, private readonly timeoutMs: number) {
    this.mod = base.protocol === 'https:' ? https : http;
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
    if (username !== undefined || password !== undefined) {
      this.auth = `Basic ${Buffer.from(`${username ?? ''}:${password ?? ''}`, 'utf8').toString('base64')}`;
    }
  }

  async request(req: RestRequest): Promise<RestResponse> {
    try {
      return await this.once(req);
    } catch (err) {
      // A kept-alive connection the server closed while idle fails on first use; Node's documented
      // remedy is to retry once on a fresh connection. Only then: the request never reached the server.
      if ((err as { reusedSocket?: boolean }).reusedSocket && errCode(err) === 'ECONNRESET') return this.once(req);
      throw err;
    }
  }

  private once(req: RestRequest): Promise<RestResponse> {
    const target = new URL(req.path, this.base);
    const headers: Record<string, string> = { ...req.headers };
    if (this.auth) headers.authorization = this.auth;
    if (req.body === undefined && (req.method === 'POST' || req.method === 'DELETE')) headers['content-length'] = '0';
    return new Promise<RestResponse>((resolve, reject) => {
      const r = this.mod.request(target, { method: req.method, headers, agent: this.agent }, (res) => {
        collectBody(res, req.method === 'HEAD', res.headers['content-length']).then((body) => {
          const out: Record<string, string | undefined> = {};
          for (const [k, v] of Object.entries(res.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers: out, body });
        }, reject);
      });
      r.setTimeout(this.timeoutMs, () => {
        r.destroy(Object.assign(new Error(`no answer for ${Math.round(this.timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' }));
      });
      r.on('error', (err) => reject(Object.assign(err, { reusedSocket: r.reusedSocket })));
      r.end(req.body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/**
 * Gathers a response body into one Buffer (preallocated from Content-Length when given) and fails
 * if the connection ends before all announced bytes arrived.
 */
export function collectBody(
  res: NodeJS.ReadableStream & { destroy(err?: Error): void },
  isHead: boolean,
  contentLength: string | undefined,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const announced = contentLength !== undefined && /^\d+$/.test(contentLength) ? Number(contentLength) : undefined;
    if (isHead) {
      res.resume();
      res.on('end', () => resolve(Buffer.alloc(0)));
      res.on('error', reject);
      return;
    }
    // Preallocation avoids holding every chunk plus their concatenation for a 100 MiB pack.
    const pre = announced !== undefined && announced <= 1024 * 1024 * 1024 ? Buffer.allocUnsafe(announced) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    res.on('data', (chunk: Buffer) => {
      if (pre) {
        if (received + chunk.length > pre.length) {
          done = true;
          res.destroy();
          reject(Object.assign(new Error(`the server sent more than the ${pre.length} bytes it announced`), { code: 'EPROTO' }));
          return;
        }
        chunk.copy(pre, received);
      } else {
        chunks.push(chunk);
      }
      received += chunk.length;
    });
    res.on('end', () => {
      if (done) return;
      done = true;
      if (announced !== undefined && received !== announced) {
        reject(Object.assign(new Error(`connection ended after ${received} of ${announced} bytes`), { code: 'ECONNRESET' }));
        return;
      }
      resolve(pre ?? Buffer.concat(chunks, received));
    });
    res.on('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
    res.on('close', () => {
      if (done) return;
      done = true;
      reject(Object.assign(new Error(`connection closed after ${received}${announced !== undefined ? ` of ${announced}` : ''} bytes`), { code: 'ECONNRESET' }));
    });
  });
}
