import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, isMamoriError } from '../../../shared/errors';
import { childPath, displayPath, ensureRealDir, isSameOrBelow, normalizeSnapshotPath, unsafeNameReason } from './safe-path';

const b = (s: string) => Buffer.from(s, 'latin1');

test('names that could leave the target are refused, ordinary odd names are not', () => {
  for (const bad of ['', '.', '..', '../escape', 'a/b', '/abs', 'x\0y', '/', 'dir/']) {
    assert.ok(unsafeNameReason(b(bad)), `expected ${JSON.stringify(bad)} to be refused`);
  }
  for (const ok of ['...', '.hidden', '..x', 'x..', 'a b', 'bad-\xff-name', '\\', '日本語']) {
    assert.equal(unsafeNameReason(Buffer.from(ok, ok === 'bad-\xff-name' ? 'latin1' : 'utf8')), undefined, JSON.stringify(ok));
  }
});

test('snapshot paths: joining, prefixes and include normalization', () => {
  const p = childPath(childPath(Buffer.alloc(0), b('home')), b('me'));
  assert.equal(p.toString(), '/home/me');
  assert.equal(displayPath(Buffer.alloc(0)), '/');
  assert.equal(displayPath(b('/bad-\xff')), '/bad-\ufffd');
  assert.ok(isSameOrBelow(b('/a/b'), b('/a')));
  assert.ok(isSameOrBelow(b('/a'), b('/a')));
  assert.ok(isSameOrBelow(b('/a'), Buffer.alloc(0)));
  assert.ok(!isSameOrBelow(b('/ab'), b('/a')));
  assert.ok(!isSameOrBelow(b('/a'), b('/a/b')));
  assert.equal(normalizeSnapshotPath('//home//me/').toString(), '/home/me');
  assert.equal(normalizeSnapshotPath('/').length, 0);
  assert.throws(() => normalizeSnapshotPath('home/me'), (e) => isMamoriError(e, ErrorCode.InvalidRequest));
  assert.throws(() => normalizeSnapshotPath('/home/../etc'), (e) => isMamoriError(e, ErrorCode.InvalidRequest));
});

test('ensureRealDir creates folders, reuses real ones and refuses symlinks and files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-safe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  assert.equal(await ensureRealDir(Buffer.from(join(dir, 'new')), '/new'), true);
  assert.equal(await ensureRealDir(Buffer.from(join(dir, 'new')), '/new'), false);
  symlinkSync(outside, join(dir, 'link'));
  await assert.rejects(ensureRealDir(Buffer.from(join(dir, 'link')), '/link'), (e) => isMamoriError(e, ErrorCode.UnsafePath) && /symlink/.test(e.message));
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  await assert.rejects(ensureRealDir(Buffer.from(join(dir, 'dangling')), '/dangling'), (e) => isMamoriError(e, ErrorCode.UnsafePath));
  writeFileSync(join(dir, 'file'), 'x');
  await assert.rejects(ensureRealDir(Buffer.from(join(dir, 'file')), '/file'), (e) => isMamoriError(e, ErrorCode.UnsafePath));
  const raw = Buffer.concat([Buffer.from(dir + '/'), b('bad-\xff')]);
  assert.equal(await ensureRealDir(raw, '/bad'), true);
});
