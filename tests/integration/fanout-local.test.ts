// Fan-out to several local destinations: one read of the source, independent repositories that each
// pass restic's check and restore identically; a destination that is missing or breaks does not stop
// the others; a destination added later catches up; a restic-made repository with its own chunker
// polynomial gets a run of its own.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBackupJob, type JobDestination } from '../../electron/engine/jobs/backup-job';
import { Repository } from '../../electron/engine/repo';
import { LocalBackend } from '../../electron/engine/storage';
import type { Backend } from '../../electron/engine/storage';
import { FaultyBackend } from '../../electron/engine/storage/faulty';
import { diffManifests, manifest } from '../helpers/manifest';
import { resticOk, tempDir, TEST_KDF } from '../helpers/restic';
import { makeSourceTree, pseudoRandom } from '../helpers/source-tree';
import { needTool } from '../helpers/tools';

const skip = needTool('restic');
const PW = 'fan out';

function dest(id: string, backend: () => Backend): JobDestination {
  return {
    id,
    name: id,
    open: () => Repository.open(backend(), PW),
    close: (r) => r.backend.close(),
  };
}

function resticRestoreMatches(repoDir: string, src: string, dir: string, label: string): void {
  resticOk(repoDir, PW, ['check', '--read-data']);
  const target = join(dir, `restore-${label}`);
  resticOk(repoDir, PW, ['restore', 'latest', '--target', target]);
  assert.deepEqual(diffManifests(manifest(src), manifest(join(target, src))), [], label);
}

test('one run writes every destination; each passes restic check and restores identically', { skip, timeout: 180_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  makeSourceTree(src, { largeSize: 3 * 1024 * 1024 });
  const first = await Repository.init(new LocalBackend(join(dir, 'a')), PW, { kdf: TEST_KDF });
  const poly = first.config.chunkerPolynomial;
  await Repository.init(new LocalBackend(join(dir, 'b')), PW, { kdf: TEST_KDF, chunkerPolynomial: poly });
  await Repository.init(new LocalBackend(join(dir, 'c')), PW, { kdf: TEST_KDF, chunkerPolynomial: poly });
  const dests = ['a', 'b', 'c'].map((n) => dest(n, () => new LocalBackend(join(dir, n))));

  let bytesTotalSeen = 0;
  const r = await runBackupJob(dests, { paths: [src], onProgress: (p) => (bytesTotalSeen = Math.max(bytesTotalSeen, p.bytesDone)) });
  assert.deepEqual(r.destinations.map((d) => d.status), ['ok', 'ok', 'ok']);
  // The source is read once for all three.
  assert.equal(r.source?.bytesRead, bytesTotalSeen);
  const trees = new Set<string>();
  for (const n of ['a', 'b', 'c']) {
    const repo = await Repository.open(new LocalBackend(join(dir, n)), PW);
    const snaps = await repo.listSnapshots();
    assert.equal(snaps.length, 1, n);
    trees.add(snaps[0].tree);
    resticRestoreMatches(join(dir, n), src, dir, n);
  }
  assert.equal(trees.size, 1, 'same tree ID on every destination');

  // Independent copies: each destination has its own key and master key, so no pack is shared.
  const ka = resticOk(join(dir, 'a'), PW, ['cat', 'config', '--json']);
  const kb = resticOk(join(dir, 'b'), PW, ['cat', 'config', '--json']);
  assert.notEqual(JSON.parse(ka).id, JSON.parse(kb).id);
});

