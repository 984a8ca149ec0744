// Interop of the repository format pieces with restic 0.14: keys, config, index, packs, unpacked files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isMamoriError, ErrorCode } from '../../shared/errors';
import { Repository } from '../../electron/engine/repo';
import { encrypt, type MasterKey } from '../../electron/engine/repo/crypto';
import { LocalBackend } from '../../electron/engine/storage';
import { needTool } from '../helpers/tools';
import { restic, resticOk, tempDir, TEST_KDF } from '../helpers/restic';

const skip = needTool('restic');
const PW = 'correct horse';

test('Mamori opens a v2 repository made by restic and reads every blob of its snapshot', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const repoDir = join(dir, 'repo');
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'small.txt'), 'hello restic\n'.repeat(100));
  writeFileSync(join(src, 'random.bin'), randomBytes(3 * 1024 * 1024));
  resticOk(repoDir, PW, ['init', '--repository-version', '2']);
  resticOk(repoDir, PW, ['backup', src]);

  const repo = await Repository.open(new LocalBackend(repoDir), PW);
  assert.equal(repo.version, 2);
  assert.deepEqual(await repo.loadIndex(), []);
  const snaps = await repo.listSnapshots();
  assert.equal(snaps.length, 1);
  assert.deepEqual(snaps[0].paths, [src]);
  // Every blob the index lists decrypts, decompresses and hashes to its ID.
  let n = 0;
  for (const b of repo.index.all()) {
    await repo.loadBlob(b.type, b.id);
    n++;
  }
  assert.ok(n >= 4, `expected several blobs, got ${n}`);
  // Every pack header read by Mamori matches restic's index.
  for (const pack of repo.index.packIds()) {
    const { entries } = await repo.loadPackHeader(pack);
    for (const e of entries) assert.ok(repo.index.lookup(e.type, e.id).some((l) => l.pack === pack && l.offset === e.offset && l.length === e.length));
  }
});

test('restic opens a repository Mamori created, and a Mamori-added key; a removed key stops working', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const repoDir = join(dir, 'repo');
  const repo = await Repository.init(new LocalBackend(repoDir), PW, { kdf: TEST_KDF });
  const cfg = JSON.parse(resticOk(repoDir, PW, ['cat', 'config']));
  assert.equal(cfg.version, 2);
  assert.equal(cfg.chunker_polynomial, repo.config.chunkerPolynomial);
  assert.equal(cfg.id, repo.config.id);

  const second = await repo.addKey('second password', TEST_KDF);
  assert.equal(restic(repoDir, 'second password', ['cat', 'config']).status, 0);
  assert.equal((await repo.listKeys()).length, 2);
  // A password change re-encrypts only the master key: the config (and data) stay readable.
  const reopened = await Repository.open(new LocalBackend(repoDir), 'second password');
  await reopened.changePassword('third password', TEST_KDF);
  assert.notEqual(restic(repoDir, 'second password', ['cat', 'config']).status, 0);
  assert.equal(restic(repoDir, 'third password', ['cat', 'config']).status, 0);
  assert.equal(restic(repoDir, PW, ['cat', 'config']).status, 0);
  await assert.rejects(Repository.open(new LocalBackend(repoDir), 'second password'), (e) => isMamoriError(e, ErrorCode.WrongPassword));
  void second;

  // restic adds a key; Mamori opens with it.
  resticOk(repoDir, PW, ['key', 'add', '--new-password-file', writeTemp(dir, 'restic-added')]);
  const viaRestic = await Repository.open(new LocalBackend(repoDir), 'restic-added');
  assert.equal(viaRestic.config.id, repo.config.id);
});

test('blobs and unpacked files Mamori writes pass restic check --read-data', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const repoDir = join(dir, 'repo');
  const repo = await Repository.init(new LocalBackend(repoDir), PW, { kdf: TEST_KDF, packSize: 256 * 1024 });
  const contents = [randomBytes(200_000), Buffer.alloc(300_000, 7), randomBytes(10), Buffer.alloc(0)];
  const ids: string[] = [];
  for (const c of contents) ids.push((await repo.saveBlob('data', c)).id);
  assert.equal((await repo.saveBlob('data', contents[0])).known, true);
  const now = '2026-11-22T10:00:00.123456789+09:00';
  const fileNode = (name: string, i: number) => ({
    name: Buffer.from(name), type: 'file' as const, mode: 0o644, mtime: now, atime: now, ctime: now,
    uid: 0, gid: 0, size: contents[i].length, content: [ids[i]],
  });
  const tree = await repo.saveTree([fileNode('a', 0), fileNode('b', 1), fileNode('c', 2), fileNode('d', 3)]);
  await repo.flush();
  await repo.saveSnapshot({ time: now, tree, paths: ['/x'], hostname: 'h' });
  const r = restic(repoDir, PW, ['check', '--read-data']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const ls = resticOk(repoDir, PW, ['ls', 'latest']);
  assert.match(ls, /\/a\n/);
  const restored = resticOk(repoDir, PW, ['dump', 'latest', '/b']);
  assert.equal(restored.length, 300_000);

  // And Mamori reads it back after a fresh open.
  const again = await Repository.open(new LocalBackend(repoDir), PW);
  await again.loadIndex();
  for (const [i, id] of ids.entries()) assert.deepEqual(await again.loadBlob('data', id), contents[i]);
});

test('clear errors: wrong password, not a repository, unknown version, existing repository', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const repoDir = join(dir, 'repo');
  await Repository.init(new LocalBackend(repoDir), PW, { kdf: TEST_KDF });
  await assert.rejects(Repository.open(new LocalBackend(repoDir), 'nope'), (e) => isMamoriError(e, ErrorCode.WrongPassword) && /wrong password/.test(e.message));
  await assert.rejects(Repository.open(new LocalBackend(dir), PW), (e) => isMamoriError(e, ErrorCode.NotARepository) && e.message.includes(dir));
  await assert.rejects(Repository.open(new LocalBackend(join(dir, 'absent')), PW), (e) => isMamoriError(e) && e.message.includes('absent'));
  await assert.rejects(Repository.init(new LocalBackend(repoDir), PW, { kdf: TEST_KDF }), (e) => isMamoriError(e, ErrorCode.RepositoryExists));
});

test('a repository of an unknown format version is refused with a clear error', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const repoDir = join(dir, 'repo');
  const repo = await Repository.init(new LocalBackend(repoDir), PW, { kdf: TEST_KDF });
  // Rewrite the config as a future restic might: same key, version 3.
  const key = (repo as unknown as { key: MasterKey }).key;
  const cfg = { version: 3, id: repo.config.id, chunker_polynomial: repo.config.chunkerPolynomial };
  rmSync(join(repoDir, 'config'), { force: true });
  writeFileSync(join(repoDir, 'config'), encrypt(key, Buffer.from(JSON.stringify(cfg))));
  await assert.rejects(Repository.open(new LocalBackend(repoDir), PW), (e) => isMamoriError(e, ErrorCode.UnsupportedVersion) && /version 3/.test(e.message));
});

function writeTemp(dir: string, content: string): string {
  const p = join(dir, `pw-${randomBytes(4).toString('hex')}`);
  writeFileSync(p, content + '\n');
  return p;
}
