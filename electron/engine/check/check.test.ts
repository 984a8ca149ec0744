// Unit tests of checkRepository on small repositories written by Repository itself, with one blob per
// pack so each kind of damage can be aimed at exactly one blob. Interop with restic's own check lives
// in tests/integration/check-restic.test.ts and fixtures-restic.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Repository, type ID, type TreeNode } from '../repo';
import { LocalBackend } from '../storage';
import { checkRepository, type CheckProgress, type CheckResult } from '.';

const PW = 'pw';
const KDF = { N: 1024, r: 8, p: 1 };
const T = '2024-01-02T03:04:05.5+01:00';

function fileNode(name: string, content: ID[]): TreeNode {
  return { name: Buffer.from(name), type: 'file', mode: 0o644, mtime: T, atime: T, ctime: T, uid: 1000, gid: 1000, size: 10, content };
}
function dirNode(name: string, subtree: ID): TreeNode {
  return { name: Buffer.from(name), type: 'dir', mode: 2 ** 31 + 0o755, mtime: T, atime: T, ctime: T, uid: 1000, gid: 1000, content: null, subtree };
}

interface Fixture {
  dir: string;
  repoDir: string;
  blobs: Record<'a' | 'b1' | 'b2' | 'c' | 'unused', ID>;
  trees: Record<'docs' | 'pics', ID>;
  snaps: [ID, ID];
  cleanup: () => void;
}

/**
 * Snapshot 1: /home/me/docs/{a.txt, b.txt}, /home/me/pics/c.bin.
 * Snapshot 2 (later): /home/me/docs and /home/me/old/docs, both the same docs tree, so one tree
 * appears under three paths. One more data blob is stored that no snapshot uses.
 */
async function makeRepo(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-check-'));
  const repoDir = join(dir, 'repo');
  const repo = await Repository.init(new LocalBackend(repoDir), PW, { kdf: KDF, packSize: 1 });
  const save = async (s: string) => (await repo.saveBlob('data', Buffer.from(s))).id;
  const blobs = { a: await save('alpha'), b1: await save('bravo-1'), b2: await save('bravo-2'), c: await save('charlie'), unused: await save('unused') };
  const docs = await repo.saveTree([fileNode('a.txt', [blobs.a]), fileNode('b.txt', [blobs.b1, blobs.b2])]);
  const pics = await repo.saveTree([fileNode('c.bin', [blobs.c])]);
  const me1 = await repo.saveTree([dirNode('docs', docs), dirNode('pics', pics)]);
  const old = await repo.saveTree([dirNode('docs', docs)]);
  const me2 = await repo.saveTree([dirNode('docs', docs), dirNode('old', old)]);
  const root = async (me: ID) => repo.saveTree([dirNode('home', await repo.saveTree([dirNode('me', me)]))]);
  const r1 = await root(me1);
  const r2 = await root(me2);
  await repo.flush();
  const s1 = await repo.saveSnapshot({ time: '2024-01-02T03:04:05+01:00', tree: r1, paths: ['/home/me'], hostname: 'h' });
  const s2 = await repo.saveSnapshot({ time: '2024-01-03T03:04:05+01:00', tree: r2, paths: ['/home/me'], hostname: 'h' });
  return { dir, repoDir, blobs, trees: { docs, pics }, snaps: [s1, s2], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function open(f: Fixture): Promise<Repository> {
  return Repository.open(new LocalBackend(f.repoDir), PW);
}

/** The pack holding a blob, found through a throwaway handle so the checked repository starts cold. */
async function packOf(f: Fixture, type: 'data' | 'tree', id: ID): Promise<ID> {
  const r = await open(f);
  await r.loadIndex();
  return r.index.lookup(type, id)[0].pack;
}

function packPath(f: Fixture, pack: ID): string {
  return join(f.repoDir, 'data', pack.slice(0, 2), pack);
}

function flipByte(path: string, at: 'middle' | number): void {
  chmodSync(path, 0o600);
  const b = readFileSync(path);
  const i = at === 'middle' ? b.length >> 1 : at;
  b[i] ^= 0x40;
  writeFileSync(path, b);
}

function kinds(r: CheckResult): string[] {
  return r.errors.map((e) => e.kind).sort();
}

function filesOf(r: CheckResult): Record<string, string[]> {
  return Object.fromEntries(r.affected.map((a) => [a.snapshot, a.files]));
}

test('a healthy repository passes, with and without read-data, and reports its progress', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  const phases = new Set<CheckProgress['phase']>();
  const plain = await checkRepository(await open(f), { onProgress: (p) => phases.add(p.phase) });
  assert.deepEqual(plain.errors, []);
  assert.equal(plain.ok, true);
  assert.deepEqual(plain.affected, []);
  assert.deepEqual(plain.hints, []);
  assert.equal(plain.stats.snapshots, 2);
  assert.equal(plain.stats.blobs, 5 + 9);
  // Each distinct tree once: docs, pics, old, me1, me2, two home trees, two roots.
  assert.equal(plain.stats.trees, 9);
  assert.equal(plain.stats.bytesRead, 0);
  assert.deepEqual([...phases].sort(), ['index', 'packs', 'snapshots', 'trees']);

  const full = await checkRepository(await open(f), { readData: true, onProgress: (p) => phases.add(p.phase) });
  assert.deepEqual(full.errors, []);
  assert.equal(full.ok, true);
  assert.ok(full.stats.bytesRead > 0);
  assert.ok(phases.has('read-data'));
});

test('a missing data pack is named, and every path using it in every snapshot is listed', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  const pack = await packOf(f, 'data', f.blobs.a);
  unlinkSync(packPath(f, pack));
  const r = await checkRepository(await open(f), {});
  assert.equal(r.ok, false);
  assert.deepEqual(kinds(r), ['pack-missing']);
  assert.equal(r.errors[0].pack, pack);
  assert.match(r.errors[0].message, /2 snapshots need/);
  assert.match(r.errors[0].message, /Restore these files from another destination; run a new backup/);
  assert.deepEqual(filesOf(r), {
    [f.snaps[0]]: ['/home/me/docs/a.txt'],
    [f.snaps[1]]: ['/home/me/docs/a.txt', '/home/me/old/docs/a.txt'],
  });
  assert.equal(r.affected[0].snapshot, f.snaps[0], 'oldest snapshot first');
  assert.deepEqual(r.affected[0].paths, ['/home/me']);
});

