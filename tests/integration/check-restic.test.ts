// Mamori's check judged against restic 0.14's on a format-2 repository written by restic itself:
// the intact repository passes both checks, and each kind of damage (a flipped byte inside a data
// pack, a deleted pack, a truncated pack) is called broken by both, with Mamori naming the pack, the
// blob and exactly the files (in every snapshot) that can no longer be restored.
//
// Two backups make two data packs, so damage to one pack affects some files and not others, and the
// first backup's files reappear in the second snapshot (dedup), which must be listed too.
// restic's --read-data retries a missing or short pack with backoff for ~45 s, so those runs start
// in the background and the cases run concurrently.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Repository, type ID, type PackedBlob } from '../../electron/engine/repo';
import { LocalBackend } from '../../electron/engine/storage';
import { walkTree } from '../../electron/engine/restore';
import { checkRepository, type CheckResult } from '../../electron/engine/check';
import { needTool } from '../helpers/tools';
import { restic, resticOk, tempDir, type ResticRun } from '../helpers/restic';

const skip = needTool('restic');
const PW = 'check test password';

function resticAsync(repo: string, args: string[]): Promise<ResticRun> {
  return new Promise((resolve) => {
    const c = spawn('restic', ['--no-cache', ...args], {
      env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PW, RESTIC_PROGRESS_FPS: '0.0001' },
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

interface Base {
  dir: string;
  repoDir: string;
  src: string;
  /** Data pack of the first backup (docs/a.txt, docs/b.txt, notes/c.txt) and of the second. */
  pack1: ID;
  pack2: ID;
  entries: Map<ID, PackedBlob[]>;
  snaps: ID[];
}

let base: Base;
let cleanup = (): void => undefined;

async function openRepo(repoDir: string): Promise<Repository> {
  const repo = await Repository.open(new LocalBackend(repoDir), PW);
  await repo.loadIndex();
  return repo;
}

function dataPacks(repo: Repository): Map<ID, PackedBlob[]> {
  const m = new Map<ID, PackedBlob[]>();
  for (const b of repo.index.all()) {
    if (b.type !== 'data') continue;
    const l = m.get(b.pack) ?? [];
    l.push(b);
    m.set(b.pack, l);
  }
  for (const l of m.values()) l.sort((a, b) => a.offset - b.offset);
  return m;
}

/** Independent of check's own mapping: walk every snapshot with restore's walkTree. */
async function filesUsing(repoDir: string, lost: Set<ID>): Promise<Record<ID, string[]>> {
  const repo = await openRepo(repoDir);
  const out: Record<ID, string[]> = {};
  for (const sn of await repo.listSnapshots()) {
    const files: string[] = [];
    for await (const { path, node } of walkTree(repo, sn.tree)) {
      if (node.type === 'file' && node.content?.some((id) => lost.has(id))) files.push(path);
    }
    if (files.length > 0) out[sn.id] = files.sort();
  }
  return out;
}

/**
 * Starts `restic check --read-data` on its own copy of a damaged repository, so its exclusive lock
 * does not stop the other restic runs of the same case.
 */
function resticReadData(repoDir: string): Promise<ResticRun> {
  const copy = `${repoDir}-read-data`;
  cpSync(repoDir, copy, { recursive: true });
  return resticAsync(copy, ['check', '--read-data']);
}

/** A private copy of the intact repository to damage. */
function copyRepo(name: string): string {
  const d = join(base.dir, name);
  cpSync(base.repoDir, d, { recursive: true });
  return d;
}

function packPath(repoDir: string, pack: ID): string {
  return join(repoDir, 'data', pack.slice(0, 2), pack);
}

function kinds(r: CheckResult): string[] {
  return r.errors.map((e) => e.kind).sort();
}

function affectedMap(r: CheckResult): Record<ID, string[]> {
  return Object.fromEntries(r.affected.map((a) => [a.snapshot, a.files]));
}

describe('check on a repository written by restic 0.14 (format 2)', { skip, concurrency: true, timeout: 10 * 60_000 }, () => {
  before(async () => {
    const t = tempDir('mamori-check-restic-');
    cleanup = t.cleanup;
    const src = join(t.dir, 'src');
    const repoDir = join(t.dir, 'repo');
    mkdirSync(join(src, 'docs'), { recursive: true });
    mkdirSync(join(src, 'notes'));
    writeFileSync(join(src, 'docs', 'a.txt'), 'alpha\n'.repeat(2000));
    writeFileSync(join(src, 'docs', 'b.txt'), randomBytes(200_000));
    writeFileSync(join(src, 'notes', 'c.txt'), 'charlie');
    resticOk(repoDir, PW, ['init', '--repository-version', '2']);
    resticOk(repoDir, PW, ['backup', src]);
    const first = dataPacks(await openRepo(repoDir));
    mkdirSync(join(src, 'media'));
    writeFileSync(join(src, 'media', 'random.bin'), randomBytes(3 * 1024 * 1024));
    writeFileSync(join(src, 'docs', 'd.txt'), 'delta');
    resticOk(repoDir, PW, ['backup', src]);
    const repo = await openRepo(repoDir);
    const entries = dataPacks(repo);
    assert.equal(first.size, 1, 'the first backup should write one data pack');
    assert.equal(entries.size, 2, 'the second backup should add one data pack');
    const [pack1] = first.keys();
    const [pack2] = [...entries.keys()].filter((p) => p !== pack1);
    const snaps = (await repo.listSnapshots()).map((s) => s.id);
    base = { dir: t.dir, repoDir, src, pack1, pack2, entries, snaps };
  });
  after(() => cleanup());

  test('the intact repository passes both checks, with and without read-data', async () => {
    const repo = await Repository.open(new LocalBackend(base.repoDir), PW);
    const plain = await checkRepository(repo, {});
    assert.deepEqual(plain.errors, []);
    assert.equal(plain.ok, true);
    assert.equal(plain.stats.snapshots, 2);
    const full = await checkRepository(repo, { readData: true });
    assert.deepEqual(full.errors, []);
    assert.equal(full.ok, true);
    assert.deepEqual(full.affected, []);
    assert.ok(full.stats.bytesRead > 3 * 1024 * 1024);
    assert.equal(restic(base.repoDir, PW, ['check', '--read-data']).status, 0);
  });

  test('a flipped byte in the middle of a data pack: read-data names pack, blob and file; the structure check passes', async () => {
    const repoDir = copyRepo('flipped');
    const p = packPath(repoDir, base.pack2);
    chmodSync(p, 0o600);
    const bytes = readFileSync(p);
    const mid = bytes.length >> 1;
    bytes[mid] ^= 0x01;
    writeFileSync(p, bytes);
    const hit = base.entries.get(base.pack2)!.find((e) => e.offset <= mid && mid < e.offset + e.length);
    assert.ok(hit, 'the middle of the pack lies inside a blob');

    const rd = resticReadData(repoDir);
    const plain = await checkRepository(await Repository.open(new LocalBackend(repoDir), PW), {});
    assert.equal(plain.ok, true, JSON.stringify(plain.errors));
    assert.equal(restic(repoDir, PW, ['check']).status, 0, 'restic without read-data does not see it either');

    const r = await checkRepository(await Repository.open(new LocalBackend(repoDir), PW), { readData: true });
    assert.equal(r.ok, false);
    assert.deepEqual(kinds(r), ['blob-damaged', 'pack-hash-mismatch']);
    const dmg = r.errors.find((e) => e.kind === 'blob-damaged')!;
    assert.equal(dmg.pack, base.pack2);
    assert.equal(dmg.blob, hit.id);
    assert.match(dmg.message, new RegExp(`pack ${base.pack2}`));
    const want = await filesUsing(base.repoDir, new Set([hit.id]));
    assert.deepEqual(affectedMap(r), want);
    assert.deepEqual(Object.keys(want), [base.snaps[1]], 'only the second snapshot holds media/random.bin');
    assert.deepEqual(want[base.snaps[1]], [join(base.src, 'media', 'random.bin')]);
    assert.match(dmg.message, /Restore these files from another destination; run a new backup to store them again/);

    const theirs = await rd;
    assert.notEqual(theirs.status, 0, `restic check --read-data passed:\n${theirs.stdout}`);
  });

  test('a deleted data pack: pack-missing, and its files listed in both snapshots', async () => {
    const repoDir = copyRepo('deleted');
    unlinkSync(packPath(repoDir, base.pack1));
    const rd = resticReadData(repoDir);

    for (const readData of [false, true]) {
      const r = await checkRepository(await Repository.open(new LocalBackend(repoDir), PW), { readData });
      assert.equal(r.ok, false);
      assert.deepEqual(kinds(r), ['pack-missing']);
      assert.equal(r.errors[0].pack, base.pack1);
      const lost = new Set(base.entries.get(base.pack1)!.map((e) => e.id));
      const want = await filesUsing(base.repoDir, lost);
      assert.deepEqual(affectedMap(r), want);
      const docs = ['docs/a.txt', 'docs/b.txt', 'notes/c.txt'].map((f) => join(base.src, f)).sort();
      assert.deepEqual(want, { [base.snaps[0]]: docs, [base.snaps[1]]: docs });
      assert.match(r.errors[0].message, /2 snapshots need/);
    }
    // restic's find agrees on which files use the lost blobs.
    const lostIds = base.entries.get(base.pack1)!.map((e) => e.id);
    const found = JSON.parse(resticOk(repoDir, PW, ['find', '--json', '--blob', ...lostIds])) as { path: string; snapshot: ID }[];
    const byFind: Record<ID, string[]> = {};
    for (const f of found) (byFind[f.snapshot] ??= []).push(f.path);
    for (const v of Object.values(byFind)) v.sort();
    assert.deepEqual(byFind, await filesUsing(base.repoDir, new Set(lostIds)));

    const plain = restic(repoDir, PW, ['check']);
    assert.notEqual(plain.status, 0);
    assert.match(plain.stdout + plain.stderr, new RegExp(`pack ${base.pack1}: does not exist`));
    const theirs = await rd;
    assert.notEqual(theirs.status, 0, `restic check --read-data passed:\n${theirs.stdout}`);
  });

  test('a truncated data pack: size mismatch; the blobs cut off are lost, those before the cut are not', async () => {
    const repoDir = copyRepo('truncated');
    const p = packPath(repoDir, base.pack2);
    chmodSync(p, 0o600);
    const cut = Math.floor(readFileSync(p).length / 2);
    truncateSync(p, cut);
    const rd = resticReadData(repoDir);
    const entries = base.entries.get(base.pack2)!;
    const lost = new Set(entries.filter((e) => e.offset + e.length > cut).map((e) => e.id));
    assert.ok(lost.size > 0);
    const want = await filesUsing(base.repoDir, lost);

    for (const readData of [false, true]) {
      const r = await checkRepository(await Repository.open(new LocalBackend(repoDir), PW), { readData });
      assert.equal(r.ok, false);
      assert.deepEqual(kinds(r), ['pack-size-mismatch'], JSON.stringify(r.errors, null, 1));
      assert.equal(r.errors[0].pack, base.pack2);
      assert.match(r.errors[0].message, new RegExp(`has ${cut} bytes`));
      assert.deepEqual(affectedMap(r), want);
    }
    assert.ok(Object.keys(want).length > 0);

    const plain = restic(repoDir, PW, ['check']);
    assert.notEqual(plain.status, 0);
    assert.match(plain.stdout + plain.stderr, new RegExp(`pack ${base.pack2}: unexpected file size`));
    const theirs = await rd;
    assert.notEqual(theirs.status, 0, `restic check --read-data passed:\n${theirs.stdout}`);
  });
});
