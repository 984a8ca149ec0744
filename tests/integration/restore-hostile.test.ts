// Restore from a hostile repository: trees crafted with names such as "..", "a/b", "/abs" and
// "x\0y", a symlink and a folder sharing a name, unreadable subtrees, and targets that already hold
// symlinks pointing outside. Nothing may be created outside the target, each bad node is reported
// by its path, and the good files next to them are restored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../../shared/errors';
import { Repository } from '../../electron/engine/repo';
import type { ID, SnapshotWithId, TreeNode } from '../../electron/engine/repo';
import { encodeNode } from '../../electron/engine/repo/tree';
import { LocalBackend } from '../../electron/engine/storage';
import { restoreSnapshot } from '../../electron/engine/restore';
import type { RestoreResult } from '../../electron/engine/restore';
import { tempDir, TEST_KDF } from '../helpers/restic';

const T = '2021-03-04T05:06:07.123456789Z';
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

function node(name: string | Buffer, type: TreeNode['type'], extra: Partial<TreeNode> = {}): TreeNode {
  const mode = type === 'dir' ? 2 ** 31 + 0o755 : type === 'symlink' ? 2 ** 27 + 0o777 : 0o644;
  return { name: Buffer.isBuffer(name) ? name : Buffer.from(name), type, mode, mtime: T, atime: T, ctime: T, uid, gid, content: type === 'file' ? [] : null, ...extra };
}

/** Stores a tree blob exactly as given: hostile trees may break rules encodeTree enforces (order, duplicates). */
async function rawTree(repo: Repository, nodes: TreeNode[]): Promise<ID> {
  return (await repo.saveBlob('tree', Buffer.from('{"nodes":[' + nodes.map(encodeNode).join(',') + ']}\n'))).id;
}

async function snapshotOf(repo: Repository, tree: ID): Promise<SnapshotWithId> {
  await repo.flush();
  const sn = { time: T, tree, paths: ['/'], hostname: 'hostile', username: 'eve' };
  return { ...sn, id: await repo.saveSnapshot(sn) };
}

async function fileNode(repo: Repository, name: string | Buffer, text: string): Promise<TreeNode> {
  const { id } = await repo.saveBlob('data', Buffer.from(text));
  return node(name, 'file', { content: [id], size: text.length });
}

function setup(t: { after: (fn: () => void) => void }) {
  const { dir, cleanup } = tempDir('mamori-hostile-');
  t.after(cleanup);
  const outside = join(dir, 'outside-dir');
  mkdirSync(outside);
  return { dir, outside, target: join(dir, 'target') };
}

function errorFor(r: RestoreResult, path: string) {
  return r.errors.find((e) => e.path === path);
}

/** Every path below root, to prove nothing was created where it should not be. */
function listAll(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
}

test('unsafe node names are refused and reported by path; the files next to them restore', async (t) => {
  const { dir, outside, target } = setup(t);
  const repo = await Repository.init(new LocalBackend(join(dir, 'repo')), 'pw', { kdf: TEST_KDF });
  const inner = await rawTree(repo, [await fileNode(repo, 'inner.txt', 'inner')]);
  const bad = ['..', '../escape', 'a/b', 'x\0y', '/abs', '.', `../../${outside.slice(1)}/planted`];
  const nodes: TreeNode[] = [await fileNode(repo, 'good.txt', 'good')];
  for (const name of bad) nodes.push(await fileNode(repo, name, 'evil'));
  // Unsafe folder names too, with content that must not be written anywhere.
  nodes.push(node('..', 'dir', { subtree: inner }), node('../up', 'dir', { subtree: inner }), node(`/${outside.slice(1)}`, 'dir', { subtree: inner }));
  nodes.push(node('ok-dir', 'dir', { subtree: inner }));
  const sn = await snapshotOf(repo, await rawTree(repo, nodes));

  const r = await restoreSnapshot(repo, sn, { target });
  for (const name of [...bad, '../up', `/${outside.slice(1)}`]) {
    const e = errorFor(r, `/${name}`);
    assert.ok(e, `no error reported for ${JSON.stringify(name)}: ${JSON.stringify(r.errors)}`);
    assert.equal(e.code, ErrorCode.UnsafePath);
    assert.match(e.message, /refusing to restore/);
  }
  assert.equal(r.errors.length, bad.length + 3); // "/.." appears twice (file and folder)
  assert.equal(readFileSync(join(target, 'good.txt'), 'utf8'), 'good');
  assert.equal(readFileSync(join(target, 'ok-dir', 'inner.txt'), 'utf8'), 'inner');
  assert.deepEqual(listAll(target), ['good.txt', 'ok-dir', join('ok-dir', 'inner.txt')]);
  assert.deepEqual(readdirSync(outside), []);
  assert.deepEqual(readdirSync(dir).sort(), ['outside-dir', 'repo', 'target']);
  assert.equal(r.filesRestored, 2);
});

