// S3Backend against a real Ceph radosgw (tests/helpers/s3-server.ts): the shared backend suite, plus
// what only S3 shows: restic's key layout under a prefix, multipart uploads and ranged reads across
// part boundaries, conditional puts racing, listings longer than one page, prefix isolation, wrong
// keys, a missing bucket, a stopped server and a server that never answers. Error classification
// of codes the test server cannot be made to produce is checked on error-shaped values.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '../../../tests/helpers/s3-server';
import { BackendError } from './backend';
import type { Backend, Handle } from './backend';
import { backendSuite, collect, randomId } from './backend-suite';
import { parseLocation } from './location';
import { S3Backend, classifyS3Error, s3OptionsFromLocation } from './s3';
import type { S3BackendOptions } from './s3';

const MiB = 1024 * 1024;

const server = await startS3Server();
const skip = 'skip' in server ? server.skip : undefined;
const s3 = 'skip' in server ? undefined : server;
after(async () => {
  await s3?.stop();
});

function bucketName(): string {
  return `mamori-${randomBytes(6).toString('hex')}`;
}

function opts(over: Partial<S3BackendOptions> = {}): S3BackendOptions {
  if (!s3) throw new Error('no S3 server');
  return {
    endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey,
    bucket: bucketName(), prefix: `repo-${randomBytes(4).toString('hex')}`, ...over,
  };
}

/** A plain SDK client to look at what the backend stored, key by key. */
function rawClient(): S3Client {
  if (!s3) throw new Error('no S3 server');
  return new S3Client({
    endpoint: s3.endpoint, region: s3.region, forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function rawKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key ?? '');
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

async function created(over: Partial<S3BackendOptions> = {}): Promise<S3Backend> {
  const b = new S3Backend(opts(over));
  await b.create();
  return b;
}

async function rejectsWith(p: Promise<unknown>, kind: BackendError['kind'], check?: (e: BackendError) => void): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BackendError, `expected a BackendError, got ${String(err)}`);
    assert.equal(err.kind, kind, `expected kind ${kind}: ${err.message}`);
    check?.(err);
    return true;
  });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

if (skip) {
  test('backend suite: s3', { skip }, () => {});
} else {
  // A new bucket per test, so create() also makes buckets every time.
  backendSuite('s3', async () => ({ backend: new S3Backend(opts()), cleanup: async () => {} }));
}

