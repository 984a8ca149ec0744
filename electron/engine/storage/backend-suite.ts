// The conformance suite every Backend runs (local now; SFTP, S3, REST later), so all destinations
// honour the same contract documented in backend.ts: round trips per file type, exact ranged reads,
// classified not-found errors, exact listings, no overwrites, large files and concurrent saves.
// A backend's own test file only supplies a factory; backend-specific behaviour is tested there.
// Each test gets a fresh, created backend so tests never depend on one another.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { BackendError } from './backend';
import type { Backend, FileInfo, FileType, Handle } from './backend';

export type BackendFactory = () => Promise<{ backend: Backend; cleanup: () => Promise<void> }>;

const ID_TYPES: Exclude<FileType, 'config'>[] = ['key', 'snapshot', 'index', 'lock', 'data'];
const ALL_TYPES: FileType[] = ['config', ...ID_TYPES];

export function randomId(): string {
  return randomBytes(32).toString('hex');
}

export async function collect(it: AsyncIterable<FileInfo>): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const fi of it) out.push(fi);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function assertKind(p: Promise<unknown>, kind: BackendError['kind']): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BackendError, `expected a BackendError, got ${String(err)}`);
    assert.equal(err.kind, kind, `expected kind ${kind}: ${err.message}`);
    return true;
  });
}

