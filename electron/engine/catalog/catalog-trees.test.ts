// Catalog behaviour on hand-built trees served by an in-memory loader: damaged trees and their retry
// from another copy, crash consistency and resume, garbage collection, restore point merging and
// ordering, and awkward names (not UTF-8, newlines, LIKE wildcards, case folding).
// The real-repository tests are in catalog.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { TreeNode } from '../repo/types';
import { Catalog, type SnapshotInfo } from './catalog';

/** A folder: name -> file content (string), symlink ({ link }), or sub-folder. */
interface Dir {
  [name: string]: string | { link: string } | Dir;
}

const T = '2026-01-02T03:04:05.123456789+09:00';

/** Serves trees built from Dir objects; tree IDs are content hashes, so equal folders share an ID. */
class FakeRepo {
  readonly trees = new Map<string, TreeNode[]>();
  readonly broken = new Set<string>();
  loads = 0;
  loaded: string[] = [];

  add(dir: Dir): string {
    const nodes: TreeNode[] = [];
    for (const [key, v] of Object.entries(dir).sort(([a], [b]) => Buffer.compare(nameBuf(a), nameBuf(b)))) {
      const name = nameBuf(key);
      const base = { name, mode: 0o644, mtime: T, atime: T, ctime: T, uid: 1000, gid: 1000 };
      if (typeof v === 'string') {
        nodes.push({ ...base, type: 'file', size: Buffer.byteLength(v), content: v ? [sha(v)] : [] });
      } else if ('link' in v && typeof v.link === 'string') {
        nodes.push({ ...base, type: 'symlink', linktarget: Buffer.from(v.link), content: null });
      } else {
        nodes.push({ ...base, type: 'dir', mode: 2 ** 31 + 0o755, content: null, subtree: this.add(v as Dir) });
      }
    }
    const id = sha(JSON.stringify(nodes.map((n) => [n.name.toString('hex'), n.type, n.size, n.subtree, n.content, n.linktarget?.toString('hex')])));
    this.trees.set(id, nodes);
    return id;
  }

  async loadTree(id: string): Promise<TreeNode[]> {
    this.loads++;
    this.loaded.push(id);
    await new Promise((r) => setImmediate(r));
    if (this.broken.has(id)) throw new Error(`tree ${id} cannot be decoded: MAC check failed`);
    const t = this.trees.get(id);
    if (!t) throw new Error(`tree ${id} not found`);
    return t;
  }
}

