// kill -9 in the middle of a backup must leave a repository that restic check accepts, with every
// earlier snapshot intact, and the next backup must complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { backup } from '../../electron/engine/backup';
import { Repository } from '../../electron/engine/repo';
import { restoreSnapshot } from '../../electron/engine/restore';
import { LocalBackend } from '../../electron/engine/storage';
import { diffManifests, manifest } from '../helpers/manifest';
import { restic, resticOk, tempDir, TEST_KDF } from '../helpers/restic';
import { makeSourceTree, pseudoRandom } from '../helpers/source-tree';
import { needTool, projectRoot } from '../helpers/tools';

const skip = needTool('restic');
const PW = 'crash test';

function countPacks(repoDir: string): number {
  let n = 0;
  for (const d of readdirSync(join(repoDir, 'data'))) {
    for (const f of readdirSync(join(repoDir, 'data', d))) if (/^[0-9a-f]{64}$/.test(f)) n++;
  }
  return n;
}

async function killDuringBackup(repoDir: string, src: string, afterNewPacks: number): Promise<boolean> {
  const before = countPacks(repoDir);
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'tests/helpers/backup-child.ts'), repoDir, String(256 * 1024), src], {
    cwd: projectRoot,
    env: { ...process.env, MAMORI_PASSWORD: PW },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 60_000;
  while (!exited && countPacks(repoDir) - before < afterNewPacks && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const killed = !exited;
  child.kill('SIGKILL');
  await new Promise((r) => (exited ? r(null) : child.on('exit', r)));
  return killed;
}

test('kill -9 during backup: restic check passes, earlier snapshots restore, the next backup completes', { skip, timeout: 240_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const repoDir = join(dir, 'repo');
  const src = join(dir, 'src');
  makeSourceTree(src, { largeSize: 2 * 1024 * 1024 });
  const expected = manifest(src);
  const repo = await Repository.init(new LocalBackend(repoDir), PW, { kdf: TEST_KDF });
  const first = await backup(repo, { paths: [src] });

  // New content so the killed runs have packs to write.
  const big = join(src, 'big');
  mkdirSync(big);
  for (let i = 0; i < 12; i++) writeFileSync(join(big, `f${i}.bin`), pseudoRandom(`big${i}`, 1024 * 1024));

  let kills = 0;
  for (const after of [1, 4, 9]) {
    const killed = await killDuringBackup(repoDir, src, after);
    if (killed) kills++;
    // The killed process leaves its lock behind. Mamori ignores it when locking (its PID is gone), but
    // restic check wants an exclusive lock: `mamori unlock` (like `restic unlock`) removes it.
    const removed = await (await Repository.open(new LocalBackend(repoDir), PW)).unlock();
    if (killed) assert.equal(removed.length, 1, 'the killed backup should have left exactly one stale lock');
    const check = restic(repoDir, PW, ['check']);
    assert.equal(check.status, 0, `after kill at ${after} packs:\n${check.stdout}${check.stderr}`);
  }
  assert.ok(kills >= 2, 'the backup finished before it could be killed: make the input larger');

  // The first snapshot is intact, for restic and for Mamori.
  const out = join(dir, 'restored-restic');
  resticOk(repoDir, PW, ['restore', first.snapshotId, '--target', out]);
  assert.deepEqual(diffManifests(expected, manifest(join(out, src))), []);
  const reopened = await Repository.open(new LocalBackend(repoDir), PW);
  await reopened.loadIndex();
  const out2 = join(dir, 'restored-mamori');
  const res = await restoreSnapshot(reopened, await reopened.resolveSnapshot(first.snapshotId), { target: out2 });
  assert.deepEqual(res.errors, []);
  assert.deepEqual(diffManifests(expected, manifest(join(out2, src))), []);

  // A later backup completes (stale lock of the killed process ignored) and verifies fully.
  const final = await reopened.withLock(false, () => backup(reopened, { paths: [src] }));
  assert.equal(final.errors.length, 0);
  const check = restic(repoDir, PW, ['check', '--read-data']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.ok(statSync(repoDir).isDirectory());
});
