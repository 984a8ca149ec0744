// Mamori through restic's REST protocol, judged by restic 0.14:
// - two backups (the second incremental) into an APPEND-ONLY `rclone serve restic`, under the same
//   shared lock a CLI run takes. Nothing but lock files is ever deleted (append-only servers allow
//   exactly that), the locks are gone afterwards, and restic reading through the same server passes
//   `check --read-data` and restores the second snapshot byte-identically; Mamori then reads back a
//   snapshot restic added there.
// - a backup through RcloneBackend (`rclone serve restic --stdio`) into rclone's :local: remote, after
//   which restic checks that folder directly, and no rclone process is left.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { backup } from '../../electron/engine/index';
import { Repository } from '../../electron/engine/repo';
import type { Handle } from '../../electron/engine/storage';
import { RcloneBackend } from '../../electron/engine/storage/rclone';
import { RestBackend } from '../../electron/engine/storage/rest';
import { diffManifests, manifest } from '../helpers/manifest';
import { startRcloneRestServer } from '../helpers/rclone';
import { restic, resticOk, tempDir, TEST_KDF } from '../helpers/restic';
import { makeSourceTree } from '../helpers/source-tree';
import { needTool } from '../helpers/tools';

const skip = needTool('restic') ?? needTool('rclone');
const PW = 'mamori rest test password';

/** A RestBackend that notes every deletion it is asked for. */
class RecordingRest extends RestBackend {
  readonly removed: Handle[] = [];
  override async remove(h: Handle): Promise<void> {
    this.removed.push(h);
    await super.remove(h);
  }
}

test('Mamori backs up twice into an append-only REST server; restic checks and restores it through the server', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const server = await startRcloneRestServer({ root: join(dir, 'server'), appendOnly: true });
  t.after(() => server.stop());
  const src = join(dir, 'src');
  makeSourceTree(src);

  const b1 = new RecordingRest({ url: server.url });
  const repo1 = await Repository.init(b1, PW, { kdf: TEST_KDF, packSize: 4 * 1024 * 1024 });
  const first = await repo1.withLock(false, () => backup(repo1, { paths: [src] }));
  assert.deepEqual(first.errors, []);
  assert.ok(first.filesNew >= 70);
  assert.ok(b1.removed.length >= 1, 'the lock was never released');
  assert.deepEqual(b1.removed.filter((h) => h.type !== 'lock'), [], 'a backup asked to delete repository files');
  assert.deepEqual(await collectNames(b1, 'lock'), [], 'lock files left behind');
  await b1.close();

  appendFileSync(join(src, 'growing.log'), 'line 2\n');
  mkdirSync(join(src, 'new-folder'));
  writeFileSync(join(src, 'new-folder', 'new.txt'), 'new\n');
  const expected = manifest(src);

  // A new process opening the repository, as the scheduler would.
  const b2 = new RecordingRest({ url: server.url });
  const repo2 = await Repository.open(b2, PW);
  const second = await repo2.withLock(false, () => backup(repo2, { paths: [src] }));
  assert.deepEqual(second.errors, []);
  assert.equal(second.snapshot.parent, first.snapshotId);
  assert.equal(second.filesNew, 1);
  assert.equal(second.filesChanged, 1);
  assert.ok(second.filesUnmodified >= 70);
  assert.deepEqual(b2.removed.filter((h) => h.type !== 'lock'), []);
  assert.deepEqual(await collectNames(b2, 'lock'), []);
  // The server really is append-only: the test would prove nothing otherwise.
  assert.equal(await b2.probeAppendOnly(), true);

  const repoUrl = `rest:${server.url}`;
  const check = restic(repoUrl, PW, ['check', '--read-data']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const out = join(dir, 'restored');
  resticOk(repoUrl, PW, ['restore', second.snapshotId, '--target', out]);
  assert.deepEqual(diffManifests(expected, manifest(join(out, src))), []);

  // And the other way round: a snapshot restic adds through the server is one Mamori reads.
  resticOk(repoUrl, PW, ['backup', '--host', 'restic-host', join(src, 'docs')]);
  const snaps = await repo2.listSnapshots();
  assert.equal(snaps.length, 3);
  assert.ok(snaps.some((s) => s.hostname === 'restic-host'));
  await b2.close();
});

test('Mamori backs up through rclone serve restic --stdio into :local:; restic checks the folder', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  makeSourceTree(src);
  const expected = manifest(src);
  const repoDir = join(dir, 'rclone-repo');

  const b = new RcloneBackend({ remote: `:local:${repoDir}` });
  let pid: number | undefined;
  try {
    const repo = await Repository.init(b, PW, { kdf: TEST_KDF, packSize: 4 * 1024 * 1024 });
    const result = await repo.withLock(false, () => backup(repo, { paths: [src] }));
    assert.deepEqual(result.errors, []);
    pid = b.pid;
    assert.ok(pid !== undefined);
  } finally {
    await b.close();
  }
  assert.throws(() => process.kill(pid as number, 0), { code: 'ESRCH' }, 'rclone still runs after close()');

  const check = restic(repoDir, PW, ['check', '--read-data']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const out = join(dir, 'restored');
  resticOk(repoDir, PW, ['restore', 'latest', '--target', out]);
  assert.deepEqual(diffManifests(expected, manifest(join(out, src))), []);
});

async function collectNames(b: RestBackend, type: 'lock'): Promise<string[]> {
  const names: string[] = [];
  for await (const f of b.list(type)) names.push(f.name);
  return names;
}
