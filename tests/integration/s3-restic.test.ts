// S3 interop with restic 0.14 through a real Ceph radosgw: a repository Mamori writes into a bucket
// passes `restic check --read-data` through restic's own s3 backend and `restic restore` reproduces
// the source exactly; a repository restic makes in S3 is opened and restored exactly by Mamori.
// Also measures S3Backend throughput for a 64 MiB pack against the local server (reported, not asserted).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { backup, Repository, restoreSnapshot } from '../../electron/engine/index';
import { S3Backend } from '../../electron/engine/storage/s3';
import type { S3BackendOptions } from '../../electron/engine/storage/s3';
import { diffManifests, manifest } from '../helpers/manifest';
import { tempDir, TEST_KDF } from '../helpers/restic';
import { startS3Server } from '../helpers/s3-server';
import { makeSourceTree } from '../helpers/source-tree';
import { needTool } from '../helpers/tools';

const PW = 'mamori s3 interop';
const MiB = 1024 * 1024;

const resticSkip = needTool('restic');
const server = resticSkip ? { skip: resticSkip } : await startS3Server();
const skip = 'skip' in server ? server.skip : undefined;
const s3 = 'skip' in server ? undefined : server;
after(async () => {
  await s3?.stop();
});

function backendOptions(): S3BackendOptions {
  if (!s3) throw new Error('no S3 server');
  return {
    endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey,
    bucket: `mamori-${randomBytes(6).toString('hex')}`, prefix: 'backups/laptop',
  };
}

/** restic against an S3 repository, its keys given the way restic users give them (environment). */
function resticS3(repo: string, args: string[]): { status: number; out: string } {
  if (!s3) throw new Error('no S3 server');
  const r = spawnSync('restic', ['--no-cache', ...args], {
    encoding: 'utf8',
    maxBuffer: 256 * MiB,
    env: {
      ...process.env,
      RESTIC_REPOSITORY: repo,
      RESTIC_PASSWORD: PW,
      RESTIC_PROGRESS_FPS: '0.0001',
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_DEFAULT_REGION: s3.region,
      NO_PROXY: '127.0.0.1,localhost',
    },
  });
  return { status: r.status ?? -1, out: `${r.stdout}\n${r.stderr}` };
}

function resticS3Ok(repo: string, args: string[]): string {
  const r = resticS3(repo, args);
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')} failed (${r.status}):\n${r.out}`);
  return r.out;
}

test('Mamori backs up into S3; restic check --read-data passes and restic restores it exactly', { skip, timeout: 300_000 }, async (t) => {
  const { dir, cleanup } = tempDir('mamori-s3-');
  t.after(cleanup);
  const src = join(dir, 'src');
  makeSourceTree(src);
  const expected = manifest(src);

  const backend = new S3Backend(backendOptions());
  t.after(() => backend.close());
  // Small packs so the repository has several, spread over data/XX prefixes.
  const repo = await Repository.init(backend, PW, { kdf: TEST_KDF, packSize: 4 * MiB });
  const result = await backup(repo, { paths: [src] });
  assert.deepEqual(result.errors, []);
  assert.ok(result.filesNew >= 70);

  // restic addresses the same objects through its own s3 backend and location syntax.
  assert.equal(backend.location, `s3:${s3!.endpoint}/${backend.bucket}/backups/laptop`);
  const check = resticS3(backend.location, ['check', '--read-data']);
  assert.equal(check.status, 0, check.out);
  assert.match(check.out, /no errors were found/);

  const out = join(dir, 'restic-restored');
  resticS3Ok(backend.location, ['restore', 'latest', '--target', out]);
  assert.deepEqual(diffManifests(expected, manifest(join(out, src))), []);
});

test('restic backs up into S3; Mamori opens the repository and restores it exactly', { skip, timeout: 300_000 }, async (t) => {
  const { dir, cleanup } = tempDir('mamori-s3-');
  t.after(cleanup);
  const src = join(dir, 'src');
  makeSourceTree(src, { largeSize: 9 * MiB });
  const expected = manifest(src);

  const backend = new S3Backend(backendOptions());
  t.after(() => backend.close());
  // restic creates the bucket itself here.
  resticS3Ok(backend.location, ['init', '--repository-version', '2']);
  resticS3Ok(backend.location, ['backup', src]);

  const repo = await Repository.open(backend, PW);
  assert.deepEqual(await repo.loadIndex(), []);
  const sn = await repo.resolveSnapshot('latest');
  const target = join(dir, 'mamori-restored');
  const restored = await restoreSnapshot(repo, sn, { target });
  assert.deepEqual(restored.errors, []);
  assert.deepEqual(diffManifests(expected, manifest(join(target, src))), []);
});

test('throughput of one 64 MiB pack through S3Backend (local radosgw)', { skip, timeout: 300_000 }, async (t) => {
  const backend = new S3Backend(backendOptions());
  t.after(() => backend.close());
  await backend.create();
  const rate = (ms: number) => `${(64 / (ms / 1000)).toFixed(0)} MiB/s (${ms.toFixed(0)} ms)`;
  // Twice: the first round also pays for the server's cold start (pools, connections).
  for (const round of ['first', 'second']) {
    const data = randomBytes(64 * MiB);
    const h = { type: 'data' as const, name: randomBytes(32).toString('hex') };
    let started = process.hrtime.bigint();
    await backend.save(h, data);
    const upMs = Number(process.hrtime.bigint() - started) / 1e6;
    started = process.hrtime.bigint();
    const back = await backend.load(h);
    const downMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(back.equals(data));
    t.diagnostic(`${round} 64 MiB pack: upload (HEAD, 4 x 16 MiB parts, HEAD) ${rate(upMs)}; download (one GET) ${rate(downMs)}`);
  }
});