/** "\\xff" in a Dir key stands for the raw byte 0xff (a name that is not UTF-8). */
function nameBuf(key: string): Buffer {
  const parts = key.split('\\xff');
  return Buffer.concat(parts.flatMap((p, i) => (i ? [Buffer.from([0xff]), Buffer.from(p)] : [Buffer.from(p)])));
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function snap(tree: string, over: Partial<SnapshotInfo> = {}): SnapshotInfo {
  return { destinationId: 'd1', snapshotId: sha(tree + JSON.stringify(over)), time: T, paths: ['/home/me'], hostname: 'pc', tree, ...over };
}

function wrap(inner: Dir): Dir {
  return { home: { me: inner } };
}

function treeAt(repo: FakeRepo, root: string, path: string): string {
  let id = root;
  for (const part of path.split('/').filter(Boolean)) {
    const n = repo.trees.get(id)!.find((x) => x.name.equals(nameBuf(part)));
    id = n!.subtree!;
  }
  return id;
}

function names(entries: { name: string }[]): string[] {
  return entries.map((e) => e.name);
}

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'mamori-catalog-unit-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('browse lists folders first then names; types, sizes (folders: their total), mtimes; errors for unknown points and paths', async () => {
  const repo = new FakeRepo();
  const root = repo.add(wrap({ 'b.txt': 'bbb', A: { x: '12345' }, 'a.txt': 'a', c: { y: 'yy', z: { w: '1' } }, link: { link: '/etc/passwd' } }));
  const cat = new Catalog(new Database(':memory:'));
  const s = snap(root);
  const r = await cat.indexSnapshot(repo, s);
  assert.equal(r.treesLoaded, 6);
  assert.deepEqual(r.damaged, []);
  const list = cat.browse(s.snapshotId, '/home/me');
  assert.deepEqual(list.map((e) => [e.name, e.type, e.size, e.path]), [
    ['A', 'dir', 5, '/home/me/A'],
    ['c', 'dir', 3, '/home/me/c'],
    ['a.txt', 'file', 1, '/home/me/a.txt'],
    ['b.txt', 'file', 3, '/home/me/b.txt'],
    ['link', 'symlink', 0, '/home/me/link'],
  ]);
  assert.equal(list[0].mtime, T);
  assert.deepEqual(names(cat.browse(s.snapshotId, '/')), ['home']);
  assert.deepEqual(names(cat.browse(s.snapshotId, '')), ['home']);
  assert.deepEqual(names(cat.browse(s.snapshotId, '/home/me/c/z/')), ['w']);
  assert.throws(() => cat.browse('nope', '/'), { code: 'SNAPSHOT_NOT_FOUND' });
  assert.throws(() => cat.browse(s.snapshotId, '/home/you'), { code: 'PATH_NOT_FOUND' });
  assert.throws(() => cat.browse(s.snapshotId, '/home/me/a.txt'), { code: 'PATH_NOT_FOUND', message: /not a folder/ });
  const [p] = cat.listPoints();
  assert.equal(p.fileCount, 5);
  assert.equal(p.totalSize, 1 + 3 + 5 + 2 + 1);
});

test('names that are not UTF-8, hold newlines or LIKE wildcards are stored, browsed and searched literally', async () => {
  const repo = new FakeRepo();
  const root = repo.add(wrap({
    'bad-\\xff-dir': { 'inside.txt': 'i' },
    'line\nbreak.txt': 'n',
    '100%_done.txt': '%',
    'a_b.txt': '_',
    'aXb.txt': 'x',
    '50%.txt': '5',
    '5000.txt': '0',
    'École Notes.md': 'e',
    '報告書 2026.txt': 'r',
  }));
  const cat = new Catalog(new Database(':memory:'));
  const s = snap(root);
  await cat.indexSnapshot(repo, s);
  const bad = cat.browse(s.snapshotId, '/home/me').find((e) => e.name.startsWith('bad-'))!;
  assert.equal(bad.name, 'bad-\ufffd-dir');
  assert.deepEqual(names(cat.browse(s.snapshotId, bad.path)), ['inside.txt']);
  const found = (q: string) => cat.search(q).map((h) => h.path.slice('/home/me/'.length)).sort();
  assert.deepEqual(found('%'), ['100%_done.txt', '50%.txt']);
  assert.deepEqual(found('0%'), ['100%_done.txt', '50%.txt']);
  assert.deepEqual(found('_'), ['100%_done.txt', 'a_b.txt']);
  assert.deepEqual(found('a_b'), ['a_b.txt']);
  assert.deepEqual(found('line\nbreak'), ['line\nbreak.txt']);
  assert.deepEqual(found('ak.t'), ['line\nbreak.txt']);
  assert.deepEqual(found('inside'), ['bad-\ufffd-dir/inside.txt']);
  assert.deepEqual(found('\ufffd'), ['bad-\ufffd-dir']);
  assert.deepEqual(found('école'), ['École Notes.md']);
  assert.deepEqual(found('NOTES éco'), ['École Notes.md']);
  assert.deepEqual(found('報告'), ['報告書 2026.txt']);
  assert.deepEqual(found('報告書'), ['報告書 2026.txt']);
  // Two characters go through the character-pair index: anywhere in the name, any case.
  assert.deepEqual(found('éC'), ['École Notes.md']);
  assert.deepEqual(found('MD'), ['École Notes.md']);
  assert.deepEqual(found('0% 5'), ['50%.txt']);
  assert.deepEqual(found('xb'), ['aXb.txt']);
  assert.deepEqual(found('zzz'), []);
  assert.deepEqual(found('   '), []);
  const v = cat.versions(undefined, '/home/me/' + bad.name + '/inside.txt');
  assert.equal(v.length, 1);
});

