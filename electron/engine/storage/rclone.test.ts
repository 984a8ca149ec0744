// RcloneBackend: the shared backend suite through a real `rclone serve restic --stdio` on rclone's
// on-the-fly local remote (:local:<dir>), the repository layout restic expects on disk, rclone dying
// mid-run (transient, with its log in the message, and recovery by a fresh rclone), start-up
// failures with secrets kept out of messages, and close() leaving no process behind.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { needTool } from '../../../tests/helpers/tools';
import { BackendError } from './backend';
import type { Handle } from './backend';
import { backendSuite, collect, randomId } from './backend-suite';
import { RcloneBackend, redactRemote } from './rclone';

const skip = needTool('rclone');

async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'mamori-rclone-'));
  return { dir, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function assertKind(p: Promise<unknown>, kind: BackendError['kind'], re?: RegExp): Promise<BackendError> {
  let caught: BackendError | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BackendError, `expected a BackendError, got ${String(err)}`);
    assert.equal(err.kind, kind, `expected kind ${kind}: ${err.message}`);
    if (re) assert.match(err.message, re);
    caught = err;
    return true;
  });
  return caught as BackendError;
}

if (!skip) {
  backendSuite('rclone', async () => {
    const { dir, cleanup } = await tempDir();
    return { backend: new RcloneBackend({ remote: `:local:${join(dir, 'repo')}` }), cleanup };
  });
}

describe('RcloneBackend', { skip }, () => {
  test('redactRemote hides inline parameter values and leaves plain remotes alone', () => {
    assert.equal(redactRemote('myremote:bucket/path'), 'myremote:bucket/path');
    assert.equal(redactRemote(':local:/tmp/x'), ':local:/tmp/x');
    assert.equal(redactRemote(':s3,provider=AWS,secret_access_key=abc/def:bucket/p'), ':s3,provider=***,secret_access_key=***:bucket/p');
    assert.equal(redactRemote('remote,pass="a,b":path'), 'remote,pass=***:path');
  });

  test('files land in restic\'s layout (data/<2 hex>/<id>), and close() leaves no rclone behind', async () => {
    const { dir, cleanup } = await tempDir();
    const root = join(dir, 'repo');
    const b = new RcloneBackend({ remote: `:local:${root}` });
    try {
      assert.equal(b.location, `rclone::local:${root}`);
      assert.equal(b.pid, undefined, 'rclone starts on the first request, not before');
      await b.create();
      const pid = b.pid;
      assert.ok(pid !== undefined && alive(pid));
      const h: Handle = { type: 'data', name: randomId() };
      await b.save(h, Buffer.from('pack'));
      await b.save({ type: 'config', name: '' }, Buffer.from('cfg'));
      assert.equal(await fsp.readFile(join(root, 'data', h.name.slice(0, 2), h.name), 'utf8'), 'pack');
      assert.ok(existsSync(join(root, 'config')));
      for (const d of ['keys', 'snapshots', 'index', 'locks']) assert.ok(existsSync(join(root, d)), d);
      await b.close();
      assert.equal(alive(pid), false, 'rclone still runs after close()');
      assert.equal(b.pid, undefined);
      // A closed backend does not start rclone again.
      await assertKind(b.stat(h), 'other', /closed/);
      assert.equal(b.pid, undefined);
    } finally {
      await b.close();
      await cleanup();
    }
  });

  test('rclone dying mid-run: transient errors naming rclone, then a fresh rclone serves again', async () => {
    const { dir, cleanup } = await tempDir();
    const b = new RcloneBackend({ remote: `:local:${join(dir, 'repo')}` });
    const pids: number[] = [];
    try {
      await b.create();
      const kept: Handle = { type: 'index', name: randomId() };
      await b.save(kept, Buffer.from('index'));
      const first = b.pid as number;
      pids.push(first);
      const pack = randomBytes(32 * 1024 * 1024);
      const saving = b.save({ type: 'data', name: randomId() }, pack);
      const loading = b.load(kept);
      process.kill(first, 'SIGKILL');
      const err = await assertKind(saving, 'transient', /rclone exited on signal SIGKILL/);
      assert.ok(err.message.includes(b.location), err.message);
      // A request that happened to finish before the kill is fine; any failure must be transient.
      await loading.catch((e: unknown) => {
        assert.ok(e instanceof BackendError && e.kind === 'transient', String(e));
      });
      assert.equal(alive(first), false);

      assert.deepEqual(await b.load(kept), Buffer.from('index'));
      const second = b.pid as number;
      pids.push(second);
      assert.notEqual(second, first);
      assert.deepEqual((await collect(b.list('index'))).map((f) => f.name), [kept.name]);
    } finally {
      await b.close();
      await cleanup();
    }
    for (const pid of pids) assert.equal(alive(pid), false, `rclone ${pid} still runs`);
  });

  test('a remote rclone cannot open: transient, with rclone\'s own message and no secret', async () => {
    const { dir, cleanup } = await tempDir();
    const secret = 'hunter2-very-secret';
    // --config points at an empty config so the user's own remotes cannot interfere.
    const args = ['--config', join(dir, 'rclone.conf')];
    const missing = new RcloneBackend({ remote: 'no-such-remote:path', args });
    const withSecret = new RcloneBackend({ remote: `:sftp,host=127.0.0.1,port=1,user=x,pass=${secret}:/srv`, args });
    try {
      await assertKind(missing.hasConfig(), 'transient', /didn't find section in config file/);
      assert.equal(missing.pid, undefined);
      assert.ok(!withSecret.location.includes(secret), withSecret.location);
      const err = await assertKind(withSecret.hasConfig(), 'transient', /rclone exited with code 1/);
      assert.ok(!err.message.includes(secret), err.message);
    } finally {
      await missing.close();
      await withSecret.close();
      await cleanup();
    }
  });

  test('a missing rclone binary is kind other and says so', async () => {
    const b = new RcloneBackend({ remote: ':local:/nonexistent', rcloneBinary: '/nonexistent/rclone' });
    try {
      await assertKind(b.hasConfig(), 'other', /rclone was not found/);
    } finally {
      await b.close();
    }
  });
});
