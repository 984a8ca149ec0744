// Unreadable source files and folders are listed by path, and the backup completes with the rest.
// Root reads everything, so when run as root this test first drops to the unprivileged "nobody"
// (all imports are loaded by then; everything it creates afterwards belongs to nobody).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backup } from '../../electron/engine/backup';
import { Repository } from '../../electron/engine/repo';
import { LocalBackend } from '../../electron/engine/storage';
import { restic, resticOk, tempDir, TEST_KDF } from '../helpers/restic';
import { needTool } from '../helpers/tools';

const skip = needTool('restic');
if (process.getuid?.() === 0) {
  process.setgid!(65534);
  process.setuid!(65534);
}

test('unreadable files and folders are reported by path; everything else is backed up', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(() => {
    chmodSync(join(dir, 'src', 'locked.txt'), 0o600);
    chmodSync(join(dir, 'src', 'locked-folder'), 0o700);
    cleanup();
  });
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'ok.txt'), 'fine\n');
  writeFileSync(join(src, 'locked.txt'), 'secret\n');
  mkdirSync(join(src, 'locked-folder'));
  writeFileSync(join(src, 'locked-folder', 'inside.txt'), 'x\n');
  chmodSync(join(src, 'locked.txt'), 0);
  chmodSync(join(src, 'locked-folder'), 0);

  const repoDir = join(dir, 'repo');
  const repo = await Repository.init(new LocalBackend(repoDir), 'pw', { kdf: TEST_KDF });
  const r = await backup(repo, { paths: [src] });
  const failed = r.errors.map((e) => e.path).sort();
  assert.deepEqual(failed, [join(src, 'locked-folder'), join(src, 'locked.txt')]);
  assert.ok(r.errors.every((e) => /EACCES|permission/i.test(e.message)), JSON.stringify(r.errors));
  assert.equal(r.filesNew, 1);

  const check = restic(repoDir, 'pw', ['check', '--read-data']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const ls = resticOk(repoDir, 'pw', ['ls', 'latest']);
  assert.match(ls, /ok\.txt/);
  assert.doesNotMatch(ls, /locked/);
});
