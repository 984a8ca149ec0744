// Restore interop with restic 0.14: a tree backed up by restic itself, restored by Mamori and by
// `restic restore`, must give identical folders (names as raw bytes, types, sizes, modes with
// setuid/setgid/sticky, mtimes to the microsecond, content, link targets, hard-link grouping).
// Also: restoring only some paths, progress totals, sparse zero regions, and a missing pack that
// must cost exactly the files that needed it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Repository } from '../../electron/engine/repo';
import type { ID } from '../../electron/engine/repo';
import { LocalBackend } from '../../electron/engine/storage';
import { restoreSnapshot, walkTree, findNode } from '../../electron/engine/restore';
import type { RestoreProgress } from '../../electron/engine/restore';
import { needTool } from '../helpers/tools';
import { resticOk, tempDir } from '../helpers/restic';
import { diffManifests, manifest, type Manifest } from '../helpers/manifest';
import { makeSourceTree, pseudoRandom } from '../helpers/source-tree';

const skip = needTool('restic');
const PW = 'restore interop';
const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

/** Everything makeSourceTree has, plus large, repeated, sparse and special files. */
function buildSource(src: string): void {
  makeSourceTree(src, { largeSize: 21 * MiB, smallFiles: 40 });
  const block = pseudoRandom('block', 3 * MiB + 17);
  writeFileSync(join(src, 'media', 'repeated.bin'), Buffer.concat(Array.from({ length: 8 }, () => block)));
  // Zero regions far longer than restic's 512 KiB minimum chunk: whole zero blobs, restored as holes.
  writeFileSync(join(src, 'media', 'disk.img'), Buffer.concat([pseudoRandom('head', 1.5 * MiB), Buffer.alloc(6 * MiB), pseudoRandom('mid', MiB + 123), Buffer.alloc(5 * MiB)]));
  const badDir = Buffer.from(join(src, 'dir-\xfe-bad'), 'latin1');
  mkdirSync(badDir);
  writeFileSync(Buffer.concat([badDir, Buffer.from('/inside-\xfd.txt', 'latin1')]), 'inside a folder whose name is not UTF-8\n');
  run('mkfifo', [join(src, 'a-fifo')]);
  if (isRoot) run('mknod', [join(src, 'null-device'), 'c', '1', '3']);
  mkdirSync(join(src, 'group-dir'));
  chmodSync(join(src, 'group-dir'), 0o2775);
  writeFileSync(join(src, 'group-dir', 'x'), 'x');
  mkdirSync(join(src, 'readonly-dir'));
  writeFileSync(join(src, 'readonly-dir', 'inside.txt'), 'read only folder\n');
  writeFileSync(join(src, 'readonly-dir', 'empty-link-a'), '');
  linkSync(join(src, 'readonly-dir', 'empty-link-a'), join(src, 'readonly-dir', 'empty-link-b'));
  chmodSync(join(src, 'readonly-dir'), 0o555);
  writeFileSync(join(src, 'setgid-file'), 'g');
  chmodSync(join(src, 'setgid-file'), 0o2750);
  // Nanosecond mtimes (touch takes them; Node's utimes stops at microseconds), then folder times.
  run('touch', ['-m', '-d', '@1500000000.987654321', join(src, 'media', 'video.bin')]);
  run('touch', ['-h', '-m', '-d', '@1400000000.000000999', join(src, 'link-to-note')]);
  utimesSync(join(src, 'group-dir'), 1_100_000_000.25, 1_200_000_000.000001);
  run('touch', ['-m', '-d', '@1300000000.123456789', join(src, 'readonly-dir')]);
}

/** A temporary folder removed after the test, read-only folders (restored 0555) included. */
function scratch(t: { after: (fn: () => void) => void }): string {
  const { dir, cleanup } = tempDir('mamori-restore-');
  t.after(() => {
    spawnSync('chmod', ['-R', 'u+rwX', dir]);
    cleanup();
  });
  return dir;
}

async function openRepo(repoDir: string): Promise<Repository> {
  const repo = await Repository.open(new LocalBackend(repoDir), PW);
  assert.deepEqual(await repo.loadIndex(), []);
  return repo;
}

function assertSame(expected: Manifest, actual: Manifest): void {
  const d = diffManifests(expected, actual);
  assert.deepEqual(d, [], `restored trees differ:\n${d.slice(0, 30).join('\n')}`);
}

