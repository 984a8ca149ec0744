// SFTP interop with restic 0.14, both directions, through a real OpenSSH sshd on 127.0.0.1:
// - Mamori creates a repository over SFTP (SftpBackend) and backs up a generated tree; restic, using
//   its own sftp backend (it launches ssh itself), passes `check --read-data` and restores the tree
//   byte-identically.
// - restic inits and backs up over SFTP; Mamori opens that repository over SFTP, lists the snapshot
//   and restores it byte-identically.
// Skipped loudly (failing under CI) when restic, sshd or ssh-keygen is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { backup } from '../../electron/engine/backup';
import { Repository } from '../../electron/engine/repo';
import { restoreSnapshot } from '../../electron/engine/restore';
import { SftpBackend } from '../../electron/engine/storage/sftp';
import { diffManifests, manifest } from '../helpers/manifest';
import { resticOk, tempDir, TEST_KDF } from '../helpers/restic';
import { makeSourceTree } from '../helpers/source-tree';
import { needSshd, startSshd, type Sshd } from '../helpers/sshd';
import { needTool } from '../helpers/tools';

const skip = needTool('restic') ?? needTool('ssh', 'apt-get install openssh-client') ?? needSshd();
const PW = 'sftp interop';

/** restic's arguments to reach `path` on our sshd: its sftp backend runs this ssh command. */
function resticSftp(s: Sshd, path: string): { repo: string; args: string[] } {
  const ssh = `ssh -p ${s.port} -i ${s.userKeyPath} -o BatchMode=yes -o StrictHostKeyChecking=no `
    + `-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR ${s.user}@127.0.0.1 -s sftp`;
  return { repo: `sftp:${s.user}@127.0.0.1:${path}`, args: ['-o', `sftp.command=${ssh}`] };
}

function backend(s: Sshd, path: string): SftpBackend {
  return new SftpBackend({
    host: '127.0.0.1',
    port: s.port,
    username: s.user,
    path,
    privateKey: s.privateKey,
    hostKey: { pinned: s.hostKeyFingerprint },
  });
}

function assertSame(expected: ReturnType<typeof manifest>, actual: ReturnType<typeof manifest>): void {
  const d = diffManifests(expected, actual);
  assert.deepEqual(d, [], `restored trees differ:\n${d.slice(0, 30).join('\n')}`);
}

/** A scratch folder (restored trees may hold read-only folders) and a private sshd, both removed after the test. */
async function setup(t: { after: (fn: () => Promise<void> | void) => void }): Promise<{ dir: string; s: Sshd }> {
  const { dir, cleanup } = tempDir('mamori-sftp-restic-');
  const s = await startSshd();
  t.after(async () => {
    await s.stop();
    spawnSync('chmod', ['-R', 'u+rwX', dir]);
    cleanup();
  });
  return { dir, s };
}

test('Mamori writes a repository over SFTP; restic reads it over SFTP: check --read-data, restore', { skip, timeout: 300_000 }, async (t) => {
  const { dir, s } = await setup(t);
  const src = join(dir, 'src');
  makeSourceTree(src);
  const expected = manifest(src);
  const repoPath = join(s.root, 'mamori-repo');

  const b = backend(s, repoPath);
  try {
    const repo = await Repository.init(b, PW, { kdf: TEST_KDF, packSize: 4 * 1024 * 1024 });
    const result = await repo.withLock(false, () => backup(repo, { paths: [src] }));
    assert.deepEqual(result.errors, []);
    assert.ok(result.filesNew >= 70);
    await b.writeAppFile('mamori-destination.json', Buffer.from('{"id":"test"}'));
  } finally {
    await b.close();
  }

  const { repo, args } = resticSftp(s, repoPath);
  const check = resticOk(repo, PW, [...args, 'check', '--read-data']);
  assert.match(check, /no errors were found/);
  const snaps = JSON.parse(resticOk(repo, PW, [...args, 'snapshots', '--json'])) as { paths: string[] }[];
  assert.deepEqual(snaps.map((x) => x.paths), [[src]]);
  const out = join(dir, 'restic-restored');
  resticOk(repo, PW, [...args, 'restore', 'latest', '--target', out]);
  assertSame(expected, manifest(join(out, src)));
});

test('restic writes a repository over SFTP; Mamori opens it over SFTP, lists and restores it', { skip, timeout: 300_000 }, async (t) => {
  const { dir, s } = await setup(t);
  const src = join(dir, 'src');
  makeSourceTree(src, { largeSize: 9 * 1024 * 1024 });
  const expected = manifest(src);
  const repoPath = join(s.root, 'restic-repo');
  const { repo: loc, args } = resticSftp(s, repoPath);
  resticOk(loc, PW, [...args, 'init', '--repository-version', '2']);
  resticOk(loc, PW, [...args, 'backup', src]);

  const b = backend(s, repoPath);
  try {
    assert.equal(await b.hasConfig(), true);
    const repo = await Repository.open(b, PW);
    assert.deepEqual(await repo.loadIndex(), []);
    const snaps = await repo.listSnapshots();
    assert.equal(snaps.length, 1);
    assert.deepEqual(snaps[0].paths, [src]);
    const out = join(dir, 'mamori-restored');
    const r = await restoreSnapshot(repo, snaps[0], { target: out });
    assert.deepEqual(r.errors, []);
    assertSame(expected, manifest(join(out, src)));
  } finally {
    await b.close();
  }
  // restic left nothing behind that it would not accept itself (our lock-free reads included).
  resticOk(loc, PW, [...args, 'check']);
});
