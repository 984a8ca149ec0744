// S3Backend: a restic repository in an S3 bucket (AWS, or any S3-compatible server: Ceph radosgw,
// MinIO, Wasabi, Backblaze B2's S3 API, ...), through AWS SDK v3.
//
// Layout is restic's s3 layout, which is its default layout under a key prefix:
// <prefix>/config, <prefix>/keys/<id>, <prefix>/snapshots/<id>, <prefix>/index/<id>,
// <prefix>/locks/<id>, <prefix>/data/<2 hex>/<id>, so `restic -r s3:<endpoint>/<bucket>/<prefix>`
// opens what Mamori writes and vice versa. There are no folder marker objects: S3 has no folders.
//
// Why it is built the way it is:
// - Flexible checksums are off (requestChecksumCalculation/responseChecksumValidation WHEN_REQUIRED):
//   recent SDKs otherwise send aws-chunked bodies with trailing checksums that several S3-compatible
//   servers reject or store wrongly. Integrity comes from Content-MD5 instead (the server refuses a
//   body whose MD5 differs) and from comparing the returned ETag, which is the MD5 for single-part
//   puts and MD5(concat(part MD5s))-N for multipart ones, unless SSE-KMS/SSE-C makes it opaque.
// - Never overwrite: S3 PUT silently replaces, so save() first HEADs the key and also sends
//   `If-None-Match: *`. Servers that do not implement conditional puts answer 501 (we then stop
//   sending it) or ignore it (Ceph 16 ignores it on CompleteMultipartUpload); the HEAD still catches
//   every non-concurrent overwrite, and concurrent saves of one content-addressed name carry the same
//   bytes. A 412 on an SDK retry whose first attempt had in fact landed is recognised by its ETag.
// - S3 DELETE succeeds for missing keys, so remove() HEADs first to report not-found like the others.
// - Timeouts (connect 10 s, 30 s of socket inactivity) and 3 attempts, so a dead server fails in
//   about a second and a hung one in about a minute and a half instead of hanging forever.
// - The SDK's logger is silenced: the engine never prints.

import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { BucketLocationConstraint, GetObjectCommandOutput, S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BackendError, checkAppFileName } from './backend';
import type { Backend, BackendErrorKind, FileInfo, FileType, Handle } from './backend';
import type { Location } from './location';

export interface S3BackendOptions {
  /** Server address with scheme, e.g. https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:7480. */
  endpoint: string;
  bucket: string;
  /** Key prefix of the repository inside the bucket ("" for the bucket's root). */
  prefix: string;
  /** Region to sign for; derived from an AWS endpoint's name, else us-east-1. */
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** http://host/bucket/key instead of http://bucket.host/key; default true except on AWS. */
  forcePathStyle?: boolean;
  /** Files larger than this go up as multipart uploads in parts of this size (default 16 MiB, min 5 MiB). */
  partSizeBytes?: number;
  /** Tries per request, including the first (default 3). */
  maxAttempts?: number;
  /** Time allowed to establish a connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Time a request may go without any traffic before it fails (default 30 s). */
  socketTimeoutMs?: number;
}

export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
const MIN_PART_SIZE = 5 * 1024 * 1024;
// Parts uploaded in parallel per multipart file (and so the extra memory is none: parts are slices).
const UPLOAD_QUEUE_SIZE = 4;

const ID_RE = /^[0-9a-f]{64}$/;

const TYPE_DIRS: Record<Exclude<FileType, 'config'>, string> = {
  key: 'keys',
  snapshot: 'snapshots',
  index: 'index',
  lock: 'locks',
  data: 'data',
};

const silentLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Builds backend options from a parsed `s3:` location plus the credentials kept in the secret store. */
export function s3OptionsFromLocation(
  loc: Extract<Location, { kind: 's3' }>,
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; region?: string },
): S3BackendOptions {
  return { endpoint: loc.endpoint, bucket: loc.bucket, prefix: loc.prefix, ...creds };
}

// ---- error classification -------------------------------------------------------------------------

interface ErrInfo {
  /** S3 error code (NoSuchKey, AccessDenied, ...) or Node/network error code (ECONNREFUSED, ...). */
  code?: string;
  status?: number;
  /** How many attempts the SDK made before giving up. */
  attempts?: number;
}