test('a flipped byte inside a data blob passes the structure check but read-data names pack, blob and file', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  const pack = await packOf(f, 'data', f.blobs.c);
  flipByte(packPath(f, pack), 20); // inside the blob's ciphertext (the header sits at the end)
  const plain = await checkRepository(await open(f), {});
  assert.equal(plain.ok, true, JSON.stringify(plain.errors));
  const r = await checkRepository(await open(f), { readData: true });
  assert.equal(r.ok, false);
  assert.deepEqual(kinds(r), ['blob-damaged', 'pack-hash-mismatch']);
  const dmg = r.errors.find((e) => e.kind === 'blob-damaged')!;
  assert.equal(dmg.pack, pack);
  assert.equal(dmg.blob, f.blobs.c);
  assert.match(dmg.message, /MAC/);
  assert.deepEqual(filesOf(r), { [f.snaps[0]]: ['/home/me/pics/c.bin'] });
});

test('damage in a pack header is a header mismatch; the blobs still verify, so no file is affected', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  const pack = await packOf(f, 'data', f.blobs.b1);
  const p = packPath(f, pack);
  flipByte(p, readFileSync(p).length - 10); // inside the encrypted header's MAC
  const r = await checkRepository(await open(f), { readData: true });
  assert.deepEqual(kinds(r), ['pack-hash-mismatch', 'pack-header-mismatch']);
  assert.deepEqual(r.affected, []);
  assert.match(r.errors[1].message, /header cannot be read/);
  assert.match(r.errors[1].message, /no file is affected/);
});

test('a blob stored twice survives one damaged copy: reported, but no file is affected', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  // A second session that has not loaded the index stores the same content again in a new pack.
  const again = await Repository.open(new LocalBackend(f.repoDir), PW, { packSize: 1 });
  await again.saveBlob('data', Buffer.from('alpha'));
  await again.flush();
  const first = await packOf(f, 'data', f.blobs.a);
  flipByte(packPath(f, first), 20);
  const r = await checkRepository(await open(f), { readData: true });
  assert.deepEqual(kinds(r), ['blob-damaged', 'pack-hash-mismatch']);
  assert.deepEqual(r.affected, []);
  assert.match(r.errors.find((e) => e.kind === 'blob-damaged')!.message, /Another copy of this blob is intact/);
});