test('a missing destination waits (pending), a full one fails with a clear error, the others complete', { skip, timeout: 180_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  makeSourceTree(src, { largeSize: 2 * 1024 * 1024 });
  const a = await Repository.init(new LocalBackend(join(dir, 'a')), PW, { kdf: TEST_KDF });
  const poly = a.config.chunkerPolynomial;
  await Repository.init(new LocalBackend(join(dir, 'full')), PW, { kdf: TEST_KDF, chunkerPolynomial: poly });
  // A destination whose drive is unplugged: its folder is gone.
  const missing = dest('usb', () => new LocalBackend(join(dir, 'unplugged')));
  // A destination that runs out of space after ~100 KiB.
  class FullBackend extends LocalBackend {
    written = 0;
    override async save(h: Parameters<LocalBackend['save']>[0], data: Buffer): Promise<void> {
      if (h.type === 'data' && this.written + data.length > 100 * 1024) {
        const { BackendError } = await import('../../electron/engine/storage');
        throw new BackendError('no-space', `no space left on ${this.location}: free space on the destination or choose another one`, h);
      }
      this.written += data.length;
      return super.save(h, data);
    }
  }
  const r = await runBackupJob(
    [dest('a', () => new LocalBackend(join(dir, 'a'))), missing, dest('full', () => new FullBackend(join(dir, 'full')))],
    { paths: [src], retries: 0 },
  );
  const by = Object.fromEntries(r.destinations.map((d) => [d.destinationId, d]));
  assert.equal(by.a.status, 'ok');
  assert.equal(by.usb.status, 'pending', JSON.stringify(by.usb));
  assert.match(by.usb.error?.message ?? '', /unplugged/);
  assert.equal(by.full.status, 'failed');
  assert.equal(by.full.error?.code, 'NO_SPACE');
  assert.match(by.full.error?.message ?? '', /no space/);
  resticRestoreMatches(join(dir, 'a'), src, dir, 'a');
  // The full destination holds no snapshot and is still a valid repository.
  resticOk(join(dir, 'full'), PW, ['check']);
  assert.equal(JSON.parse(resticOk(join(dir, 'full'), PW, ['snapshots', '--json'])).length, 0);
});

test('a transient failure is retried after a back-off; a destination added later catches up alone', { skip, timeout: 180_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  makeSourceTree(src, { largeSize: 1024 * 1024 });
  const a = await Repository.init(new LocalBackend(join(dir, 'a')), PW, { kdf: TEST_KDF });
  const poly = a.config.chunkerPolynomial;
  await Repository.init(new LocalBackend(join(dir, 'b')), PW, { kdf: TEST_KDF, chunkerPolynomial: poly });
  let opens = 0;
  const flaky: JobDestination = {
    id: 'b',
    name: 'b',
    open: async () => {
      opens++;
      // The first attempt finds the NAS unreachable (network down: transient errors).
      if (opens === 1) {
        const down = new FaultyBackend(new LocalBackend(join(dir, 'b')));
        down.unplug();
        return Repository.open(down, PW);
      }
      return Repository.open(new LocalBackend(join(dir, 'b')), PW);
    },
  };
  const sleeps: number[] = [];
  const r = await runBackupJob([dest('a', () => new LocalBackend(join(dir, 'a'))), flaky], {
    paths: [src],
    sleep: async (ms) => void sleeps.push(ms),
  });
  assert.deepEqual(r.destinations.map((d) => [d.destinationId, d.status, d.attempts]), [['a', 'ok', 1], ['b', 'ok', 2]]);
  assert.equal(sleeps.length, 1);
  resticRestoreMatches(join(dir, 'b'), src, dir, 'b');

  // A third destination joins: it gets everything, the others only a small snapshot.
  await Repository.init(new LocalBackend(join(dir, 'c')), PW, { kdf: TEST_KDF, chunkerPolynomial: poly });
  writeFileSync(join(src, 'new.txt'), pseudoRandom('new', 5000));
  const r2 = await runBackupJob(['a', 'b', 'c'].map((n) => dest(n, () => new LocalBackend(join(dir, n)))), { paths: [src] });
  assert.deepEqual(r2.destinations.map((d) => d.status), ['ok', 'ok', 'ok']);
  const [da, , dc] = r2.destinations;
  assert.ok(dc.bytesAdded > 1024 * 1024, `new destination got ${dc.bytesAdded} bytes`);
  assert.ok(da.bytesAdded < 64 * 1024, `existing destination added ${da.bytesAdded} bytes`);
  resticRestoreMatches(join(dir, 'c'), src, dir, 'c');
  resticRestoreMatches(join(dir, 'a'), src, dir, 'a2');
});

test('a restic repository with its own chunker polynomial gets its own run', { skip, timeout: 180_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  makeSourceTree(src, { largeSize: 1024 * 1024 });
  await Repository.init(new LocalBackend(join(dir, 'mamori')), PW, { kdf: TEST_KDF });
  resticOk(join(dir, 'restic'), PW, ['init', '--repository-version', '2']);
  const r = await runBackupJob(['mamori', 'restic'].map((n) => dest(n, () => new LocalBackend(join(dir, n)))), { paths: [src] });
  assert.deepEqual(r.destinations.map((d) => d.status), ['ok', 'ok']);
  resticRestoreMatches(join(dir, 'restic'), src, dir, 'restic');
  resticRestoreMatches(join(dir, 'mamori'), src, dir, 'mamori');
  rmSync(join(dir, 'restore-restic'), { recursive: true, force: true });
});