test('restore points: copies with the same tree, time, paths and host merge; others do not; newest instant first', async () => {
  const repo = new FakeRepo();
  const r1 = repo.add(wrap({ a: '1' }));
  const r2 = repo.add(wrap({ a: '2' }));
  const cat = new Catalog(new Database(':memory:'), { destinationName: (id) => `Drive ${id}` });
  await cat.indexSnapshot(repo, snap(r1, { destinationId: 'd1', snapshotId: 'aaa1', time: '2026-01-01T10:00:00+09:00', sourceId: 'docs' }));
  await cat.indexSnapshot(repo, snap(r1, { destinationId: 'd2', snapshotId: 'bbb1', time: '2026-01-01T10:00:00+09:00' }));
  // Same tree, later time (nothing changed): a point of its own. 02:00Z is after 10:00+09:00 (01:00Z).
  await cat.indexSnapshot(repo, snap(r1, { destinationId: 'd1', snapshotId: 'aaa2', time: '2026-01-01T02:00:00Z' }));
  await cat.indexSnapshot(repo, snap(r2, { destinationId: 'd1', snapshotId: 'aaa3', time: '2026-01-01T01:30:00Z', hostname: 'other' }));
  const pts = cat.listPoints();
  assert.deepEqual(pts.map((p) => [p.id, p.copies.map((c) => `${c.destinationName}:${c.snapshotId}`)]), [
    ['aaa2', ['Drive d1:aaa2']],
    ['aaa3', ['Drive d1:aaa3']],
    ['aaa1', ['Drive d1:aaa1', 'Drive d2:bbb1']],
  ]);
  assert.equal(pts[2].sourceId, 'docs', 'the copy without a source takes it from its sibling');
  assert.equal(pts[2].hostname, 'pc');
  assert.deepEqual(cat.listPoints({ sourceId: 'docs' }).map((p) => p.id), ['aaa1']);
  // Any copy's snapshot ID opens the point.
  assert.deepEqual(names(cat.browse('bbb1', '/home/me')), ['a']);
  // Indexing a copy again changes nothing but may name its source.
  const again = await cat.indexSnapshot(repo, snap(r2, { destinationId: 'd1', snapshotId: 'aaa3', time: '2026-01-01T01:30:00Z', hostname: 'other', sourceId: 'docs' }));
  assert.equal(again.alreadyIndexed, true);
  assert.equal(again.treesLoaded, 0);
  assert.deepEqual(cat.listPoints({ sourceId: 'docs' }).map((p) => p.id), ['aaa3', 'aaa1']);
  // Versions: one per point, newest first, same content marked by equal keys.
  const v = cat.versions(undefined, '/home/me/a');
  assert.deepEqual(v.map((x) => x.pointId), ['aaa2', 'aaa3', 'aaa1']);
  assert.equal(v[0].contentKey, v[2].contentKey);
  assert.notEqual(v[0].contentKey, v[1].contentKey);
  assert.deepEqual(cat.versions('docs', '/home/me/a').map((x) => x.pointId), ['aaa3', 'aaa1']);
  assert.deepEqual(cat.versions(undefined, '/home/me/none'), []);
  // Search: one hit per point, newest first; sourceId and limit apply.
  assert.deepEqual(cat.search('a').map((h) => h.pointId), ['aaa2', 'aaa3', 'aaa1']);
  assert.deepEqual(cat.search('a', { sourceId: 'docs' }).map((h) => h.pointId), ['aaa3', 'aaa1']);
  assert.deepEqual(cat.search('a', { limit: 1 }).map((h) => h.pointId), ['aaa2']);
});