export function backendSuite(name: string, make: BackendFactory): void {
  /** Runs `fn` against a fresh backend on which create() already succeeded. */
  async function withBackend(fn: (b: Backend) => Promise<void>): Promise<void> {
    const { backend, cleanup } = await make();
    try {
      await backend.create();
      await fn(backend);
    } finally {
      await backend.close();
      await cleanup();
    }
  }

  describe(`backend suite: ${name}`, () => {
    test('create makes an empty repository and refuses to run twice once a config exists', async () => {
      const { backend, cleanup } = await make();
      try {
        assert.equal(await backend.hasConfig(), false);
        await backend.create();
        assert.equal(await backend.hasConfig(), false);
        await backend.save({ type: 'config', name: '' }, Buffer.from('cfg'));
        assert.equal(await backend.hasConfig(), true);
        await assert.rejects(backend.create(), BackendError);
        // The failed create must not have touched the existing repository.
        assert.deepEqual(await backend.load({ type: 'config', name: '' }), Buffer.from('cfg'));
      } finally {
        await backend.close();
        await cleanup();
      }
    });

    test('location is set and names no secret-looking URL credentials', async () => {
      const { backend, cleanup } = await make();
      try {
        assert.ok(backend.location.length > 0);
        assert.doesNotMatch(backend.location, /:\/\/[^/@]*:[^/@]*@/);
      } finally {
        await cleanup();
      }
    });

    for (const type of ALL_TYPES) {
      test(`save/load/stat round trip: ${type}`, () => withBackend(async (b) => {
        const h: Handle = { type, name: type === 'config' ? '' : randomId() };
        const data = randomBytes(1000 + Math.floor(Math.random() * 1000));
        await b.save(h, data);
        assert.deepEqual(await b.load(h), data);
        assert.deepEqual(await b.stat(h), { name: h.name, size: data.length });
      }));
    }

    test('an empty file round-trips', () => withBackend(async (b) => {
      const h: Handle = { type: 'snapshot', name: randomId() };
      await b.save(h, Buffer.alloc(0));
      assert.equal((await b.load(h)).length, 0);
      assert.equal((await b.stat(h)).size, 0);
    }));

    test('ranged reads, including at the edges', () => withBackend(async (b) => {
      const h: Handle = { type: 'data', name: randomId() };
      const data = randomBytes(4096);
      await b.save(h, data);
      const cases: [number, number | undefined][] = [
        [0, 1], [0, 4096], [4095, 1], [1, 4095], [100, 200], [0, undefined], [1234, undefined], [4095, undefined], [4096, undefined],
      ];
      for (const [offset, length] of cases) {
        const end = length === undefined ? data.length : offset + length;
        assert.deepEqual(await b.load(h, offset, length), data.subarray(offset, end), `offset ${offset} length ${length}`);
      }
    }));

    test('a range past the end of the file is an error, not a short buffer', () => withBackend(async (b) => {
      const h: Handle = { type: 'data', name: randomId() };
      await b.save(h, randomBytes(100));
      await assert.rejects(b.load(h, 90, 11), BackendError);
      await assert.rejects(b.load(h, 0, 101), BackendError);
      await assert.rejects(b.load(h, 101), BackendError);
      await assert.rejects(b.load(h, 200, 1), BackendError);
    }));

    test('missing files: load, stat and remove throw kind not-found', () => withBackend(async (b) => {
      for (const type of ALL_TYPES) {
        const h: Handle = { type, name: type === 'config' ? '' : randomId() };
        await assertKind(b.load(h), 'not-found');
        await assertKind(b.load(h, 0, 10), 'not-found');
        await assertKind(b.stat(h), 'not-found');
        await assertKind(b.remove(h), 'not-found');
      }
    }));

    test('list is empty on a new repository', () => withBackend(async (b) => {
      for (const type of ALL_TYPES) assert.deepEqual(await collect(b.list(type)), [], type);
    }));

    test('list returns exactly what was saved, per type, with sizes', () => withBackend(async (b) => {
      const saved = new Map<FileType, FileInfo[]>();
      for (const type of ID_TYPES) {
        const infos: FileInfo[] = [];
        // Data files spread over several data/XX folders.
        const count = type === 'data' ? 12 : 3;
        for (let i = 0; i < count; i++) {
          const name = randomId();
          const size = 10 + i;
          await b.save({ type, name }, randomBytes(size));
          infos.push({ name, size });
        }
        saved.set(type, infos);
      }
      await b.save({ type: 'config', name: '' }, Buffer.from('config!'));
      for (const type of ID_TYPES) {
        const want = [...(saved.get(type) ?? [])].sort((x, y) => (x.name < y.name ? -1 : 1));
        assert.deepEqual(await collect(b.list(type)), want, type);
      }
      assert.deepEqual(await collect(b.list('config')), [{ name: '', size: 7 }]);
    }));

    test('remove deletes the file and only that file', () => withBackend(async (b) => {
      const keep: Handle = { type: 'lock', name: randomId() };
      const gone: Handle = { type: 'lock', name: randomId() };
      await b.save(keep, Buffer.from('keep'));
      await b.save(gone, Buffer.from('gone'));
      await b.remove(gone);
      await assertKind(b.load(gone), 'not-found');
      assert.deepEqual((await collect(b.list('lock'))).map((f) => f.name), [keep.name]);
      // A removed name can be saved again (lock refresh and prune rely on it).
      await b.save(gone, Buffer.from('again'));
      assert.deepEqual(await b.load(gone), Buffer.from('again'));
      const pack: Handle = { type: 'data', name: randomId() };
      await b.save(pack, randomBytes(10));
      await b.remove(pack);
      assert.deepEqual(await collect(b.list('data')), []);
    }));

    test('saving the same handle twice is an error and keeps the first content', () => withBackend(async (b) => {
      for (const type of ALL_TYPES) {
        const h: Handle = { type, name: type === 'config' ? '' : randomId() };
        await b.save(h, Buffer.from('first'));
        await assert.rejects(b.save(h, Buffer.from('second')), BackendError);
        assert.deepEqual(await b.load(h), Buffer.from('first'), type);
        assert.equal((await collect(b.list(type))).length, 1, type);
      }
    }));

    test('large file (20 MiB) round trip and ranged read', () => withBackend(async (b) => {
      const h: Handle = { type: 'data', name: randomId() };
      const data = randomBytes(20 * 1024 * 1024);
      await b.save(h, data);
      assert.equal((await b.stat(h)).size, data.length);
      assert.ok((await b.load(h)).equals(data));
      const off = 16 * 1024 * 1024 - 7;
      assert.ok((await b.load(h, off, 1024 * 1024)).equals(data.subarray(off, off + 1024 * 1024)));
      assert.ok((await b.load(h, data.length - 4, 4)).equals(data.subarray(data.length - 4)));
    }));

    test('app files are written, replaced atomically and read back; bad names are refused', () => withBackend(async (b) => {
      assert.equal(await b.readAppFile('mamori-destination.json'), undefined);
      try {
        await b.writeAppFile('mamori-destination.json', Buffer.from('{"v":1}'));
      } catch (e) {
        // Protocols without room for app files (restic REST) must say so with a BackendError.
        assert.ok(e instanceof BackendError, String(e));
        return;
      }
      assert.deepEqual(await b.readAppFile('mamori-destination.json'), Buffer.from('{"v":1}'));
      await b.writeAppFile('mamori-destination.json', Buffer.from('{"v":2}'));
      assert.deepEqual(await b.readAppFile('mamori-destination.json'), Buffer.from('{"v":2}'));
      for (const name of ['../config', 'a/b', '.hidden', '', 'x'.repeat(65)]) {
        await assert.rejects(b.writeAppFile(name, Buffer.from('x')), BackendError, name);
      }
      // App files are invisible to restic's file types.
      for (const type of ALL_TYPES) assert.deepEqual(await collect(b.list(type)), [], type);
    }));

    test('50 concurrent saves all land', () => withBackend(async (b) => {
      const files = Array.from({ length: 50 }, (_, i) => ({
        h: { type: (i % 5 === 0 ? 'index' : 'data') as FileType, name: randomId() },
        data: randomBytes(1024 + i * 37),
      }));
      await Promise.all(files.map((f) => b.save(f.h, f.data)));
      for (const type of ['index', 'data'] as FileType[]) {
        const want = files.filter((f) => f.h.type === type).map((f) => f.h.name).sort();
        assert.deepEqual((await collect(b.list(type))).map((f) => f.name), want, type);
      }
      const loaded = await Promise.all(files.map((f) => b.load(f.h)));
      loaded.forEach((buf, i) => assert.ok(buf.equals(files[i].data), `file ${i}`));
    }));
  });
}
