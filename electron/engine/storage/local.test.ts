// LocalBackend: the shared backend suite plus what only a local folder can show: restic's layout and
// file modes, temporary and foreign files, crash leftovers, errno classification, and interop with
// a repository made by restic 0.14 itself (skipped if restic is not installed).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BackendError } from './backend';
import type { Handle } from './backend';
import { backendSuite, collect, randomId } from './backend-suite';
import { LocalBackend, classifyErrno, toBackendError } from './local';

async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'mamori-local-'));
  return { dir, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

async function created(): Promise<{ b: LocalBackend; root: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir();
  const root = join(dir, 'repo');
  const b = new LocalBackend(root);
  await b.create();
  return { b, root, cleanup };
}

async function listDirSorted(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).sort();
}

const isRoot = process.getuid?.() === 0;
const hasRestic = spawnSync('restic', ['version'], { stdio: 'ignore' }).status === 0;

backendSuite('local', async () => {
  const { dir, cleanup } = await tempDir();
  return { backend: new LocalBackend(join(dir, 'repo')), cleanup };
});

describe('LocalBackend', () => {
  test('create makes restic 0.14 layout: type folders and all 256 data/XX, mode 0700', async () => {
    const { root, cleanup } = await created();
    try {
      assert.deepEqual(await listDirSorted(root), ['data', 'index', 'keys', 'locks', 'snapshots']);
      const data = await listDirSorted(join(root, 'data'));
      assert.equal(data.length, 256);
      assert.equal(data[0], '00');
      assert.equal(data[255], 'ff');
      if (process.platform !== 'win32') {
        for (const d of ['', 'keys', 'data', 'data/a7']) {
          assert.equal((await fsp.stat(join(root, d))).mode & 0o777, 0o700, d);
        }
      }
    } finally {
      await cleanup();
    }
  });

  test('files are 0400 after save, and remove still works', { skip: process.platform === 'win32' }, async () => {
    const { b, root, cleanup } = await created();
    try {
      const h: Handle = { type: 'data', name: randomId() };
      await b.save(h, Buffer.from('pack'));
      await b.save({ type: 'config', name: '' }, Buffer.from('cfg'));
      const path = join(root, 'data', h.name.slice(0, 2), h.name);
      assert.equal((await fsp.stat(path)).mode & 0o777, 0o400);
      assert.equal((await fsp.stat(join(root, 'config'))).mode & 0o777, 0o400);
      await b.remove(h);
      assert.equal(existsSync(path), false);
    } finally {
      await cleanup();
    }
  });

  test('temporary files and a crash leftover are never listed, and do not block a save', async () => {
    const { b, root, cleanup } = await created();
    try {
      const id = randomId();
      const sub = join(root, 'data', id.slice(0, 2));
      // What a crash between write and rename leaves behind (restic's temp names look the same).
      await fsp.writeFile(join(sub, `${id}-tmp-123456`), 'half a pack');
      await fsp.writeFile(join(root, 'locks', `${randomId()}-tmp-99`), '');
      await fsp.writeFile(join(root, `config-tmp-42`), 'x');
      assert.deepEqual(await collect(b.list('data')), []);
      assert.deepEqual(await collect(b.list('lock')), []);
      assert.equal(await b.hasConfig(), false);
      await b.save({ type: 'data', name: id }, Buffer.from('whole pack'));
      assert.deepEqual(await collect(b.list('data')), [{ name: id, size: 10 }]);
      assert.deepEqual(await b.load({ type: 'data', name: id }), Buffer.from('whole pack'));
      // Someone else's temporary file may belong to a running restic: not ours to delete.
      assert.ok(existsSync(join(sub, `${id}-tmp-123456`)));
    } finally {
      await cleanup();
    }
  });

  test('an app/ folder and foreign files are ignored by list and survive', async () => {
    const { b, root, cleanup } = await created();
    try {
      await fsp.mkdir(join(root, 'app', 'catalog'), { recursive: true });
      await fsp.writeFile(join(root, 'app', 'catalog', 'db.sqlite'), 'mamori');
      await fsp.writeFile(join(root, 'README.txt'), 'hello');
      await fsp.writeFile(join(root, 'snapshots', 'notes.txt'), 'foreign');
      await fsp.writeFile(join(root, 'snapshots', 'A'.repeat(64)), 'uppercase is not an ID');
      await fsp.mkdir(join(root, 'snapshots', 'b'.repeat(64)));
      await fsp.mkdir(join(root, 'data', 'zz'));
      await fsp.writeFile(join(root, 'data', 'zz', 'c'.repeat(64)), 'outside a hex folder');
      await fsp.writeFile(join(root, 'data', 'stray'), 'x');
      // Misplaced pack: load() could never reach it under this name, so list must not offer it.
      await fsp.writeFile(join(root, 'data', '00', 'd'.repeat(64)), 'misplaced');

      const snap: Handle = { type: 'snapshot', name: randomId() };
      const pack: Handle = { type: 'data', name: randomId() };
      await b.save(snap, Buffer.from('s'));
      await b.save(pack, Buffer.from('p'));
      assert.deepEqual(await collect(b.list('snapshot')), [{ name: snap.name, size: 1 }]);
      assert.deepEqual(await collect(b.list('data')), [{ name: pack.name, size: 1 }]);
      await b.remove(snap);
      await b.remove(pack);

      assert.equal(await fsp.readFile(join(root, 'app', 'catalog', 'db.sqlite'), 'utf8'), 'mamori');
      assert.ok(existsSync(join(root, 'README.txt')));
      assert.ok(existsSync(join(root, 'snapshots', 'notes.txt')));
      assert.ok(existsSync(join(root, 'data', 'zz', 'c'.repeat(64))));
    } finally {
      await cleanup();
    }
  });

  test('save recreates a missing data/XX folder (repositories made by other tools)', async () => {
    const { b, root, cleanup } = await created();
    try {
      const h: Handle = { type: 'data', name: `ab${randomId().slice(2)}` };
      await fsp.rm(join(root, 'data', 'ab'), { recursive: true });
      await b.save(h, Buffer.from('pack'));
      assert.deepEqual(await b.load(h), Buffer.from('pack'));
    } finally {
      await cleanup();
    }
  });

  test('a missing repository folder (unplugged drive) is not-found and is never recreated by save', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const root = join(dir, 'usb', 'repo');
      const b = new LocalBackend(root);
      assert.equal(await b.hasConfig(), false);
      await assert.rejects(collect(b.list('snapshot')), (err: unknown) => {
        assert.ok(err instanceof BackendError);
        assert.equal(err.kind, 'not-found');
        assert.match(err.message, /usb/);
        return true;
      });
      await assert.rejects(b.save({ type: 'data', name: randomId() }, Buffer.from('x')), { kind: 'not-found' });
      assert.equal(existsSync(join(dir, 'usb')), false);
    } finally {
      await cleanup();
    }
  });

  test('a failed save removes its temporary file', async () => {
    const { b, root, cleanup } = await created();
    try {
      const id = randomId();
      const sub = join(root, 'data', id.slice(0, 2));
      // Fails after the temporary file exists: writeFile rejects a non-buffer.
      await assert.rejects(b.save({ type: 'data', name: id }, 42 as unknown as Buffer));
      assert.deepEqual(await fsp.readdir(sub), []);
      // Fails at the final step: the name is taken (here by a folder).
      await fsp.mkdir(join(sub, id));
      await assert.rejects(b.save({ type: 'data', name: id }, Buffer.from('x')), /already exists/);
      assert.deepEqual(await fsp.readdir(sub), [id]);
    } finally {
      await cleanup();
    }
  });

  test('without hard links (FAT, some SMB mounts) save still refuses to overwrite', async () => {
    const { b, cleanup } = await created();
    try {
      (b as unknown as { noHardLinks: boolean }).noHardLinks = true;
      const h: Handle = { type: 'key', name: randomId() };
      await b.save(h, Buffer.from('one'));
      await assert.rejects(b.save(h, Buffer.from('two')), /refusing to overwrite/);
      assert.deepEqual(await b.load(h), Buffer.from('one'));
      assert.deepEqual(await collect(b.list('key')), [{ name: h.name, size: 3 }]);
    } finally {
      await cleanup();
    }
  });

  test('a truncated file gives a short-read error naming the file', async () => {
    const { b, root, cleanup } = await created();
    try {
      const h: Handle = { type: 'data', name: randomId() };
      await b.save(h, Buffer.alloc(100, 1));
      const path = join(root, 'data', h.name.slice(0, 2), h.name);
      await fsp.chmod(path, 0o600);
      await fsp.truncate(path, 50);
      await assert.rejects(b.load(h, 40, 20), (err: unknown) => {
        assert.ok(err instanceof BackendError);
        assert.ok(err.message.includes(path), err.message);
        assert.match(err.message, /short read/);
        return true;
      });
    } finally {
      await cleanup();
    }
  });

  test('handles that could escape the folder are rejected', async () => {
    const { b, cleanup } = await created();
    try {
      await assert.rejects(b.save({ type: 'snapshot', name: '../../etc/passwd' }, Buffer.from('x')), BackendError);
      await assert.rejects(b.load({ type: 'key', name: 'ABC' }), BackendError);
      await assert.rejects(b.load({ type: 'config', name: 'x' }), BackendError);
    } finally {
      await cleanup();
    }
  });

  test('a read-only folder gives kind permission', { skip: isRoot ? 'root ignores file permissions' : process.platform === 'win32' }, async () => {
    const { b, root, cleanup } = await created();
    try {
      await fsp.chmod(join(root, 'snapshots'), 0o500);
      await assert.rejects(b.save({ type: 'snapshot', name: randomId() }, Buffer.from('x')), { kind: 'permission' });
    } finally {
      await fsp.chmod(join(root, 'snapshots'), 0o700);
      await cleanup();
    }
  });

  describe('errno classification', () => {
    test('classifyErrno maps every documented code', () => {
      const want: Record<string, BackendError['kind']> = {
        ENOENT: 'not-found', EACCES: 'permission', EPERM: 'permission', EROFS: 'permission',
        ENOSPC: 'no-space', EDQUOT: 'no-space', EIO: 'transient', ENXIO: 'transient', ENODEV: 'transient',
        ETIMEDOUT: 'transient', ESTALE: 'transient', EEXIST: 'other', EINVAL: 'other',
      };
      for (const [code, kind] of Object.entries(want)) assert.equal(classifyErrno(code), kind, code);
      assert.equal(classifyErrno(undefined), 'other');
    });

    function errno(code: string): NodeJS.ErrnoException {
      return Object.assign(new Error(`${code}: something`), { code });
    }

    test('messages name the path and say what to do', () => {
      const p = '/mnt/usb/data/ab/abcd';
      const h: Handle = { type: 'data', name: 'ab'.repeat(32) };
      const nospace = toBackendError(errno('ENOSPC'), 'saving data', p, h);
      assert.equal(nospace.kind, 'no-space');
      assert.equal(nospace.message, `no space left on ${p}: free space on the destination or choose another one`);
      assert.equal(nospace.handle, h);
      assert.equal((nospace.cause as NodeJS.ErrnoException).code, 'ENOSPC');

      const ro = toBackendError(errno('EROFS'), 'saving data', p);
      assert.equal(ro.kind, 'permission');
      assert.ok(ro.message.includes(p) && /read-only/.test(ro.message), ro.message);

      const eio = toBackendError(errno('EIO'), 'reading data', p);
      assert.equal(eio.kind, 'transient');
      assert.ok(eio.message.includes(p) && /reconnect/.test(eio.message), eio.message);

      const missing = toBackendError(errno('ENOENT'), 'reading data', p);
      assert.equal(missing.kind, 'not-found');
      assert.ok(missing.message.includes(p), missing.message);

      const other = toBackendError(errno('EMFILE'), 'reading data', p);
      assert.equal(other.kind, 'other');
      assert.ok(other.message.includes(p) && other.message.includes('EMFILE'), other.message);

      // Already classified errors are not wrapped twice.
      assert.equal(toBackendError(nospace, 'x', '/y'), nospace);
    });
  });

  describe('interop with restic 0.14', { skip: hasRestic ? false : 'restic not installed' }, () => {
    test('reads a repository made by restic init, and lays out folders the same way', async () => {
      const { dir, cleanup } = await tempDir();
      try {
        const resticRepo = join(dir, 'restic');
        const res = spawnSync('restic', ['init', '--repository-version', '2', '-r', resticRepo], {
          env: { ...process.env, RESTIC_PASSWORD: 'pw', RESTIC_CACHE_DIR: join(dir, 'cache') },
          encoding: 'utf8',
        });
        assert.equal(res.status, 0, res.stderr);
        const b = new LocalBackend(resticRepo);
        assert.equal(await b.hasConfig(), true);
        const keys = await collect(b.list('key'));
        assert.equal(keys.length, 1);
        const keyPath = join(resticRepo, 'keys', keys[0].name);
        assert.equal(keys[0].size, (await fsp.stat(keyPath)).size);
        assert.equal(JSON.parse((await b.load({ type: 'key', name: keys[0].name })).toString()).kdf, 'scrypt');
        await assert.rejects(b.create(), /already exists/);

        const mine = join(dir, 'mine');
        await new LocalBackend(mine).create();
        for (const sub of ['', 'data']) {
          const theirs = (await listDirSorted(join(resticRepo, sub))).filter((n) => n !== 'config');
          assert.deepEqual(await listDirSorted(join(mine, sub)), theirs, sub || 'root');
        }
        assert.equal((await fsp.stat(join(mine, 'data', '3c'))).mode & 0o777, (await fsp.stat(join(resticRepo, 'data', '3c'))).mode & 0o777);
        assert.equal((await fsp.stat(keyPath)).mode & 0o777, 0o400);
      } finally {
        await cleanup();
      }
    });
  });
});
