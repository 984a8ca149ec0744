// RestBackend against a real restic REST server (`rclone serve restic`): the shared backend suite on
// a fresh repository sub-path per test, then what only a server shows: append-only refusals (and
// the lock deletions append-only servers still allow), a stopped or silent server, a connection that
// breaks mid-answer, and Basic auth. Skipped loudly without rclone (failing under CI).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startRcloneRestServer } from '../../../tests/helpers/rclone';
import type { RcloneRestServer, RcloneRestServerOptions } from '../../../tests/helpers/rclone';
import { needTool } from '../../../tests/helpers/tools';
import { BackendError } from './backend';
import type { Handle } from './backend';
import { backendSuite, collect, randomId } from './backend-suite';
import { RestBackend, classifyHttpStatus } from './rest';

const skip = needTool('rclone');

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function server(opts: Omit<RcloneRestServerOptions, 'root'> = {}): Promise<RcloneRestServer & { root: string }> {
  const root = await fsp.mkdtemp(join(tmpdir(), 'mamori-rest-'));
  const s = await startRcloneRestServer({ root, ...opts });
  cleanups.push(async () => {
    await s.stop();
    await fsp.rm(root, { recursive: true, force: true });
  });
  return { ...s, root };
}

// One server for the whole suite; each factory call gets its own repository sub-path.
let shared: Promise<RcloneRestServer> | undefined;