function errInfo(err: unknown): ErrInfo {
  if (typeof err !== 'object' || err === null) return {};
  const e = err as {
    name?: unknown; Code?: unknown; code?: unknown; errors?: unknown;
    $metadata?: { httpStatusCode?: unknown; attempts?: unknown };
  };
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  let code = str(e.Code) ?? str(e.code);
  // Node 20 tries every address of a host and reports an AggregateError whose parts carry the code.
  if (!code && Array.isArray(e.errors)) code = e.errors.map((x: { code?: unknown }) => str(x?.code)).find(Boolean);
  const name = str(e.name);
  // The SDK names service errors after their code; "Error"/"Unknown" are no codes (HEAD has no body).
  if (!code && name && !['Error', 'Unknown', 'AggregateError', 'S3ServiceException'].includes(name)) code = name;
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const attempts = typeof e.$metadata?.attempts === 'number' ? e.$metadata.attempts : undefined;
  return { code, status, attempts };
}

const NO_SPACE_CODES = new Set(['EntityTooLarge', 'QuotaExceeded', 'InsufficientStorage', 'XMinioStorageFull', 'StorageFull']);
const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);
const PERMISSION_CODES = new Set([
  'AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled', 'AccountProblem',
  'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired', 'InvalidSecurity', 'RequestTimeTooSkewed', 'UserSuspended',
]);
const TRANSIENT_CODES = new Set([
  'SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'Throttling', 'ThrottlingException',
  'TooManyRequests', 'RequestThrottled', 'OperationAborted', 'ConditionalRequestConflict', 'BadDigest',
  'IncompleteBody', 'XAmzContentSHA256Mismatch', 'TimeoutError', 'RequestTimeoutException',
  // Network: server down or restarting, connection lost, DNS or route unavailable (often just offline).
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EHOSTDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
]);

/** Maps an SDK or network error to the kind of failure callers act on (retry, wait, give up). */
export function classifyS3Error(err: unknown): BackendErrorKind {
  if (err instanceof BackendError) return err.kind;
  const { code, status } = errInfo(err);
  // Checked before the status: Ceph answers QuotaExceeded with 403.
  if (code && NO_SPACE_CODES.has(code)) return 'no-space';
  if (code === 'InvalidObjectState') return 'other';
  if (code && NOT_FOUND_CODES.has(code)) return 'not-found';
  if (code && PERMISSION_CODES.has(code)) return 'permission';
  if (code && TRANSIENT_CODES.has(code)) return 'transient';
  if (status === 507) return 'no-space';
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'permission';
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return 'transient';
  return 'other';
}

function isNotFound(err: unknown): boolean {
  return classifyS3Error(err) === 'not-found';
}

function label(h: Handle): string {
  return h.type === 'config' ? 'config' : `${h.type} ${h.name}`;
}

function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** S3's ETag of a multipart upload: MD5 of the concatenated part MD5s, then "-" and the part count. */
function multipartEtag(data: Buffer, partSize: number): string {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += partSize) parts.push(md5(data.subarray(off, off + partSize)));
  return `${md5(Buffer.concat(parts)).toString('hex')}-${parts.length}`;
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^(W\/)?"|"$/g, '').toLowerCase();
}

/** With SSE-KMS or customer keys the ETag is no MD5 of the content and cannot be compared. */
function etagIsContentMd5(out: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string }): boolean {
  return !out.SSECustomerAlgorithm && (out.ServerSideEncryption === undefined || out.ServerSideEncryption === 'AES256');
}

// ---- the backend ----------------------------------------------------------------------------------

export class S3Backend implements Backend {
  readonly location: string;
  readonly endpoint: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  /** "" or "<prefix>/": prepended to every key. */
  private readonly keyPrefix: string;
  /** Set once the server turned out not to implement `If-None-Match: *` on PUT. */
  private conditionalPuts = true;