test('a damaged tree is reported and skipped; indexing an intact copy from another destination fills it in', async () => {
  const repo = new FakeRepo();
  const root = repo.add(wrap({ good: { g: 'g' }, bad: { deep: { f1: 'one', f2: 'two' }, top: 'x' }, file: 'f' }));
  const badId = treeAt(repo, root, '/home/me/bad');
  repo.broken.add(badId);
  const cat = new Catalog(new Database(':memory:'));
  const s1 = snap(root, { destinationId: 'usb', snapshotId: 'c1' });
  const r = await cat.indexSnapshot(repo, s1);
  assert.deepEqual(r.damaged.map((d) => [d.path, d.tree]), [['/home/me/bad', badId]]);
  assert.match(r.damaged[0].error, /MAC/);
  assert.deepEqual(names(cat.browse('c1', '/home/me')), ['bad', 'good', 'file']);
  assert.deepEqual(names(cat.browse('c1', '/home/me/good')), ['g']);
  assert.throws(() => cat.browse('c1', '/home/me/bad'), { code: 'CORRUPT_OBJECT' });
  assert.equal(cat.listPoints()[0].fileCount, 2);

  // The same snapshot on an intact destination: only the damaged part is loaded.
  repo.broken.clear();
  repo.loaded = [];
  const r2 = await cat.indexSnapshot(repo, snap(root, { destinationId: 'nas', snapshotId: 'c2' }));
  assert.deepEqual(r2.damaged, []);
  assert.deepEqual(repo.loaded.sort(), [badId, treeAt(repo, root, '/home/me/bad/deep')].sort());
  assert.deepEqual(names(cat.browse('c1', '/home/me/bad/deep')), ['f1', 'f2']);
  const pts = cat.listPoints();
  assert.equal(pts.length, 1);
  assert.equal(pts[0].fileCount, 5);
  assert.equal(pts[0].totalSize, 1 + 3 + 3 + 1 + 1);
  assert.equal(cat.search('f2').length, 1);

  // Now complete: a third copy loads nothing.
  repo.loaded = [];
  await cat.indexSnapshot(repo, snap(root, { destinationId: 'cloud', snapshotId: 'c3' }));
  assert.deepEqual(repo.loaded, []);
});

test('an unreadable root tree leaves a point that says so, and a folder node without a subtree is reported', async () => {
  const repo = new FakeRepo();
  const root = repo.add(wrap({ a: 'a' }));
  repo.broken.add(root);
  const cat = new Catalog(new Database(':memory:'));
  const r = await cat.indexSnapshot(repo, snap(root, { snapshotId: 'x1' }));
  assert.deepEqual(r.damaged.map((d) => d.path), ['/']);
  assert.throws(() => cat.browse('x1', '/'), { code: 'CORRUPT_OBJECT' });
  assert.equal(cat.listPoints().length, 1);

  const odd = repo.add({ ok: 'x' });
  const nodes = repo.trees.get(odd)!;
  nodes.push({ ...nodes[0], name: Buffer.from('weird'), type: 'dir', content: null, size: 0 });
  const r2 = await cat.indexSnapshot(repo, snap(odd, { snapshotId: 'x2' }));
  assert.deepEqual(r2.damaged.map((d) => d.path), ['/weird']);
  assert.deepEqual(names(cat.browse('x2', '/')), ['weird', 'ok']);
});