if (!skip) {
  backendSuite('rest (rclone serve restic)', async () => {
    shared ??= server();
    const { url } = await shared;
    return { backend: new RestBackend({ url: `${url}${randomBytes(6).toString('hex')}/` }), cleanup: async () => undefined };
  });
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

describe('RestBackend', { skip }, () => {
  test('location is rest:<url>; credentials in the URL move to Basic auth and out of location', async () => {
    const b = new RestBackend({ url: 'http://someone:pa55word@127.0.0.1:9/repo' });
    assert.equal(b.location, 'rest:http://127.0.0.1:9/repo/');
    await b.close();
  });

  test('HTTP statuses map to the documented kinds', () => {
    const want: [number, BackendError['kind']][] = [
      [404, 'not-found'], [401, 'permission'], [403, 'permission'], [507, 'no-space'], [413, 'no-space'],
      [500, 'transient'], [502, 'transient'], [503, 'transient'], [504, 'transient'], [429, 'transient'],
      [408, 'transient'], [400, 'other'], [405, 'other'], [416, 'other'],
    ];
    for (const [status, kind] of want) assert.equal(classifyHttpStatus(status), kind, String(status));
  });

  test('append-only server: saves work, deleting repository files is refused as append-only, locks may be deleted', async () => {
    const s = await server({ appendOnly: true });
    const b = new RestBackend({ url: `${s.url}repo/` });
    try {
      await b.create();
      assert.equal(b.appendOnly, undefined);
      const handles: Handle[] = (['data', 'index', 'snapshot', 'key', 'lock'] as const).map((type) => ({ type, name: randomId() }));
      for (const h of handles) await b.save(h, Buffer.from(`content of ${h.type}`));
      await b.save({ type: 'config', name: '' }, Buffer.from('cfg'));

      for (const h of handles.filter((x) => x.type !== 'lock')) {
        const err = await assertKind(b.remove(h), 'permission', /append-only/);
        assert.equal(err.handle, h);
        assert.ok(err.message.includes(h.name), err.message);
        assert.deepEqual(await b.load(h), Buffer.from(`content of ${h.type}`), `${h.type} survived`);
      }
      await assertKind(b.remove({ type: 'config', name: '' }), 'permission', /append-only/);
      assert.equal(b.appendOnly, true);

      // rest-server and rclone both let clients remove lock files in append-only mode, so locking works.
      const lock = handles.find((x) => x.type === 'lock') as Handle;
      await b.remove(lock);
      await assertKind(b.load(lock), 'not-found');
      await assertKind(b.remove(lock), 'not-found');
      assert.deepEqual(await collect(b.list('lock')), []);

      // The server refuses overwrites here too, but save() refuses first, before sending the body.
      await assertKind(b.save(handles[0], Buffer.from('other')), 'other', /refusing to overwrite/);
      assert.equal(await b.probeAppendOnly(), true);
    } finally {
      await b.close();
    }
  });

  test('probeAppendOnly is false on a normal server and deletes nothing', async () => {
    const s = await server();
    const b = new RestBackend({ url: `${s.url}repo/` });
    try {
      await b.create();
      const h: Handle = { type: 'data', name: randomId() };
      await b.save(h, Buffer.from('pack'));
      assert.equal(await b.probeAppendOnly(), false);
      assert.equal(b.appendOnly, false);
      assert.deepEqual(await collect(b.list('data')), [{ name: h.name, size: 4 }]);
    } finally {
      await b.close();
    }
  });

  test('a stopped server gives transient errors that name the server and say what to do', async () => {
    const s = await server();
    const b = new RestBackend({ url: `${s.url}repo/` });
    try {
      await b.create();
      const h: Handle = { type: 'snapshot', name: randomId() };
      await b.save(h, Buffer.from('snap'));
      await s.stop();
      const err = await assertKind(b.load(h), 'transient', /try again/);
      assert.ok(err.message.includes(b.location) && err.message.includes(h.name), err.message);
      await assertKind(b.stat(h), 'transient');
      await assertKind(b.save({ type: 'data', name: randomId() }, Buffer.from('x')), 'transient');
      await assertKind(collect(b.list('snapshot')), 'transient');
      await assertKind(b.hasConfig(), 'transient');
      await assertKind(b.remove(h), 'transient');
    } finally {
      await b.close();
    }
  });

  test('Basic auth: the right password works; a wrong or missing one is kind permission', async () => {
    const password = 'correct horse battery';
    const s = await server({ user: 'mamori', pass: password });
    const good = new RestBackend({ url: `${s.url}repo/`, username: 'mamori', password });
    const wrong = new RestBackend({ url: `${s.url}repo/`, username: 'mamori', password: 'wrong horse' });
    const none = new RestBackend({ url: `${s.url}repo/` });
    const inUrl = new RestBackend({ url: `${s.url.replace('http://', `http://mamori:${encodeURIComponent(password)}@`)}repo/` });
    try {
      await good.create();
      const h: Handle = { type: 'index', name: randomId() };
      await good.save(h, Buffer.from('idx'));
      assert.deepEqual(await good.load(h), Buffer.from('idx'));
      assert.deepEqual(await collect(good.list('index')), [{ name: h.name, size: 3 }]);
      assert.deepEqual(await inUrl.load(h), Buffer.from('idx'));
      assert.ok(!inUrl.location.includes('horse'), inUrl.location);

      for (const b of [wrong, none]) {
        const err = await assertKind(b.load(h), 'permission', /credentials/);
        assert.ok(!err.message.includes('horse'), err.message);
        await assertKind(b.hasConfig(), 'permission');
        await assertKind(b.save({ type: 'data', name: randomId() }, Buffer.from('x')), 'permission');
        await assertKind(collect(b.list('index')), 'permission');
      }
    } finally {
      for (const b of [good, wrong, none, inUrl]) await b.close();
    }
  });

  test('app files: writing is refused with a clear BackendError, reading finds none', async () => {
    const b = new RestBackend({ url: 'http://127.0.0.1:9/repo/' });
    await assertKind(b.writeAppFile('mamori-destination.json', Buffer.from('{}')), 'other', /REST protocol/);
    assert.equal(await b.readAppFile('mamori-destination.json'), undefined);
    await assert.rejects(b.writeAppFile('../x', Buffer.from('{}')), BackendError);
    await b.close();
  });

  // A raw TCP peer standing in for the network failures a real server cannot be made to produce on
  // demand: a server that hangs, and a connection that breaks in the middle of an answer.
  async function tcpPeer(onConnection: (sock: net.Socket) => void): Promise<{ url: string; close: () => Promise<void> }> {
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
      onConnection(sock);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as net.AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/repo/`,
      close: () => new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
    };
  }

  test('a server that never answers times out as transient', async () => {
    const peer = await tcpPeer(() => undefined);
    const b = new RestBackend({ url: peer.url, timeoutMs: 300 });
    try {
      await assertKind(b.stat({ type: 'data', name: randomId() }), 'transient', /no answer/);
    } finally {
      await b.close();
      await peer.close();
    }
  });

  test('an answer cut short (fewer bytes than Content-Length) is transient, never a short buffer', async () => {
    const peer = await tcpPeer((sock) => {
      sock.once('data', () => {
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/octet-stream\r\n\r\n');
        sock.end(Buffer.alloc(100, 1));
      });
    });
    const b = new RestBackend({ url: peer.url });
    try {
      await assertKind(b.load({ type: 'data', name: randomId() }), 'transient', /100 of 1000 bytes|aborted|closed/);
    } finally {
      await b.close();
      await peer.close();
    }
  });
});
