// A destination that fills up mid-backup: the backup fails with a clear "no space" error naming the
// destination, writes no snapshot, and leaves a repository restic check accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, isMamoriError } from '../../shared/errors';
import { backup } from '../../electron/engine/backup';
import { Repository } from '../../electron/engine/repo';
import { BackendError, LocalBackend, type Handle } from '../../electron/engine/storage';
import { restic, tempDir, TEST_KDF } from '../helpers/restic';
import { makeSourceTree } from '../helpers/source-tree';
import { needTool } from '../helpers/tools';

const skip = needTool('restic');

/** A local folder that reports ENOSPC once `allowedPacks` packs have been written. */
class FillingBackend extends LocalBackend {
  packs = 0;
  constructor(path: string, private readonly allowedPacks: number) {
    super(path);
  }
  override async save(h: Handle, data: Buffer): Promise<void> {
    if (h.type === 'data' && ++this.packs > this.allowedPacks) {
      throw new BackendError('no-space', `no space left on ${this.location}/data/${h.name.slice(0, 2)}/${h.name}: free space on the destination or choose another one`, h);
    }
    return super.save(h, data);
  }
}

test('a full destination fails the backup clearly and damages nothing', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  makeSourceTree(src, { largeSize: 4 * 1024 * 1024 });
  const repoDir = join(dir, 'repo');
  await Repository.init(new LocalBackend(repoDir), 'pw', { kdf: TEST_KDF });
  const repo = await Repository.open(new FillingBackend(repoDir, 2), 'pw', { packSize: 512 * 1024 });
  await assert.rejects(
    repo.withLock(false, () => backup(repo, { paths: [src] })),
    (e) => isMamoriError(e, ErrorCode.NoSpace) && e.message.includes(repoDir) && /free space/i.test(e.hint ?? ''),
  );
  assert.deepEqual(readdirSync(join(repoDir, 'snapshots')), []);
  assert.deepEqual(readdirSync(join(repoDir, 'locks')), [], 'the lock must be released after a failure');
  const check = restic(repoDir, 'pw', ['check']);
  assert.equal(check.status, 0, check.stdout + check.stderr);

  // With space again, the next backup completes.
  const again = await Repository.open(new LocalBackend(repoDir), 'pw');
  const ok = await again.withLock(false, () => backup(again, { paths: [src] }));
  assert.deepEqual(ok.errors, []);
  assert.equal(restic(repoDir, 'pw', ['check', '--read-data']).status, 0);
});