test('a missing tree pack makes the folder affected under every path it appears', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  unlinkSync(packPath(f, await packOf(f, 'tree', f.trees.docs)));
  const r = await checkRepository(await open(f), {});
  assert.deepEqual(kinds(r), ['pack-missing', 'tree-unreadable']);
  const tree = r.errors.find((e) => e.kind === 'tree-unreadable')!;
  assert.equal(tree.blob, f.trees.docs);
  assert.match(tree.message, /pack file is missing/);
  assert.deepEqual(filesOf(r), {
    [f.snaps[0]]: ['/home/me/docs'],
    [f.snaps[1]]: ['/home/me/docs', '/home/me/old/docs'],
  });
});

test('a truncated pack is a size mismatch; read-data adds nothing redundant', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  const pack = await packOf(f, 'data', f.blobs.b2);
  const p = packPath(f, pack);
  chmodSync(p, 0o600);
  truncateSync(p, 10);
  for (const readData of [false, true]) {
    const r = await checkRepository(await open(f), { readData });
    assert.deepEqual(kinds(r), ['pack-size-mismatch'], JSON.stringify(r.errors));
    assert.equal(r.errors[0].pack, pack);
    assert.match(r.errors[0].message, /has 10 bytes/);
    assert.deepEqual(filesOf(r), { [f.snaps[0]]: ['/home/me/docs/b.txt'], [f.snaps[1]]: ['/home/me/docs/b.txt', '/home/me/old/docs/b.txt'] });
  }
});

test('a missing pack no snapshot needs is still an error (as restic says), but no file is affected', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  unlinkSync(packPath(f, await packOf(f, 'data', f.blobs.unused)));
  const r = await checkRepository(await open(f), {});
  assert.equal(r.ok, false);
  assert.deepEqual(kinds(r), ['pack-missing']);
  assert.deepEqual(r.affected, []);
  assert.match(r.errors[0].message, /No snapshot uses the blob lost with it, so no file is affected/);
});

test('a damaged index file: its blobs count as missing and its packs as unindexed, with advice to rebuild first', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  const r0 = await open(f);
  const [idx] = await r0.listIds('index');
  flipByte(join(f.repoDir, 'index', idx), 'middle');
  const r = await checkRepository(await open(f), {});
  assert.equal(r.ok, false);
  assert.ok(kinds(r).includes('index-unreadable'));
  assert.ok(kinds(r).includes('tree-missing'));
  assert.equal(r.affected.length, 2);
  assert.deepEqual(r.affected[0].files, ['/']);
  assert.ok(r.hints.length > 0 && r.hints.every((h) => /rebuild the index/.test(h)), r.hints.join('\n'));
});

test('an unreadable snapshot is reported; the other snapshots are still checked', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  flipByte(join(f.repoDir, 'snapshots', f.snaps[1]), 'middle');
  const r = await checkRepository(await open(f), {});
  assert.deepEqual(kinds(r), ['snapshot-unreadable']);
  assert.equal(r.errors[0].subject, `snapshot ${f.snaps[1]}`);
  assert.equal(r.stats.snapshots, 1);
});

test('checking twice on one repository object gives the same verdict (the index is reloaded idempotently)', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  unlinkSync(packPath(f, await packOf(f, 'data', f.blobs.a)));
  const repo = await open(f);
  const a = await checkRepository(repo, {});
  const b = await checkRepository(repo, {});
  assert.deepEqual(b, a);
});

test('an aborted check rejects with the abort reason', async (t) => {
  const f = await makeRepo();
  t.after(f.cleanup);
  const ac = new AbortController();
  const run = checkRepository(await open(f), {
    readData: true,
    signal: ac.signal,
    onProgress: (p) => {
      if (p.phase === 'trees') ac.abort(new Error('stopped by test'));
    },
  });
  await assert.rejects(run, /stopped by test/);
});
