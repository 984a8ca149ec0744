import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileExclusive, EXISTS_MESSAGE, isAllZero, splitDevice, writeAt } from './write';
import { utimesArg } from './metadata';

test('isAllZero across slice boundaries', () => {
  assert.ok(isAllZero(Buffer.alloc(0)));
  assert.ok(isAllZero(Buffer.alloc(200_000)));
  for (const pos of [0, 65535, 65536, 199_999]) {
    const b = Buffer.alloc(200_000);
    b[pos] = 1;
    assert.ok(!isAllZero(b), `byte ${pos}`);
  }
});

test('splitDevice decodes Linux st_rdev', () => {
  assert.deepEqual(splitDevice(0x0103), { major: 1, minor: 3 }); // /dev/null
  assert.deepEqual(splitDevice(0x8800), { major: 136, minor: 0 });
  // major 300 minor 70000 in glibc's encoding
  const rdev = Number((BigInt(300 & 0xfff) << 8n) | BigInt(70000 & 0xff) | (BigInt(70000 & ~0xff) << 12n));
  assert.deepEqual(splitDevice(rdev), { major: 300, minor: 70000 });
});

test('utimesArg lands on the right microsecond, before 1970 too', () => {
  assert.equal(utimesArg('2009-02-13T23:31:30.123456789Z'), String(1234567890 + 0.1234565));
  assert.equal(Math.trunc(Number(utimesArg('1970-01-01T00:00:00Z')) * 1e6), 0);
  assert.ok(Number(utimesArg('1969-12-31T23:59:58.5Z')) > -1.5000006 && Number(utimesArg('1969-12-31T23:59:58.5Z')) < -1.5);
});

test('files are created exclusively and never written through a symlink', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-write-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = Buffer.from(join(dir, 'f'));
  await createFileExclusive(f);
  await writeAt(f, Buffer.from('world'), 6);
  await writeAt(f, Buffer.from('hello '), 0);
  assert.equal(readFileSync(f, 'utf8'), 'hello world');
  await assert.rejects(createFileExclusive(f), new RegExp(EXISTS_MESSAGE.slice(0, 20)));
  writeFileSync(join(dir, 'victim'), 'keep');
  symlinkSync(join(dir, 'victim'), join(dir, 'link'));
  await assert.rejects(createFileExclusive(Buffer.from(join(dir, 'link'))));
  await assert.rejects(writeAt(Buffer.from(join(dir, 'link')), Buffer.from('evil'), 0), /ELOOP/);
  assert.equal(readFileSync(join(dir, 'victim'), 'utf8'), 'keep');
  assert.equal(statSync(join(dir, 'victim')).size, 4);
});