test('a symlink to outside followed by a folder or files of the same name never writes outside', async (t) => {
  const { dir, outside, target } = setup(t);
  const repo = await Repository.init(new LocalBackend(join(dir, 'repo')), 'pw', { kdf: TEST_KDF });
  const pwned = await rawTree(repo, [await fileNode(repo, 'pwned.txt', 'evil'), node('sub', 'dir', { subtree: await rawTree(repo, [await fileNode(repo, 'deep.txt', 'evil')]) })]);
  const link = node('link', 'symlink', { linktarget: Buffer.from(outside) });
  // Duplicate names in one tree, both orders: symlink then folder, folder then symlink, symlink then file.
  const d1 = await rawTree(repo, [link, node('link', 'dir', { subtree: pwned }), await fileNode(repo, 'good1.txt', 'good1')]);
  const d2 = await rawTree(repo, [node('link', 'dir', { subtree: pwned }), link, await fileNode(repo, 'good2.txt', 'good2')]);
  const d3 = await rawTree(repo, [link, await fileNode(repo, 'link', 'evil'), await fileNode(repo, 'good3.txt', 'good3')]);
  const root = await rawTree(repo, [node('d1', 'dir', { subtree: d1 }), node('d2', 'dir', { subtree: d2 }), node('d3', 'dir', { subtree: d3 })]);
  const r = await restoreSnapshot(repo, await snapshotOf(repo, root), { target });

  assert.deepEqual(readdirSync(outside), [], 'something was written through the symlink');
  for (const d of ['d1', 'd2', 'd3']) assert.equal(readFileSync(join(target, d, `good${d[1]}.txt`), 'utf8'), `good${d[1]}`);
  // Whatever won the name, it is inside the target and the loser is reported by its path.
  for (const d of ['d1', 'd2', 'd3']) {
    const e = errorFor(r, `/${d}/link`);
    assert.ok(e, `no error for /${d}/link: ${JSON.stringify(r.errors)}`);
    assert.match(e.message, /already exists in the target/);
  }
  assert.ok(lstatSync(join(target, 'd1', 'link')).isDirectory());
  assert.equal(readFileSync(join(target, 'd1', 'link', 'sub', 'deep.txt'), 'utf8'), 'evil');
  assert.ok(lstatSync(join(target, 'd3', 'link')).isFile());
});

test('a symlink restored by an earlier restore into the same target is never traversed', async (t) => {
  const { dir, outside, target } = setup(t);
  const repo = await Repository.init(new LocalBackend(join(dir, 'repo')), 'pw', { kdf: TEST_KDF });
  const first = await snapshotOf(repo, await rawTree(repo, [node('esc', 'symlink', { linktarget: Buffer.from(outside) })]));
  const r1 = await restoreSnapshot(repo, first, { target });
  assert.deepEqual(r1.errors, []);
  assert.equal(readlinkSync(join(target, 'esc')), outside);

  const esc = await rawTree(repo, [await fileNode(repo, 'pwned.txt', 'evil')]);
  const second = await snapshotOf(repo, await rawTree(repo, [node('esc', 'dir', { subtree: esc }), await fileNode(repo, 'fine.txt', 'fine')]));
  const r2 = await restoreSnapshot(repo, second, { target });
  assert.deepEqual(readdirSync(outside), []);
  assert.equal(readFileSync(join(target, 'fine.txt'), 'utf8'), 'fine');
  const e = errorFor(r2, '/esc');
  assert.equal(e?.code, ErrorCode.UnsafePath);
  assert.match(e!.message, /symlink/);
  assert.equal(r2.errors.length, 1);
});

test('a target that already holds symlinks pointing outside: nothing is written through them', async (t) => {
  const { dir, outside, target } = setup(t);
  const repo = await Repository.init(new LocalBackend(join(dir, 'repo')), 'pw', { kdf: TEST_KDF });
  mkdirSync(target);
  symlinkSync(outside, join(target, 'tmp'));
  symlinkSync(join(outside, 'created-through-dangling-link'), join(target, 'dangling'));
  symlinkSync(join(outside, 'victim.txt'), join(target, 'victim'));
  writeFileSync(join(outside, 'victim.txt'), 'do not touch');
  writeFileSync(join(target, 'existing.txt'), 'mine');
  const tmp = await rawTree(repo, [await fileNode(repo, 'pwned.txt', 'evil'), node('deeper', 'dir', { subtree: await rawTree(repo, [await fileNode(repo, 'x', 'evil')]) })]);
  const root = await rawTree(repo, [
    await fileNode(repo, 'dangling', 'evil'),
    await fileNode(repo, 'existing.txt', 'theirs'),
    await fileNode(repo, 'good.txt', 'good'),
    node('tmp', 'dir', { subtree: tmp }),
    await fileNode(repo, 'victim', 'evil'),
  ]);
  const r = await restoreSnapshot(repo, await snapshotOf(repo, root), { target });

  assert.deepEqual(readdirSync(outside), ['victim.txt']);
  assert.equal(readFileSync(join(outside, 'victim.txt'), 'utf8'), 'do not touch');
  assert.equal(readFileSync(join(target, 'existing.txt'), 'utf8'), 'mine');
  assert.equal(readFileSync(join(target, 'good.txt'), 'utf8'), 'good');
  assert.equal(errorFor(r, '/tmp')?.code, ErrorCode.UnsafePath);
  for (const p of ['/dangling', '/existing.txt', '/victim']) assert.match(errorFor(r, p)?.message ?? '', /already exists in the target; restore into a new folder/, p);
  assert.equal(r.errors.length, 4);
  assert.ok(lstatSync(join(target, 'dangling')).isSymbolicLink());
});