test('Mamori restores a restic snapshot exactly as restic restore does', { skip, timeout: 300_000 }, async (t) => {
  const dir = scratch(t);
  const src = join(dir, 'src');
  const repoDir = join(dir, 'repo');
  buildSource(src);
  resticOk(repoDir, PW, ['init', '--repository-version', '2']);
  resticOk(repoDir, PW, ['backup', src]);

  const repo = await openRepo(repoDir);
  const sn = await repo.resolveSnapshot('latest');
  const ours = join(dir, 'ours');
  const theirs = join(dir, 'theirs');
  const progress: RestoreProgress[] = [];
  const result = await restoreSnapshot(repo, sn, { target: ours, onProgress: (p) => progress.push(p) });
  assert.deepEqual(result.errors, []);
  resticOk(repoDir, PW, ['restore', 'latest', '--target', theirs]);

  assertSame(manifest(theirs), manifest(ours));
  // And both equal the source itself.
  assertSame(manifest(src), manifest(join(ours, src)));

  // Counts and progress: every non-folder entry, every byte of content (hard links once).
  let files = 0;
  let bytes = 0;
  const inodes = new Set<string>();
  for await (const { node } of walkTree(repo, sn.tree)) {
    if (node.type === 'dir' || node.type === 'socket') continue;
    files++;
    if (node.type === 'file' && !((node.links ?? 0) > 1 && inodes.has(`${node.deviceId}:${node.inode}`))) bytes += node.size ?? 0;
    if ((node.links ?? 0) > 1) inodes.add(`${node.deviceId}:${node.inode}`);
  }
  assert.equal(result.filesRestored, files);
  assert.equal(result.bytesRestored, bytes);
  assert.ok(result.dirsRestored >= 10);
  const last = progress[progress.length - 1];
  assert.deepEqual([last.filesDone, last.bytesDone], [last.filesTotal, last.bytesTotal]);
  assert.deepEqual([last.filesTotal, last.bytesTotal], [files, bytes]);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].bytesDone >= progress[i - 1].bytesDone);

  // Zero regions were not written: the image occupies clearly less than its size.
  const img = statSync(join(ours, src, 'media', 'disk.img'));
  assert.equal(img.size, 13.5 * MiB + 123);
  assert.ok(img.blocks * 512 <= img.size - 8 * MiB, `disk.img not sparse: ${img.blocks * 512} bytes allocated`);

  // findNode: a file, a folder, the root, and something absent.
  assert.equal((await findNode(repo, sn, join(src, 'media', 'video.bin')))?.size, 21 * MiB);
  assert.equal((await findNode(repo, sn, join(src, 'media')))?.type, 'dir');
  assert.equal((await findNode(repo, sn, '/'))?.subtree, sn.tree);
  assert.equal(await findNode(repo, sn, join(src, 'nope')), undefined);
  assert.equal(await findNode(repo, sn, join(src, 'empty.txt', 'below-a-file')), undefined);

  // Restoring again into the same folder overwrites nothing and says why, file by file.
  const again = await restoreSnapshot(repo, sn, { target: ours, include: [join(src, 'docs')] });
  assert.equal(again.filesRestored, 0);
  assert.equal(again.errors.length, 40);
  assert.ok(again.errors.every((e) => /already exists in the target; restore into a new folder/.test(e.message)));
});

test('include: a sub-folder and a single file restore as restic restore --include does', { skip, timeout: 300_000 }, async (t) => {
  const dir = scratch(t);
  const src = join(dir, 'src');
  const repoDir = join(dir, 'repo');
  makeSourceTree(src, { largeSize: 2 * MiB, smallFiles: 10 });
  resticOk(repoDir, PW, ['init', '--repository-version', '2']);
  resticOk(repoDir, PW, ['backup', src]);
  const repo = await openRepo(repoDir);
  const sn = await repo.resolveSnapshot('latest');

  const include = [join(src, '日本語フォルダ'), join(src, 'media', 'copy-b.bin'), join(src, 'hardlink-b')];
  const ours = join(dir, 'ours');
  const theirs = join(dir, 'theirs');
  const result = await restoreSnapshot(repo, sn, { target: ours, include });
  assert.deepEqual(result.errors, []);
  resticOk(repoDir, PW, ['restore', 'latest', '--target', theirs, ...include.flatMap((p) => ['--include', p])]);
  const m = manifest(ours);
  assertSame(manifest(theirs), m);
  assert.ok(m.has(`${src.slice(1)}/media/copy-b.bin`));
  assert.ok(!m.has(`${src.slice(1)}/media/copy-a.bin`));
  assert.ok(!m.has(`${src.slice(1)}/docs`));

  // An include path the snapshot does not have is reported, not silently ignored.
  const none = await restoreSnapshot(repo, sn, { target: join(dir, 'none'), include: [join(src, 'no-such-file')] });
  assert.equal(none.filesRestored, 0);
  assert.deepEqual(none.errors.map((e) => [e.path, e.code]), [[join(src, 'no-such-file'), 'PATH_NOT_FOUND']]);
  assert.ok(!existsSync(join(dir, 'none', src.slice(1))));
});

