// The catalog on real repositories: a generated source tree is backed up by the engine to two local
// destinations at once (fan-out: one snapshot, two copies), indexed, and every answer (restore
// points, browse of every folder, name search, versions) is compared with the file system itself.
// Also: a second backup loads only the trees that changed, a deleted catalog is rebuilt from the
// destinations, and a damaged tree is reported without hiding the rest.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CatalogEntry } from '../../../shared/api';
import { makeSourceTree } from '../../../tests/helpers/source-tree';
import { backup } from '../backup';
import { FanOut } from '../fanout/fanout';
import { parseGoTime, Repository, type SnapshotWithId, type TreeNode } from '../repo';
import { walkTree } from '../restore/walk';
import { LocalBackend } from '../storage';
import { Catalog } from './catalog';

const PW = 'catalog test password';
const KDF = { N: 1024, r: 8, p: 1 };

interface FsEntry {
  name: string;
  path: string;
  type: CatalogEntry['type'];
  size: number;
  mtimeNs: bigint;
}

/** The oracle: every folder's entries under root (display paths), plus root's ancestors as the snapshot holds them. */
function fsListing(root: string): Map<string, FsEntry[]> {
  const out = new Map<string, FsEntry[]>();
  const totals = new Map<string, number>();
  const walk = (dir: Buffer, display: string): number => {
    const list: FsEntry[] = [];
    let total = 0;
    for (const raw of readdirSync(dir, { encoding: 'buffer' })) {
      const p = Buffer.concat([dir, Buffer.from('/'), raw]);
      const name = raw.toString('utf8');
      const st = lstatSync(p, { bigint: true });
      const path = `${display}/${name}`;
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      let size = type === 'file' ? Number(st.size) : 0;
      if (type === 'dir') size = walk(p, path);
      total += type === 'symlink' ? 0 : size;
      list.push({ name, path, type, size, mtimeNs: st.mtimeNs });
    }
    out.set(display, list);
    totals.set(display, total);
    return total;
  };
  const total = walk(Buffer.from(root), root);
  const parts = root.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const dir = '/' + parts.slice(0, i).join('/');
    const path = '/' + parts.slice(0, i + 1).join('/');
    // Ancestors' mtimes move whenever anything else touches /tmp: not compared (-1).
    out.set(i === 0 ? '/' : dir, [{ name: parts[i], path, type: 'dir', size: total, mtimeNs: -1n }]);
  }
  return out;
}

function allEntries(listing: Map<string, FsEntry[]>): FsEntry[] {
  return [...listing.values()].flat();
}

function countingLoader(repo: { loadTree(id: string): Promise<TreeNode[]> }, fail?: Set<string>) {
  const loaded: string[] = [];
  return {
    loaded,
    async loadTree(id: string) {
      loaded.push(id);
      if (fail?.has(id)) throw new Error(`tree ${id} is damaged (test)`);
      return repo.loadTree(id);
    },
  };
}

async function treeIds(repo: Repository, sn: SnapshotWithId): Promise<Set<string>> {
  const ids = new Set([sn.tree]);
  for await (const { node } of walkTree(repo, sn.tree)) if (node.subtree) ids.add(node.subtree);
  return ids;
}

function info(destinationId: string, s: SnapshotWithId) {
  return { destinationId, snapshotId: s.id, time: s.time, paths: s.paths, hostname: s.hostname ?? '', tree: s.tree, tags: s.tags ?? [], sourceId: 'src-1' };
}

