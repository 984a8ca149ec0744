// One-click restores against a real repository: beside the original with a dated name (never
// replacing anything), in place only with confirmation and with the current file moved aside, into
// a chosen folder; and exports whose archives hold the backed-up bytes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { backup } from '../backup';
import { Repository } from '../repo';
import { LocalBackend } from '../storage';
import { exportArchive } from './export-archive';
import { freeSiblingName, restoreAction } from './restore-actions';

async function setup(): Promise<{ dir: string; src: string; repo: Repository; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-restore-actions-'));
  const src = join(dir, 'Documents');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'report.docx'), 'version 1');
  writeFileSync(join(src, 'sub', 'notes.txt'), 'notes');
  writeFileSync(join(src, '.hidden'), 'dot file');
  const repo = await Repository.init(new LocalBackend(join(dir, 'repo')), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
  return { dir, src, repo, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const DAY = new Date(2026, 10, 22, 12);

test('dated sibling names: before the extension, whole name for folders and dot files, numbered when taken', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await freeSiblingName(join(dir, 'report.docx'), 'restored 2026-11-22'), join(dir, 'report (restored 2026-11-22).docx'));
  assert.equal(await freeSiblingName(join(dir, '.bashrc'), 'restored 2026-11-22'), join(dir, '.bashrc (restored 2026-11-22)'));
  writeFileSync(join(dir, 'report (restored 2026-11-22).docx'), 'x');
  assert.equal(await freeSiblingName(join(dir, 'report.docx'), 'restored 2026-11-22'), join(dir, 'report (restored 2026-11-22 2).docx'));
});

test('restore beside the original never touches current files; twice gives a second name', async (t) => {
  const { src, repo, cleanup } = await setup();
  t.after(cleanup);
  const r = await backup(repo, { paths: [src] });
  writeFileSync(join(src, 'report.docx'), 'version 2 (current)');
  const a = await restoreAction(repo, r.snapshot, { mode: 'beside', paths: [join(src, 'report.docx')], today: DAY });
  assert.deepEqual(a.placed, [{ path: join(src, 'report.docx'), to: join(src, 'report (restored 2026-11-22).docx') }]);
  assert.equal(readFileSync(join(src, 'report (restored 2026-11-22).docx'), 'utf8'), 'version 1');
  assert.equal(readFileSync(join(src, 'report.docx'), 'utf8'), 'version 2 (current)');
  await restoreAction(repo, r.snapshot, { mode: 'beside', paths: [join(src, 'report.docx')], today: DAY });
  assert.equal(readFileSync(join(src, 'report (restored 2026-11-22 2).docx'), 'utf8'), 'version 1');
  // A whole folder lands beside its original; no staging folder is left behind.
  await restoreAction(repo, r.snapshot, { mode: 'beside', paths: [join(src, 'sub')], today: DAY });
  assert.equal(readFileSync(join(src, 'sub (restored 2026-11-22)', 'notes.txt'), 'utf8'), 'notes');
  assert.deepEqual(readdirSync(src).filter((n) => n.startsWith('.mamori-restore')), []);
});

test('in place needs confirmation, then moves the current file aside before restoring', async (t) => {
  const { src, repo, cleanup } = await setup();
  t.after(cleanup);
  const r = await backup(repo, { paths: [src] });
  writeFileSync(join(src, 'report.docx'), 'version 2 (current)');
  await assert.rejects(restoreAction(repo, r.snapshot, { mode: 'in-place', paths: [join(src, 'report.docx')], today: DAY }), /confirmation/);
  assert.equal(readFileSync(join(src, 'report.docx'), 'utf8'), 'version 2 (current)');
  const a = await restoreAction(repo, r.snapshot, { mode: 'in-place', confirmInPlace: true, paths: [join(src, 'report.docx')], today: DAY });
  assert.equal(readFileSync(join(src, 'report.docx'), 'utf8'), 'version 1');
  assert.equal(readFileSync(join(src, 'report (before restore 2026-11-22).docx'), 'utf8'), 'version 2 (current)');
  assert.equal(a.movedAside.length, 1);
});

test('into a chosen folder; refuses relative or ../ paths', async (t) => {
  const { dir, src, repo, cleanup } = await setup();
  t.after(cleanup);
  const r = await backup(repo, { paths: [src] });
  const target = join(dir, 'restored-here');
  await restoreAction(repo, r.snapshot, { mode: 'folder', target, paths: [], today: DAY });
  assert.equal(readFileSync(join(target, src, 'sub', 'notes.txt'), 'utf8'), 'notes');
  await assert.rejects(restoreAction(repo, r.snapshot, { mode: 'beside', paths: ['../etc/passwd'], today: DAY }), /absolute path/);
  await assert.rejects(restoreAction(repo, r.snapshot, { mode: 'beside', paths: [`${src}/../x`], today: DAY }), /absolute path/);
});

test('export as tar.gz and zip holds the backed-up bytes under relative names', async (t) => {
  const { dir, src, repo, cleanup } = await setup();
  t.after(cleanup);
  writeFileSync(join(src, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
  const r = await backup(repo, { paths: [src] });
  const tgz = join(dir, 'export.tar.gz');
  const e = await exportArchive(repo, r.snapshot, { format: 'tar.gz', paths: [src], target: tgz });
  assert.equal(e.files, 4);
  const out = join(dir, 'untar');
  mkdirSync(out);
  execFileSync('tar', ['-xzf', tgz, '-C', out]);
  assert.equal(readFileSync(join(out, 'Documents', 'sub', 'notes.txt'), 'utf8'), 'notes');
  assert.ok(readFileSync(join(out, 'Documents', 'big.bin')).equals(Buffer.alloc(3 * 1024 * 1024, 7)));
  const zip = join(dir, 'export.zip');
  await exportArchive(repo, r.snapshot, { format: 'zip', paths: [join(src, 'report.docx')], target: zip });
  const listing = execFileSync('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.namelist()); print(z.read("report.docx").decode())', zip], { encoding: 'utf8' });
  assert.match(listing, /\['report\.docx'\]/);
  assert.match(listing, /version 1/);
  // An export never replaces a file.
  await assert.rejects(exportArchive(repo, r.snapshot, { format: 'zip', paths: [], target: zip }), /already exists/);
});