test('a missing pack costs exactly the files that needed it; the rest restores byte-identically', { skip, timeout: 300_000 }, async (t) => {
  const dir = scratch(t);
  const src = join(dir, 'src');
  const repoDir = join(dir, 'repo');
  mkdirSync(src);
  for (let i = 0; i < 12; i++) writeFileSync(join(src, `file-${i}.bin`), pseudoRandom(`f${i}`, 700 * 1024 + i * 97));
  writeFileSync(join(src, 'big.bin'), pseudoRandom('big', 14 * MiB));
  writeFileSync(join(src, 'small.txt'), 'small\n');
  resticOk(repoDir, PW, ['init', '--repository-version', '2']);
  resticOk(repoDir, PW, ['backup', '--pack-size', '4', src]);

  const repo = await openRepo(repoDir);
  const sn = await repo.resolveSnapshot('latest');
  const dataPacks = new Map<ID, Set<ID>>();
  for (const b of repo.index.all()) {
    if (b.type !== 'data') continue;
    if (!dataPacks.has(b.pack)) dataPacks.set(b.pack, new Set());
    dataPacks.get(b.pack)!.add(b.id);
  }
  assert.ok(dataPacks.size >= 3, `expected several data packs, got ${dataPacks.size}`);
  const [victim, blobs] = [...dataPacks].find(([, set]) => set.size >= 2) ?? [...dataPacks][0];
  const affected = new Set<string>();
  let fileCount = 0;
  for await (const { path, node } of walkTree(repo, sn.tree)) {
    if (node.type !== 'file') continue;
    fileCount++;
    if (node.content!.some((id) => blobs.has(id))) affected.add(path);
  }
  assert.ok(affected.size > 0 && affected.size < fileCount, `pack ${victim} affects ${affected.size} of ${fileCount} files`);
  rmSync(join(repoDir, 'data', victim.slice(0, 2), victim), { force: true });

  const ours = join(dir, 'ours');
  const result = await restoreSnapshot(repo, sn, { target: ours });
  assert.deepEqual(result.errors.map((e) => e.path).sort(), [...affected].sort());
  for (const e of result.errors) {
    assert.match(e.message, new RegExp(`pack ${victim.slice(0, 8)} is missing`));
    assert.equal(e.code, 'MISSING_OBJECT');
  }
  assert.equal(result.filesRestored, fileCount - affected.size);
  // The affected files are gone (no partial files), the others equal the source.
  const expected = manifest(src);
  const actual = manifest(join(ours, src));
  for (const p of affected) {
    const rel = p.slice(src.length + 1);
    assert.ok(!actual.has(rel), `partial file left behind: ${p}`);
    expected.delete(rel);
  }
  assertSame(expected, actual);
});

test('cancellation rejects and leaves no partly written file', { skip, timeout: 300_000 }, async (t) => {
  const dir = scratch(t);
  const src = join(dir, 'src');
  const repoDir = join(dir, 'repo');
  mkdirSync(src);
  writeFileSync(join(src, 'a-small.txt'), 'done first\n');
  writeFileSync(join(src, 'big.bin'), pseudoRandom('big', 24 * MiB));
  resticOk(repoDir, PW, ['init', '--repository-version', '2']);
  resticOk(repoDir, PW, ['backup', src]);
  const repo = await openRepo(repoDir);
  const sn = await repo.resolveSnapshot('latest');
  const ac = new AbortController();
  const ours = join(dir, 'ours');
  await assert.rejects(
    restoreSnapshot(repo, sn, {
      target: ours,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.bytesDone > 2 * MiB) ac.abort();
      },
    }),
    (e) => (e as Error).name === 'AbortError',
  );
  assert.ok(!existsSync(join(ours, src, 'big.bin')), 'the incomplete big.bin must be removed');
});
