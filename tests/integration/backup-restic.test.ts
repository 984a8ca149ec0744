// The engine's backups judged by restic 0.14: restic check --read-data passes on what Mamori writes,
// restic restores it byte-identically, and a restic backup of a folder Mamori just backed up adds no
// data because the tree blobs are byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backup } from '../../electron/engine/backup';
import { Repository, type TreeNode } from '../../electron/engine/repo';
import { LocalBackend } from '../../electron/engine/storage';
import { diffManifests, manifest } from '../helpers/manifest';
import { restic, resticOk, tempDir, TEST_KDF } from '../helpers/restic';
import { makeSourceTree, pseudoRandom } from '../helpers/source-tree';
import { needTool } from '../helpers/tools';

const skip = needTool('restic');
const PW = 'mamori test password';

async function subtreeAt(repo: Repository, treeId: string, absPath: string): Promise<TreeNode | undefined> {
  let nodes = await repo.loadTree(treeId);
  let found: TreeNode | undefined;
  for (const part of absPath.split('/').filter(Boolean)) {
    found = nodes.find((n) => n.name.toString() === part);
    if (!found) return undefined;
    if (found.subtree) nodes = await repo.loadTree(found.subtree);
  }
  return found;
}

test('Mamori backup: restic check --read-data passes and restic restores it byte-identically', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  const repoDir = join(dir, 'repo');
  makeSourceTree(src);
  const expected = manifest(src);

  const repo = await Repository.init(new LocalBackend(repoDir), PW, { kdf: TEST_KDF, packSize: 4 * 1024 * 1024 });
  const first = await backup(repo, { paths: [src] });
  assert.deepEqual(first.errors, []);
  assert.equal(first.filesUnmodified, 0);
  assert.ok(first.filesNew >= 70);

  const check = restic(repoDir, PW, ['check', '--read-data']);
  assert.equal(check.status, 0, check.stdout + check.stderr);

  const out = join(dir, 'restic-restored');
  resticOk(repoDir, PW, ['restore', 'latest', '--target', out]);
  const diffs = diffManifests(expected, manifest(join(out, src)));
  assert.deepEqual(diffs, []);

  // restic backs up the same folder into the Mamori repository: every tree and data blob is shared.
  const r = JSON.parse(resticOk(repoDir, PW, ['backup', '--json', src]).trim().split('\n').filter((l) => l.includes('"summary"'))[0]);
  assert.equal(r.files_new, 0);
  assert.equal(r.files_changed, 0);
  assert.equal(r.data_blobs, 0, 'restic had to store data blobs again');
  const reopened = await Repository.open(new LocalBackend(repoDir), PW);
  await reopened.loadIndex();
  const snaps = await reopened.listSnapshots();
  assert.equal(snaps.length, 2);
  const mine = await subtreeAt(reopened, snaps.find((s) => s.id === first.snapshotId)!.tree, src);
  const theirs = await subtreeAt(reopened, snaps.find((s) => s.id !== first.snapshotId)!.tree, src);
  assert.ok(mine?.subtree && theirs?.subtree);
  assert.equal(theirs.subtree, mine.subtree, 'restic encoded the source folder tree differently from Mamori');
  // Only the folders above the source (whose mtimes other tests may touch) can differ.
  assert.ok(r.tree_blobs <= src.split('/').length, `restic added ${r.tree_blobs} tree blobs`);
});

test('an incremental backup after a small change adds little, and skips unchanged files without reading them', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  makeSourceTree(src, { largeSize: 12 * 1024 * 1024 });
  const repo = await Repository.init(new LocalBackend(join(dir, 'repo')), PW, { kdf: TEST_KDF });
  const first = await backup(repo, { paths: [src] });
  assert.equal(first.errors.length, 0);

  // Change one file: a few bytes inserted in the middle of the large one, plus a growing log.
  const video = join(src, 'media', 'video.bin');
  const old = pseudoRandom('video', 12 * 1024 * 1024);
  writeFileSync(video, Buffer.concat([old.subarray(0, 6_000_000), Buffer.from('INSERTED'), old.subarray(6_000_000)]));
  appendFileSync(join(src, 'growing.log'), 'line 2\n');
  mkdirSync(join(src, 'new-folder'));
  writeFileSync(join(src, 'new-folder', 'new.txt'), 'new\n');

  const second = await backup(repo, { paths: [src] });
  assert.equal(second.snapshot.parent, first.snapshotId);
  assert.equal(second.filesChanged, 2);
  assert.equal(second.filesNew, 1);
  assert.ok(second.filesUnmodified >= 70);
  // Only the changed large file was read again (plus the small ones that changed).
  assert.ok(second.bytesRead < 12 * 1024 * 1024 + 4096, `read ${second.bytesRead} bytes`);
  // The insertion touches one or two chunks (at most 2 x 8 MiB, typically ~1-2 MiB) plus trees.
  assert.ok(second.bytesAdded < 2 * 8 * 1024 * 1024, `added ${second.bytesAdded} bytes`);
  assert.ok(second.bytesAdded < 12 * 1024 * 1024 / 2, `added ${second.bytesAdded} bytes for an 8-byte insertion`);

  const third = await backup(repo, { paths: [src] });
  assert.equal(third.filesNew + third.filesChanged, 0);
  assert.equal(third.bytesRead, 0);
  assert.ok(third.bytesAdded < 64 * 1024, `a no-change backup added ${third.bytesAdded} bytes`);
  const check = restic(join(dir, 'repo'), PW, ['check', '--read-data']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
});