test('unreadable subtrees and missing blobs are reported; everything else restores', async (t) => {
  const { dir, target } = setup(t);
  const repo = await Repository.init(new LocalBackend(join(dir, 'repo')), 'pw', { kdf: TEST_KDF });
  // A tree restic's decoder refuses (empty name), one that is not stored at all, a dir without a
  // subtree, a file whose blob is unknown, and a file with no content list.
  const broken = (await repo.saveBlob('tree', Buffer.from('{"nodes":[{"name":"","type":"file","content":[]}]}\n'))).id;
  const unknown = 'ab'.repeat(32);
  const root = await rawTree(repo, [
    node('broken', 'dir', { subtree: broken }),
    await fileNode(repo, 'good.txt', 'good'),
    node('lost', 'dir', { subtree: unknown }),
    node('no-content', 'file', { content: null }),
    node('no-subtree', 'dir'),
    node('unknown-blob.bin', 'file', { content: [unknown], size: 10 }),
  ]);
  const r = await restoreSnapshot(repo, await snapshotOf(repo, root), { target });
  assert.deepEqual(r.errors.map((e) => e.path).sort(), ['/broken', '/lost', '/no-content', '/no-subtree', '/unknown-blob.bin']);
  assert.equal(errorFor(r, '/lost')?.code, ErrorCode.MissingObject);
  assert.equal(errorFor(r, '/unknown-blob.bin')?.code, ErrorCode.MissingObject);
  assert.equal(readFileSync(join(target, 'good.txt'), 'utf8'), 'good');
  assert.ok(!existsSync(join(target, 'unknown-blob.bin')), 'no partial file');
  // Folders whose contents could not be read are still created, with their metadata.
  assert.ok(lstatSync(join(target, 'broken')).isDirectory());
});

test('a damaged blob fails only its files; a second stored copy is used when there is one', async (t) => {
  const { dir, target } = setup(t);
  const repoDir = join(dir, 'repo');
  const repo = await Repository.init(new LocalBackend(repoDir), 'pw', { kdf: TEST_KDF });
  const once = await fileNode(repo, 'damaged.txt', 'stored once, then damaged');
  const twice = await fileNode(repo, 'copied.txt', 'stored twice, first copy damaged');
  const fine = await fileNode(repo, 'fine.txt', 'fine');
  const sn = await snapshotOf(repo, await rawTree(repo, [once, twice, fine]));
  // A second session without the index stores the blob again, in another pack.
  const other = await Repository.open(new LocalBackend(repoDir), 'pw');
  await other.saveBlob('data', Buffer.from('stored twice, first copy damaged'));
  await other.flush();

  const reader = await Repository.open(new LocalBackend(repoDir), 'pw');
  await reader.loadIndex();
  const damage = (blob: ID) => {
    const loc = reader.index.lookup('data', blob)[0];
    const file = join(repoDir, 'data', loc.pack.slice(0, 2), loc.pack);
    chmodSync(file, 0o600);
    const bytes = readFileSync(file);
    bytes[loc.offset + 20] ^= 0xff;
    writeFileSync(file, bytes);
  };
  assert.equal(reader.index.lookup('data', twice.content![0]).length, 2);
  damage(once.content![0]);
  damage(twice.content![0]);

  const r = await restoreSnapshot(reader, sn, { target });
  assert.deepEqual(r.errors.map((e) => [e.path, e.code]), [['/damaged.txt', ErrorCode.CorruptObject]]);
  assert.match(r.errors[0].message, /MAC check failed/);
  assert.ok(!existsSync(join(target, 'damaged.txt')));
  assert.equal(readFileSync(join(target, 'copied.txt'), 'utf8'), 'stored twice, first copy damaged');
  assert.equal(readFileSync(join(target, 'fine.txt'), 'utf8'), 'fine');
});