  constructor(opts: S3BackendOptions) {
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(opts.endpoint) ? opts.endpoint : `https://${opts.endpoint}`);
    } catch {
      throw new BackendError('other', `invalid S3 endpoint "${opts.endpoint}": write it as https://host[:port]`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new BackendError('other', `invalid S3 endpoint "${opts.endpoint}": only http:// and https:// are supported`);
    }
    if (url.username || url.password) {
      // Never echo the endpoint here: it holds what looks like a credential.
      throw new BackendError('other', 'the S3 endpoint must not contain a user name or password: give the access key and secret separately');
    }
    const basePath = url.pathname.replace(/\/+$/, '');
    this.endpoint = `${url.protocol}//${url.host}${basePath}`;
    if (!opts.bucket || opts.bucket.includes('/')) {
      throw new BackendError('other', `invalid bucket name "${opts.bucket}" for ${this.endpoint}`);
    }
    this.bucket = opts.bucket;
    this.prefix = opts.prefix.split('/').filter(Boolean).join('/');
    this.keyPrefix = this.prefix ? `${this.prefix}/` : '';
    this.location = `s3:${this.endpoint}/${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;

    this.partSize = opts.partSizeBytes ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(this.partSize) || this.partSize < MIN_PART_SIZE) {
      throw new BackendError('other', `S3 part size must be at least ${MIN_PART_SIZE} bytes (S3's minimum), got ${this.partSize}`);
    }

    const host = url.hostname.toLowerCase();
    const isAws = /(^|\.)amazonaws\.com(\.cn)?$/.test(host);
    // s3.eu-west-1.amazonaws.com, s3-eu-west-1.amazonaws.com, s3.dualstack.eu-west-1.amazonaws.com
    const awsRegion = /^s3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(\.cn)?$/.exec(host)?.[1];
    this.region = opts.region ?? awsRegion ?? 'us-east-1';

    const config: S3ClientConfig = {
      region: this.region,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, sessionToken: opts.sessionToken },
      forcePathStyle: opts.forcePathStyle ?? !isAws,
      maxAttempts: opts.maxAttempts ?? 3,
      retryMode: 'standard',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 10_000,
        socketTimeout: opts.socketTimeoutMs ?? 30_000,
        logger: silentLogger,
      },
      logger: silentLogger,
      // A bucket in another region than the one we sign for: let the SDK follow AWS's hint.
      followRegionRedirects: isAws,
    };
    // The global AWS name is left to the SDK, which then picks the bucket's regional endpoint.
    if (!(isAws && host === 's3.amazonaws.com' && !basePath)) config.endpoint = this.endpoint;
    this.client = new S3Client(config);
  }

  /** The object key of a file in restic's layout. Validates the handle so no name can escape the prefix. */
  objectKey(h: Handle): string {
    if (h.type === 'config') {
      if (h.name !== '') throw new BackendError('other', `invalid handle: config must have an empty name, got "${h.name}"`, h);
      return `${this.keyPrefix}config`;
    }
    const dir = TYPE_DIRS[h.type];
    if (dir === undefined) throw new BackendError('other', `invalid handle: unknown file type "${String(h.type)}"`, h);
    if (!ID_RE.test(h.name)) {
      throw new BackendError('other', `invalid handle: ${h.type} name must be 64 lowercase hex characters, got "${h.name}"`, h);
    }
    if (h.type === 'data') return `${this.keyPrefix}data/${h.name.slice(0, 2)}/${h.name}`;
    return `${this.keyPrefix}${dir}/${h.name}`;
  }

  /** What error messages call a key: the full address a user can recognise (never a credential). */
  private where(key: string): string {
    return `s3:${this.endpoint}/${this.bucket}/${key}`;
  }

  /** Wraps an SDK/network error into a BackendError whose message names the object and says what to do. */
  private toError(err: unknown, action: string, key: string | undefined, h?: Handle): BackendError {
    if (err instanceof BackendError) return err;
    const kind = classifyS3Error(err);
    const { code, status } = errInfo(err);
    const what = code ?? (status !== undefined ? `HTTP ${status}` : 'error');
    const where = key === undefined ? `bucket "${this.bucket}" at ${this.endpoint}` : this.where(key);
    let message: string;
    switch (kind) {
      case 'not-found':
        message = code === 'NoSuchBucket'
          ? `bucket "${this.bucket}" does not exist at ${this.endpoint} (while ${action}): check the bucket name in the `
            + 'location, or create the repository first'
          : `not found: ${where} (while ${action}): check the bucket and prefix in the location`;
        break;
      case 'permission':
        message = code === 'RequestTimeTooSkewed'
          ? `${this.endpoint} refused the request because this computer's clock is wrong (while ${action}): `
            + 'set the correct date and time and try again'
          : `access denied by ${this.endpoint} to ${where} (${what}, while ${action}): check the access key and secret, `
            + `and that they may read and write bucket "${this.bucket}"`;
        break;
      case 'no-space':
        message = `no space for ${where} (${what}, while ${action}): the bucket's quota is used up or the object is `
          + 'too large for the server; free space, raise the quota or choose another destination';
        break;
      case 'transient':
        message = `cannot reach ${this.endpoint} or it failed to answer (${what}, while ${action} ${where}): the server `
          + 'may be down or overloaded, or the network is out; try again later';
        break;
      default: {
        const detail = err instanceof Error && err.message && err.message !== 'UnknownError' ? `: ${err.message}` : '';
        message = code === 'InvalidObjectState'
          ? `${where} is archived (e.g. in Glacier) and cannot be read (while ${action}): restore it in the storage `
            + 'console first, and keep repository files out of archive storage classes'
          : `${action} failed at ${where} (${what}${detail})`;
      }
    }
    return new BackendError(kind, message, h, { cause: err });
  }

  private existsError(key: string, h: Handle): BackendError {
    return new BackendError('other', `refusing to overwrite ${this.where(key)}: it already exists `
      + '(repository files are never replaced; if this follows an interrupted save, the file is already stored)', h);
  }

  private shortRead(key: string, h: Handle, offset: number, length: number, size: number): BackendError {
    return new BackendError('other', `short read: ${this.where(key)} has ${size} bytes but bytes ${offset}..${offset + length} `
      + 'were requested: the file is truncated or damaged; run a check of this repository', h);
  }

  /** The object's size and ETag, or undefined if it does not exist. */
  private async head(key: string): Promise<{ size: number; etag?: string } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, etag: unquote(out.ETag) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(): Promise<void> {
    const configHandle: Handle = { type: 'config', name: '' };
    const configKey = this.objectKey(configHandle);
    try {
      await this.ensureBucket();
      if (await this.head(configKey)) {
        throw new BackendError('other', `a repository already exists at ${this.location} (it has a config file): `
          + 'open it instead, or choose another bucket or prefix', configHandle);
      }
    } catch (err) {
      throw this.toError(err, 'creating the repository', configKey);
    }
  }

  private async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.client.send(new CreateBucketCommand({
        Bucket: this.bucket,
        // us-east-1 is the one region that must not be named.
        CreateBucketConfiguration: this.region === 'us-east-1' ? undefined : { LocationConstraint: this.region as BucketLocationConstraint },
      }));
    } catch (err) {
      const { code } = errInfo(err);
      if (code === 'BucketAlreadyOwnedByYou') return;
      if (code === 'BucketAlreadyExists') {
        throw new BackendError('other', `bucket "${this.bucket}" at ${this.endpoint} belongs to someone else `
          + '(bucket names are global on this server): choose another bucket name');
      }
      throw this.toError(err, `creating bucket "${this.bucket}"`, undefined);
    }
  }

  async save(h: Handle, data: Buffer): Promise<void> {
    const key = this.objectKey(h);
    try {
      if (await this.head(key)) throw this.existsError(key, h);
      if (data.length > this.partSize) await this.putMultipart(key, data, h);
      else await this.putSingle(key, data, h);
    } catch (err) {
      throw this.toError(err, `saving ${label(h)}`, key, h);
    }
  }

  /** One PUT with Content-MD5; with a handle, conditional on the key being absent. */
  private async putSingle(key: string, data: Buffer, h?: Handle): Promise<void> {
    const digest = md5(data);
    const conditional = h !== undefined && this.conditionalPuts;
    let out;
    try {
      out = await this.client.send(new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: data,
        ContentLength: data.length,
        ContentMD5: digest.toString('base64'),
        IfNoneMatch: conditional ? '*' : undefined,
      }));
    } catch (err) {
      const { code, status, attempts } = errInfo(err);
      if (conditional && h && (status === 412 || code === 'PreconditionFailed')) {
        // The SDK retries after a lost response: the key may hold our own first attempt.
        if ((attempts ?? 1) > 1) {
          const now = await this.head(key);
          if (now && now.size === data.length && now.etag === digest.toString('hex')) return;
        }
        throw this.existsError(key, h);
      }
      if (conditional && (status === 501 || code === 'NotImplemented')) {
        this.conditionalPuts = false;
        return this.putSingle(key, data, h);
      }
      throw err;
    }
    const etag = unquote(out.ETag);
    if (etag && etagIsContentMd5(out) && /^[0-9a-f]{32}$/.test(etag) && etag !== digest.toString('hex')) {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
      throw new BackendError('transient', `${this.where(key)} was stored with different content than sent (ETag ${etag}, `
        + `expected ${digest.toString('hex')}); it was removed again: try again`, h);
    }
  }

  /** A multipart upload in parts of partSize, then a check of the stored size and multipart ETag. */
  private async putMultipart(key: string, data: Buffer, h: Handle): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: data, IfNoneMatch: this.conditionalPuts ? '*' : undefined },
      partSize: this.partSize,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      const { code, status } = errInfo(err);
      if (status === 412 || code === 'PreconditionFailed') throw this.existsError(key, h);
      if (this.conditionalPuts && (status === 501 || code === 'NotImplemented')) {
        this.conditionalPuts = false;
        return this.putMultipart(key, data, h);
      }
      // A CompleteMultipartUpload whose response was lost is retried by the SDK and then fails
      // (NoSuchUpload) although the object is in place: accept it if it holds exactly our parts.
      const now = await this.head(key).catch(() => undefined);
      if (now && now.size === data.length && now.etag === multipartEtag(data, this.partSize)) return;
      throw err;
    }
    const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    const etag = unquote(out.ETag);
    let problem: string | undefined;
    if (out.ContentLength !== data.length) {
      problem = `${out.ContentLength ?? 'unknown'} bytes instead of ${data.length}`;
    } else if (etag && etagIsContentMd5(out) && /^[0-9a-f]{32}-\d+$/.test(etag)) {
      const want = multipartEtag(data, this.partSize);
      if (etag !== want) problem = `ETag ${etag} instead of ${want}`;
    }
    if (problem) {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
      throw new BackendError('transient', `${this.where(key)} was stored wrongly after a multipart upload (${problem}); `
        + 'it was removed again: try again', h);
    }
  }

  async load(h: Handle, offset = 0, length?: number): Promise<Buffer> {
    const key = this.objectKey(h);
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      throw new BackendError('other', `invalid range for ${this.where(key)}: offset ${offset}, length ${String(length)}`, h);
    }
    try {
      if (length === 0) {
        // S3 has no empty ranges: just check that the file exists and reaches that far.
        const info = await this.head(key);
        if (!info) throw new BackendError('not-found', `not found: ${this.where(key)}: check the bucket and prefix in the location`, h);
        if (offset > info.size) throw this.shortRead(key, h, offset, 0, info.size);
        return Buffer.alloc(0);
      }
      const ranged = offset > 0 || length !== undefined;
      const range = !ranged ? undefined : `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`;
      let out: GetObjectCommandOutput;
      try {
        out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range }));
      } catch (err) {
        const { code, status } = errInfo(err);
        if (status !== 416 && code !== 'InvalidRange') throw err;
        // The range starts at or past the end: only "from the very end to the end" is a valid (empty) read.
        const info = await this.head(key);
        if (!info) throw err;
        if (length === undefined && offset === info.size) return Buffer.alloc(0);
        throw this.shortRead(key, h, offset, length ?? 0, info.size);
      }
      let buf = await this.readBody(out, key, h);
      let size: number;
      if (!ranged) {
        size = buf.length;
      } else if (out.$metadata.httpStatusCode === 206 && out.ContentRange) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(out.ContentRange);
        if (!m || Number(m[1]) !== offset) {
          throw new BackendError('other', `${this.endpoint} answered a request for bytes ${offset}.. of ${this.where(key)} `
            + `with the range "${out.ContentRange}"`, h);
        }
        size = m[3] === '*' ? offset + buf.length : Number(m[3]);
      } else {
        // A server that ignores Range sends the whole object.
        size = buf.length;
        buf = buf.subarray(Math.min(offset, size), length === undefined ? size : Math.min(offset + length, size));
      }
      const want = length ?? Math.max(0, size - offset);
      if (buf.length !== want || offset + want > size) throw this.shortRead(key, h, offset, want, size);
      return buf;
    } catch (err) {
      throw this.toError(err, `reading ${label(h)}`, key, h);
    }
  }

  /**
   * The response body, exactly Content-Length bytes. Read into one buffer of that size when the
   * length is known (packs are tens of MiB: no second copy from concatenating chunks).
   */
  private async readBody(out: GetObjectCommandOutput, key: string, h?: Handle): Promise<Buffer> {
    const body = out.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    const expected = out.ContentLength;
    if (!body) {
      if (expected) throw new BackendError('transient', `${this.endpoint} sent no body for ${this.where(key)}: try again`, h);
      return Buffer.alloc(0);
    }
    const broke = (got: number) => new BackendError('transient', `the download of ${this.where(key)} broke off or overran `
      + `(${got} bytes where ${String(expected)} were announced): try again`, h);
    if (expected === undefined) {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      return Buffer.concat(chunks);
    }
    const buf = Buffer.allocUnsafe(expected);
    let filled = 0;
    for await (const c of body) {
      if (filled + c.byteLength > expected) {
        body.destroy?.();
        throw broke(filled + c.byteLength);
      }
      buf.set(c, filled);
      filled += c.byteLength;
    }
    if (filled !== expected) throw broke(filled);
    return buf;
  }

  async stat(h: Handle): Promise<FileInfo> {
    const key = this.objectKey(h);
    try {
      const info = await this.head(key);
      if (!info) throw new BackendError('not-found', `not found: ${this.where(key)}: check the bucket and prefix in the location`, h);
      return { name: h.name, size: info.size };
    } catch (err) {
      throw this.toError(err, `checking ${label(h)}`, key, h);
    }
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      const key = `${this.keyPrefix}config`;
      let info;
      try {
        info = await this.head(key);
      } catch (err) {
        throw this.toError(err, 'listing', key);
      }
      if (info) yield { name: '', size: info.size };
      return;
    }
    const dir = TYPE_DIRS[type];
    if (dir === undefined) throw new BackendError('other', `cannot list unknown file type "${String(type)}"`);
    const listPrefix = `${this.keyPrefix}${dir}/`;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: listPrefix, ContinuationToken: token }));
      } catch (err) {
        throw this.toError(err, 'listing', listPrefix);
      }
      for (const obj of page.Contents ?? []) {
        const rel = obj.Key?.slice(listPrefix.length) ?? '';
        let name: string;
        if (type === 'data') {
          // Only what load() could reach: data/<first 2 hex of the id>/<id>.
          const m = /^([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(rel);
          if (!m || !m[2].startsWith(m[1])) continue;
          name = m[2];
        } else {
          if (!ID_RE.test(rel)) continue;
          name = rel;
        }
        yield { name, size: obj.Size ?? 0 };
      }
      if (page.IsTruncated && !page.NextContinuationToken) {
        throw new BackendError('other', `${this.endpoint} cut the listing of ${this.where(listPrefix)} short without a `
          + 'continuation token: the server does not implement ListObjectsV2 correctly');
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async remove(h: Handle): Promise<void> {
    const key = this.objectKey(h);
    try {
      // DELETE succeeds for missing keys too; the contract wants not-found.
      if (!(await this.head(key))) {
        throw new BackendError('not-found', `not found: ${this.where(key)}: check the bucket and prefix in the location`, h);
      }
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      throw this.toError(err, `removing ${label(h)}`, key, h);
    }
  }

  async hasConfig(): Promise<boolean> {
    const key = `${this.keyPrefix}config`;
    try {
      // A missing bucket answers 404 as well (HEAD has no body to tell them apart): no repository either way.
      return (await this.head(key)) !== undefined;
    } catch (err) {
      throw this.toError(err, 'checking for a repository', key);
    }
  }

  async writeAppFile(name: string, data: Buffer): Promise<void> {
    checkAppFileName(name);
    const key = `${this.keyPrefix}app/${name}`;
    try {
      // A PUT replaces the object atomically: readers see the old or the new version, never a mix.
      await this.putSingle(key, data);
    } catch (err) {
      throw this.toError(err, `writing app/${name}`, key);
    }
  }

  async readAppFile(name: string): Promise<Buffer | undefined> {
    checkAppFileName(name);
    const key = `${this.keyPrefix}app/${name}`;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await this.readBody(out, key);
    } catch (err) {
      // A missing bucket is a wrong location, not a missing file.
      if (isNotFound(err) && errInfo(err).code !== 'NoSuchBucket') return undefined;
      throw this.toError(err, `reading app/${name}`, key);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