describe('S3Backend on Ceph radosgw', { skip }, () => {
  test('location is restic\'s s3: syntax without keys, and round-trips through parseLocation', async () => {
    const o = opts({ prefix: '/a/b/' });
    const b = new S3Backend(o);
    assert.equal(b.location, `s3:${o.endpoint}/${o.bucket}/a/b`);
    assert.ok(!b.location.includes(o.secretAccessKey) && !b.location.includes(o.accessKeyId));
    const loc = parseLocation(b.location);
    assert.equal(loc.kind, 's3');
    if (loc.kind !== 's3') return;
    const again = new S3Backend(s3OptionsFromLocation(loc, { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey }));
    assert.equal(again.location, b.location);
    assert.equal(new S3Backend({ ...o, prefix: '' }).location, `s3:${o.endpoint}/${o.bucket}`);
    await b.close();
    await again.close();
    assert.throws(() => new S3Backend({ ...o, endpoint: 'http://user:pw@127.0.0.1:1' }), (e: unknown) =>
      e instanceof BackendError && !e.message.includes('pw'));
  });

  test('files land in restic\'s layout under the prefix; foreign objects are skipped by list', async () => {
    const b = await created();
    const raw = rawClient();
    try {
      const ids = { key: randomId(), snapshot: randomId(), index: randomId(), lock: randomId(), data: randomId() };
      for (const [type, name] of Object.entries(ids)) await b.save({ type: type as Handle['type'], name }, Buffer.from(type));
      await b.save({ type: 'config', name: '' }, Buffer.from('cfg'));
      await b.writeAppFile('mamori-destination.json', Buffer.from('{}'));
      const p = b.prefix;
      assert.deepEqual(await rawKeys(raw, b.bucket), [
        `${p}/app/mamori-destination.json`,
        `${p}/config`,
        `${p}/data/${ids.data.slice(0, 2)}/${ids.data}`,
        `${p}/index/${ids.index}`,
        `${p}/keys/${ids.key}`,
        `${p}/locks/${ids.lock}`,
        `${p}/snapshots/${ids.snapshot}`,
      ].sort());

      const other = randomId();
      const wrongDir = other.startsWith('00') ? '01' : '00';
      for (const key of [
        `${p}/data/${wrongDir}/${other}`, `${p}/data/${other}`, `${p}/data/${other.slice(0, 2)}/${other}-tmp`,
        `${p}/locks/${other}.tmp`, `${p}/locks/sub/${other}`, `${p}/locks/README`, `${p}/keys/${other.toUpperCase()}`,
      ]) {
        await raw.send(new PutObjectCommand({ Bucket: b.bucket, Key: key, Body: Buffer.from('foreign') }));
      }
      assert.deepEqual(await collect(b.list('data')), [{ name: ids.data, size: 4 }]);
      assert.deepEqual(await collect(b.list('lock')), [{ name: ids.lock, size: 4 }]);
      assert.deepEqual(await collect(b.list('key')), [{ name: ids.key, size: 3 }]);
    } finally {
      raw.destroy();
      await b.close();
    }
  });

  test('a 40 MiB file goes up as a multipart upload and reads back exactly, also across part boundaries', async () => {
    const b = await created();
    const raw = rawClient();
    try {
      const h: Handle = { type: 'data', name: randomId() };
      const data = randomBytes(40 * MiB + 12345);
      await b.save(h, data);
      const page = await raw.send(new ListObjectsV2Command({ Bucket: b.bucket, Prefix: `${b.prefix}/data/` }));
      // S3 marks multipart objects with "-<parts>" in the ETag: 16 MiB parts make three.
      assert.match(page.Contents?.[0]?.ETag ?? '', /-3"?$/);
      assert.deepEqual(await b.stat(h), { name: h.name, size: data.length });
      assert.ok((await b.load(h)).equals(data));
      const P = 16 * MiB;
      for (const [off, len] of [[P - 10, 20], [P - 1, 2], [P, 1], [P - 3000, P + 6000], [0, 2 * P + 1], [2 * P - 1, undefined], [data.length - 1, 1]] as const) {
        const got = await b.load(h, off, len);
        const want = data.subarray(off, len === undefined ? data.length : off + len);
        assert.ok(got.equals(want), `offset ${off} length ${len}`);
      }
      await rejectsWith(b.load(h, data.length - 10, 11), 'other', (e) => assert.match(e.message, /short read/));
      // No overwrite of a large file either, and the first content stays.
      await assert.rejects(b.save(h, randomBytes(40 * MiB)), BackendError);
      assert.ok((await b.load(h, P, 1000)).equals(data.subarray(P, P + 1000)));
    } finally {
      raw.destroy();
      await b.close();
    }
  });

  test('two concurrent saves of one name: exactly one wins, the other is refused', async () => {
    const b = await created();
    try {
      for (let i = 0; i < 5; i++) {
        const h: Handle = { type: i === 0 ? 'config' : 'snapshot', name: i === 0 ? '' : randomId() };
        const results = await Promise.allSettled([b.save(h, Buffer.from(`one ${i}`)), b.save(h, Buffer.from(`two ${i}`))]);
        const won = results.findIndex((r) => r.status === 'fulfilled');
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
        const lost = results[1 - won];
        assert.ok(lost.status === 'rejected' && lost.reason instanceof BackendError && /refusing to overwrite/.test(lost.reason.message));
        assert.deepEqual(await b.load(h), Buffer.from(`${won === 0 ? 'one' : 'two'} ${i}`));
      }
    } finally {
      await b.close();
    }
  });

  test('listing more than 1000 files pages through every one', { timeout: 300_000 }, async () => {
    const b = await created();
    const raw = rawClient();
    try {
      const names = Array.from({ length: 1100 }, () => randomId()).sort();
      await pool(names, 64, (name) => b.save({ type: 'lock', name }, Buffer.from(name.slice(0, 7))));
      // The server really pages at 1000 keys, so the listing needs its continuation token.
      const first = await raw.send(new ListObjectsV2Command({ Bucket: b.bucket, Prefix: `${b.prefix}/locks/` }));
      assert.equal(first.IsTruncated, true);
      assert.equal(first.Contents?.length, 1000);
      const listed = await collect(b.list('lock'));
      assert.deepEqual(listed, names.map((name) => ({ name, size: 7 })));
    } finally {
      raw.destroy();
      await b.close();
    }
  });

  test('two prefixes in one bucket (and the bucket root) do not see each other', async () => {
    const bucket = bucketName();
    const a = await created({ bucket, prefix: 'team/a' });
    const a2 = await created({ bucket, prefix: 'team/a2' });
    const nested = await created({ bucket, prefix: 'team/a/inner' });
    const root = await created({ bucket, prefix: '' });
    const all = [a, a2, nested, root];
    try {
      const ids = all.map(() => randomId());
      await Promise.all(all.map((b, i) => b.save({ type: 'data', name: ids[i] }, Buffer.from(`repo ${i}`))));
      await Promise.all(all.map((b, i) => b.save({ type: 'lock', name: ids[i] }, Buffer.from(`lock ${i}`))));
      await a.save({ type: 'config', name: '' }, Buffer.from('a config'));
      await a.writeAppFile('marker.json', Buffer.from('a'));
      for (const [i, b] of all.entries()) {
        assert.deepEqual((await collect(b.list('data'))).map((f) => f.name), [ids[i]], b.location);
        assert.deepEqual((await collect(b.list('lock'))).map((f) => f.name), [ids[i]], b.location);
        assert.equal(await b.hasConfig(), b === a, b.location);
        assert.equal((await b.readAppFile('marker.json'))?.toString(), b === a ? 'a' : undefined, b.location);
        for (const [j, other] of ids.entries()) if (j !== i) await rejectsWith(b.stat({ type: 'data', name: other }), 'not-found');
      }
      // A repository inside another's prefix can still be created and holds its own config.
      await nested.save({ type: 'config', name: '' }, Buffer.from('inner config'));
      assert.deepEqual(await a.load({ type: 'config', name: '' }), Buffer.from('a config'));
      await assert.rejects(a.create(), /already exists/);
    } finally {
      await Promise.all(all.map((b) => b.close()));
    }
  });

  test('wrong secret or unknown access key: kind permission, naming endpoint and bucket but no secret', async () => {
    const good = await created();
    try {
      await good.save({ type: 'config', name: '' }, Buffer.from('cfg'));
      const h: Handle = { type: 'snapshot', name: randomId() };
      await good.save(h, Buffer.from('snap'));
      const secret = 'Wrong-Secret-Key-0123456789abcdefghijklmn';
      for (const creds of [{ secretAccessKey: secret }, { accessKeyId: 'NOSUCHACCESSKEY00001', secretAccessKey: secret }]) {
        const bad = new S3Backend({ ...opts({ bucket: good.bucket, prefix: good.prefix }), ...creds });
        const check = (e: BackendError) => {
          assert.ok(e.message.includes(s3!.endpoint), e.message);
          assert.ok(e.message.includes(good.bucket), e.message);
          assert.match(e.message, /check the access key and secret/);
          assert.ok(!e.message.includes(secret) && !e.message.includes(s3!.secretAccessKey), e.message);
        };
        try {
          await rejectsWith(bad.save({ type: 'data', name: randomId() }, Buffer.from('x')), 'permission', check);
          await rejectsWith(bad.load(h), 'permission', check);
          await rejectsWith(bad.load(h, 1, 2), 'permission', check);
          await rejectsWith(bad.stat(h), 'permission', check);
          await rejectsWith(bad.hasConfig(), 'permission', check);
          await rejectsWith(collect(bad.list('snapshot')), 'permission', check);
          await rejectsWith(bad.remove(h), 'permission', check);
          await rejectsWith(bad.create(), 'permission', check);
        } finally {
          await bad.close();
        }
      }
      assert.deepEqual(await good.load(h), Buffer.from('snap'));
    } finally {
      await good.close();
    }
  });

  test('a bucket that does not exist: not-found saying so, and no repository', async () => {
    const b = new S3Backend(opts());
    try {
      assert.equal(await b.hasConfig(), false);
      const bucketMsg = (e: BackendError) => assert.match(e.message, new RegExp(`bucket "${b.bucket}" does not exist`));
      await rejectsWith(collect(b.list('data')), 'not-found', bucketMsg);
      await rejectsWith(b.load({ type: 'config', name: '' }), 'not-found', bucketMsg);
      await rejectsWith(b.readAppFile('marker.json'), 'not-found', bucketMsg);
      await rejectsWith(b.save({ type: 'lock', name: randomId() }, Buffer.from('x')), 'not-found');
    } finally {
      await b.close();
    }
  });

  test('a stopped server: every operation fails with kind transient, within seconds', { timeout: 120_000 }, async (t) => {
    const own = await startS3Server();
    if ('skip' in own) return;
    let b: Backend | undefined;
    try {
      b = new S3Backend({ ...opts(), endpoint: own.endpoint });
      await b.create();
      const h: Handle = { type: 'index', name: randomId() };
      await b.save(h, Buffer.from('index'));
      await own.stop();
      const started = Date.now();
      const check = (e: BackendError) => assert.match(e.message, /cannot reach http:\/\/127\.0\.0\.1:\d+.*try again later/);
      await rejectsWith(b.load(h), 'transient', check);
      await rejectsWith(b.save({ type: 'data', name: randomId() }, randomBytes(1000)), 'transient', check);
      await rejectsWith(collect(b.list('data')), 'transient', check);
      await rejectsWith(b.hasConfig(), 'transient', check);
      await rejectsWith(b.writeAppFile('marker.json', Buffer.from('x')), 'transient', check);
      t.diagnostic(`5 operations against the stopped server failed in ${Date.now() - started} ms (3 attempts each)`);
    } finally {
      await b?.close();
      await own.stop();
    }
  });

  test('a server that accepts connections but never answers: transient after the socket timeout', async () => {
    const sockets = new Set<Socket>();
    const hole = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.resume();
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const addr = hole.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const b = new S3Backend({ ...opts(), endpoint: `http://127.0.0.1:${port}`, socketTimeoutMs: 300, maxAttempts: 2 });
    try {
      await rejectsWith(b.hasConfig(), 'transient');
      await rejectsWith(b.load({ type: 'key', name: randomId() }, 0, 10), 'transient');
    } finally {
      await b.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }
  });
});

describe('classifyS3Error', () => {
  const svc = (name: string, status: number) => Object.assign(new Error('UnknownError'), { name, $metadata: { httpStatusCode: status } });
  const net = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
  test('service errors by code first, then by HTTP status', () => {
    const cases: [unknown, BackendError['kind']][] = [
      [svc('NoSuchKey', 404), 'not-found'],
      [svc('NoSuchBucket', 404), 'not-found'],
      [svc('NotFound', 404), 'not-found'],
      [svc('Unknown', 404), 'not-found'],
      [svc('AccessDenied', 403), 'permission'],
      [svc('InvalidAccessKeyId', 403), 'permission'],
      [svc('SignatureDoesNotMatch', 403), 'permission'],
      [svc('Unknown', 403), 'permission'],
      [svc('QuotaExceeded', 403), 'no-space'],
      [svc('EntityTooLarge', 400), 'no-space'],
      [svc('Unknown', 507), 'no-space'],
      [svc('SlowDown', 503), 'transient'],
      [svc('ServiceUnavailable', 503), 'transient'],
      [svc('InternalError', 500), 'transient'],
      [svc('Unknown', 502), 'transient'],
      [svc('RequestTimeout', 400), 'transient'],
      [svc('TooManyRequests', 429), 'transient'],
      [svc('InvalidObjectState', 403), 'other'],
      [svc('InvalidBucketName', 400), 'other'],
      [svc('PreconditionFailed', 412), 'other'],
      [new Error('something else'), 'other'],
      ['not even an error', 'other'],
    ];
    for (const [err, kind] of cases) assert.equal(classifyS3Error(err), kind, JSON.stringify(err, Object.getOwnPropertyNames(err ?? {})));
  });

  test('network failures and timeouts are transient, also inside an AggregateError', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']) {
      assert.equal(classifyS3Error(net(code)), 'transient', code);
    }
    assert.equal(classifyS3Error(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), 'transient');
    assert.equal(classifyS3Error(new AggregateError([net('ECONNREFUSED'), net('ECONNREFUSED')], '')), 'transient');
    assert.equal(classifyS3Error(new BackendError('no-space', 'x')), 'no-space');
  });
});