describe('catalog on real repositories', () => {
  let tmp: string;
  let src: string;
  let repoA: Repository;
  let repoB: Repository;
  let cat: Catalog;
  let catPath: string;
  const snaps: { a: SnapshotWithId[]; b: SnapshotWithId[] } = { a: [], b: [] };
  let listing1: Map<string, FsEntry[]>;

  async function backupBoth(): Promise<void> {
    const fan = new FanOut([{ id: 'a', repo: repoA }, { id: 'b', repo: repoB }]);
    const r = await backup(fan, { paths: [src] });
    assert.deepEqual(r.errors, []);
    const [ma, mb] = fan.members;
    snaps.a.push(await repoA.loadSnapshot(ma.snapshotId!));
    snaps.b.push(await repoB.loadSnapshot(mb.snapshotId!));
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'mamori-catalog-'));
    src = join(tmp, 'src');
    makeSourceTree(src, { largeSize: 256 * 1024, smallFiles: 40 });
    const odd = join(src, 'odd');
    mkdirSync(odd);
    for (const n of ['line\nbreak.txt', '100%_done.txt', 'a_b.txt', 'aXb.txt', '50%.txt', '5000.txt', 'Report FINAL.docx']) writeFileSync(join(odd, n), n);
    // Many folders that stay unchanged, so incremental indexing has something to skip.
    for (let i = 0; i < 12; i++) {
      const sub = join(src, 'projects', `project-${i}`, 'src');
      mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, `main-${i}.ts`), `export const n = ${i};\n`);
      writeFileSync(join(src, 'projects', `project-${i}`, 'README.md'), `# project ${i}\n`);
    }
    const badDir = Buffer.from(join(src, 'bad-\xff-dir'), 'latin1');
    mkdirSync(badDir);
    writeFileSync(Buffer.concat([badDir, Buffer.from('/inside.txt')]), 'inside');
    repoA = await Repository.init(new LocalBackend(join(tmp, 'a')), PW, { kdf: KDF });
    repoB = await Repository.init(new LocalBackend(join(tmp, 'b')), PW, { kdf: KDF, chunkerPolynomial: repoA.config.chunkerPolynomial });
    await backupBoth();
    listing1 = fsListing(src);
    catPath = join(tmp, 'home', 'catalog.db');
    cat = new Catalog(catPath, { destinationName: (id) => `Drive ${id.toUpperCase()}` });
  });

  after(() => {
    cat?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('one snapshot on two destinations is one restore point with two copies; the second copy loads no tree', async () => {
    const la = countingLoader(repoA);
    const ra = await cat.indexSnapshot(la, info('a', snaps.a[0]));
    assert.deepEqual(ra.damaged, []);
    assert.equal(ra.treesLoaded, (await treeIds(repoA, snaps.a[0])).size);
    assert.equal(new Set(la.loaded).size, la.loaded.length, 'no tree loaded twice');
    const lb = countingLoader(repoB);
    const rb = await cat.indexSnapshot(lb, info('b', snaps.b[0]));
    assert.deepEqual(lb.loaded, []);
    assert.equal(rb.treesLoaded, 0);

    const points = cat.listPoints();
    assert.equal(points.length, 1);
    const [p] = points;
    assert.notEqual(snaps.a[0].id, snaps.b[0].id, 'two keys: two snapshot IDs');
    assert.equal(p.id, snaps.a[0].id);
    assert.deepEqual(p.copies, [
      { destinationId: 'a', destinationName: 'Drive A', snapshotId: snaps.a[0].id },
      { destinationId: 'b', destinationName: 'Drive B', snapshotId: snaps.b[0].id },
    ]);
    assert.deepEqual(p.paths, [src]);
    assert.equal(p.sourceId, 'src-1');
    assert.equal(p.time, snaps.a[0].time);
    const files = allEntries(listing1).filter((e) => e.type === 'file' && e.path.startsWith(src + '/'));
    assert.equal(p.fileCount, files.length);
    assert.equal(p.totalSize, files.reduce((s, e) => s + e.size, 0));
  });

  test('browsing any folder gives what the file system holds: names, types, sizes, mtimes, folders first', () => {
    const pointId = cat.listPoints()[0].id;
    let folders = 0;
    for (const [dir, expected] of listing1) {
      const got = cat.browse(pointId, dir);
      const want = [...expected].sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(
        [...got].sort((a, b) => a.name.localeCompare(b.name)).map((e, i) => [e.name, e.path, e.type, e.size, want[i]?.mtimeNs === -1n ? -1n : parseGoTime(e.mtime)]),
        want.map((e) => [e.name, e.path, e.type, e.size, e.mtimeNs]),
        dir,
      );
      const firstNonDir = got.findIndex((e) => e.type !== 'dir');
      assert.ok(firstNonDir === -1 || got.slice(firstNonDir).every((e) => e.type !== 'dir'), `folders first in ${dir}`);
      folders++;
    }
    assert.ok(folders >= 10);
    // The same point opened through its other copy's snapshot ID.
    assert.deepEqual(cat.browse(snaps.b[0].id, src), cat.browse(pointId, src));
  });

  test('searching names matches the file system: substrings, case-insensitive, tokens, wildcards literal', () => {
    const pointId = cat.listPoints()[0].id;
    const everything = allEntries(listing1);
    const queries = ['note-01', 'NOTE-00', '報告書', '報告', 'bad-', 'inside', '%', '_', 'a_b', '0%', 'txt', 'copy bin', 'report final', 'line\nbreak', 'zzz-none', 'e'];
    for (const q of queries) {
      const tokens = q.toLowerCase().split(/\s+/).filter(Boolean);
      const want = everything.filter((e) => tokens.every((t) => e.name.toLowerCase().includes(t)));
      const got = cat.search(q, { limit: 1000 });
      assert.deepEqual(got.map((h) => h.path).sort(), want.map((e) => e.path).sort(), `query ${JSON.stringify(q)}`);
      for (const h of got) {
        const e = want.find((x) => x.path === h.path)!;
        assert.deepEqual([h.pointId, h.time, h.type, h.size], [pointId, snaps.a[0].time, e.type, e.size], h.path);
      }
    }
    assert.ok(cat.search('note', { limit: 1000 }).length >= 40);
    assert.equal(cat.search('note', { limit: 5 }).length, 5);
    assert.deepEqual(cat.search('note', { sourceId: 'another-source' }), []);
  });

  test('a second backup: only changed trees are loaded; versions list every point, newest first, with content keys', async () => {
    const docs = join(src, 'docs');
    const oldSize = lstatSync(join(docs, 'note-003.txt')).size;
    writeFileSync(join(docs, 'note-003.txt'), 'changed content\n');
    writeFileSync(join(docs, 'new-file.txt'), 'new\n');
    await backupBoth();
    const before1 = await treeIds(repoA, snaps.a[0]);
    const now2 = await treeIds(repoA, snaps.a[1]);
    const changed = [...now2].filter((id) => !before1.has(id));
    assert.ok(changed.length >= src.split('/').length, 'the path from the root to docs changed');
    assert.ok(changed.length < now2.size / 2, `most trees are unchanged (${changed.length} of ${now2.size})`);

    const la = countingLoader(repoA);
    const r = await cat.indexSnapshot(la, info('a', snaps.a[1]));
    assert.deepEqual(la.loaded.sort(), changed.sort());
    assert.equal(r.treesLoaded, changed.length);
    const lb = countingLoader(repoB);
    await cat.indexSnapshot(lb, info('b', snaps.b[1]));
    assert.deepEqual(lb.loaded, []);

    const points = cat.listPoints();
    assert.deepEqual(points.map((p) => p.id), [snaps.a[1].id, snaps.a[0].id]);
    assert.ok(points.every((p) => p.copies.length === 2));

    const v3 = cat.versions('src-1', join(docs, 'note-003.txt'));
    assert.deepEqual(v3.map((v) => [v.pointId, v.time, v.size]), [[snaps.a[1].id, snaps.a[1].time, 16], [snaps.a[0].id, snaps.a[0].time, oldSize]]);
    assert.notEqual(v3[0].contentKey, v3[1].contentKey);
    const v4 = cat.versions('src-1', join(docs, 'note-004.txt'));
    assert.equal(v4.length, 2);
    assert.equal(v4[0].contentKey, v4[1].contentKey);
    assert.equal(v4[0].mtime, v4[1].mtime);
    // Same bytes under two names share a key too.
    const [ca] = cat.versions(undefined, join(src, 'media', 'copy-a.bin'));
    const [cb] = cat.versions(undefined, join(src, 'media', 'copy-b.bin'));
    assert.equal(ca.contentKey, cb.contentKey);
    assert.deepEqual(cat.versions('src-1', join(docs, 'new-file.txt')).map((v) => v.pointId), [snaps.a[1].id]);
    assert.deepEqual(cat.versions('someone-else', join(docs, 'note-003.txt')), []);
    assert.deepEqual(cat.search('new-file').map((h) => h.pointId), [snaps.a[1].id]);
    assert.deepEqual(cat.search('note-004').map((h) => h.pointId), [snaps.a[1].id, snaps.a[0].id], 'newest first');
  });

  test('after the catalog file is deleted, rebuilding from the destinations restores every point; vanished snapshots are dropped', async () => {
    const points = cat.listPoints();
    const folder = cat.browse(points[1].id, join(src, 'docs'));
    cat.close();
    for (const ext of ['', '-wal', '-shm']) rmSync(catPath + ext, { force: true });
    cat = new Catalog(catPath, { destinationName: (id) => `Drive ${id.toUpperCase()}` });
    assert.deepEqual(cat.listPoints(), []);

    const openA = await Repository.open(new LocalBackend(join(tmp, 'a')), PW);
    await openA.loadIndex();
    const ra = await cat.rebuild('a', openA, { sourceOf: () => 'src-1' });
    assert.deepEqual([ra.added, ra.removed, ra.kept, ra.damaged, ra.unreadable], [2, 0, 0, [], []]);
    const openB = await Repository.open(new LocalBackend(join(tmp, 'b')), PW);
    await openB.loadIndex();
    const lb = Object.assign(countingLoader(openB), {
      listSnapshots: () => openB.listSnapshots(),
      listIds: (t: 'snapshot') => openB.listIds(t),
      loadSnapshot: (id: string) => openB.loadSnapshot(id),
    });
    const rb = await cat.rebuild('b', lb);
    assert.equal(rb.added, 2);
    assert.deepEqual(lb.loaded, [], 'every tree came with destination a');
    assert.deepEqual(cat.listPoints(), points, 'same points, copies, sources and totals');
    assert.deepEqual(cat.browse(points[1].id, join(src, 'docs')), folder);

    // The old snapshot disappears from destination a (forgotten there): its point keeps b's copy.
    await openA.backend.remove({ type: 'snapshot', name: snaps.a[0].id });
    const again = await cat.rebuild('a', openA);
    assert.deepEqual([again.added, again.removed, again.kept], [0, 1, 1]);
    const after2 = cat.listPoints();
    assert.deepEqual(after2.map((p) => p.copies.map((c) => c.snapshotId)), [[snaps.a[1].id, snaps.b[1].id], [snaps.b[0].id]]);
    assert.equal(after2[1].id, snaps.b[0].id);
    assert.deepEqual(cat.browse(snaps.b[0].id, join(src, 'docs')), folder);
    await cat.rebuild('b', openB);
    assert.equal(cat.stats().snapshots, 3);
  });

  test('a damaged tree in a real repository is reported and skipped; the rest of the snapshot is browsable', async () => {
    const sn = snaps.a[1];
    const fresh = new Catalog(join(tmp, 'damaged.db'));
    try {
      let docsTree = '';
      for await (const { path, node } of walkTree(repoA, sn.tree)) if (path === join(src, 'docs')) docsTree = node.subtree!;
      const loader = countingLoader(repoA, new Set([docsTree]));
      const r = await fresh.indexSnapshot(loader, info('a', sn));
      assert.deepEqual(r.damaged.map((d) => [d.path, d.tree]), [[join(src, 'docs'), docsTree]]);
      assert.ok(fresh.browse(sn.id, src).some((e) => e.name === 'docs'));
      assert.throws(() => fresh.browse(sn.id, join(src, 'docs')), { code: 'CORRUPT_OBJECT' });
      assert.equal(fresh.browse(sn.id, join(src, 'media')).length, 4);
      assert.deepEqual(fresh.search('note-00'), []);
      assert.equal(fresh.search('video').length, 1);
    } finally {
      fresh.close();
    }
  });
});