test('incremental: a new snapshot loads only its changed trees; removing snapshots frees what nothing else uses', async () => {
  const repo = new FakeRepo();
  const big: Dir = {};
  for (let i = 0; i < 20; i++) big[`folder-${i}`] = { 'same.txt': 'same', [`unique-${i}.txt`]: `u${i}` };
  const root1 = repo.add(wrap({ ...big, docs: { 'report.docx': 'v1', old: { 'gone.txt': 'bye' } } }));
  const root2 = repo.add(wrap({ ...big, docs: { 'report.docx': 'v2', 'new.txt': 'n' } }));
  const cat = new Catalog(new Database(':memory:'));
  await cat.indexSnapshot(repo, snap(root1, { snapshotId: 's1', time: '2026-01-01T00:00:00Z' }));
  const firstTrees = cat.stats().trees;
  repo.loaded = [];
  const r = await cat.indexSnapshot(repo, snap(root2, { snapshotId: 's2', time: '2026-01-02T00:00:00Z' }));
  // root, home, me, docs changed; the 20 folders did not.
  assert.deepEqual(repo.loaded.sort(), [root2, treeAt(repo, root2, '/home'), treeAt(repo, root2, '/home/me'), treeAt(repo, root2, '/home/me/docs')].sort());
  assert.equal(r.treesLoaded, 4);
  assert.ok(r.treesReused >= 20);
  assert.equal(cat.stats().trees, firstTrees + 4);
  assert.equal(cat.search('gone').length, 1);
  assert.equal(cat.search('same.txt').length, 40, '20 folders x 2 points');

  assert.equal(await cat.removeSnapshot('d1', 's1'), true);
  assert.equal(await cat.removeSnapshot('d1', 's1'), false);
  assert.deepEqual(cat.search('gone'), [], 'names only s1 had are gone');
  assert.equal(cat.search('same.txt').length, 20);
  assert.deepEqual(names(cat.browse('s2', '/home/me/folder-3')), ['same.txt', 'unique-3.txt']);
  assert.equal(cat.stats().trees, firstTrees + 4 - 5, 's1 root, home, me, docs and docs/old freed');
  assert.equal(await cat.removeDestination('d1'), 1);
  assert.deepEqual(cat.stats(), { snapshots: 0, points: 0, trees: 0, entries: 0, names: 0 });
});

test('a crash mid-index leaves a consistent catalog, and the next run resumes without reloading what was stored', async (t) => {
  const dir = tempDir(t);
  const repo = new FakeRepo();
  const tree: Dir = {};
  // 63 trees (root, home, me, 60 folders) and over 20,000 entries, so batches are committed before the walk ends.
  for (let i = 0; i < 60; i++) {
    const f: Dir = {};
    for (let j = 0; j < 500; j++) f[`file-${i}-${j}.dat`] = `${i}/${j}`;
    tree[`dir-${String(i).padStart(2, '0')}`] = f;
  }
  const root = repo.add(wrap(tree));
  const path = join(dir, 'catalog.db');
  const cat = new Catalog(path);
  let calls = 0;
  const dying = {
    loadTree: async (id: string) => {
      if (++calls === 50) cat.close(); // the process "dies": nothing after this reaches the file
      return repo.loadTree(id);
    },
  };
  await assert.rejects(cat.indexSnapshot(dying, snap(root, { snapshotId: 'big' })));

  const again = new Catalog(path);
  assert.equal(again.db.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal(again.stats().snapshots, 0);
  const stored = again.stats().trees;
  assert.ok(stored > 0 && stored < 63, `some trees were committed (${stored})`);
  // Every stored tree is complete: its entries and every tree below it are there.
  const bad = again.db.prepare(`SELECT count(*) AS n FROM entries e LEFT JOIN trees c ON c.id = e.subtree WHERE e.subtree IS NOT NULL AND (c.id IS NULL OR c.state <> 2)`).get() as { n: number };
  assert.equal(bad.n, 0);
  repo.loaded = [];
  const r = await again.indexSnapshot(repo, snap(root, { snapshotId: 'big' }));
  assert.equal(r.treesLoaded, 63 - stored, 'stored trees are not loaded again');
  assert.equal(again.listPoints()[0].fileCount, 30_000);
  assert.equal(again.browse('big', '/home/me/dir-42').length, 500);
  assert.equal(await again.compact(), 0);
  again.close();
});

test('a damaged catalog file is moved aside and a new one started', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'catalog.db');
  writeFileSync(path, Buffer.alloc(8192, 7));
  const cat = new Catalog(path, { now: () => new Date('2026-11-22T00:00:00Z') });
  assert.match(cat.movedAside ?? '', /catalog\.db\.corrupt-2026-11-22T00-00-00-000Z$/);
  assert.deepEqual(cat.listPoints(), []);
  cat.close();
});
