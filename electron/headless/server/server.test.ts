// The headless server against real HTTP and WebSocket clients on a free port: who gets in (token,
// cookie, Bearer), who is refused (no or wrong token, foreign Host or Origin), what /api/call answers
// for good and malformed requests, and that events reach WebSocket clients.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { MamoriEvent } from '../../../shared/api';
import { startServer, type RunningServer } from './server';
import { apiCall, FakeHandler, INDEX_HTML, makeUiDir, raw } from './test-support';

function cookieOf(res: { headers: Record<string, string | string[] | undefined> }): string {
  const set = res.headers['set-cookie'];
  assert.ok(Array.isArray(set) && set.length === 1, 'one Set-Cookie header');
  return set[0].split(';')[0];
}

/** Opens a WebSocket and resolves with it once open, or with the HTTP status that refused it. */
function openWs(url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data))));
    ws.once('error', reject);
  });
}

describe('headless server', () => {
  const handler = new FakeHandler();
  const dir = makeUiDir();
  const internalErrors: unknown[] = [];
  let srv: RunningServer;
  let port: number;
  let token: string;
  let cookie: string;

  before(async () => {
    srv = await startServer({ handler, staticDir: dir.ui, port: 0, onInternalError: (_m, e) => internalErrors.push(e) });
    port = srv.port;
    token = srv.token;
  });
  after(async () => {
    await srv.close();
    dir.cleanup();
  });

  test('listens on 127.0.0.1 only and prints an address with a random token', async () => {
    const a = srv.address();
    assert.equal(a.address, '127.0.0.1');
    assert.equal(a.family, 'IPv4');
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
    assert.equal(srv.url, `http://127.0.0.1:${port}/?token=${token}`);
    // Another interface of this machine, if it has one, must not answer.
    const other = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4');
    if (other) {
      const sock = connect({ host: other.address, port });
      const [err] = (await once(sock, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
      assert.equal(err.code, 'ECONNREFUSED', `port ${port} on ${other.address} should be closed`);
      sock.destroy();
    }
    const second = await startServer({ handler, staticDir: dir.ui });
    try {
      assert.notEqual(second.token, token, 'each run makes a new token');
    } finally {
      await second.close();
    }
  });

  test('no token: 401 for pages, assets and the API, and the handler is never called', async () => {
    const calls = handler.calls.length;
    for (const path of ['/', '/index.html', '/assets/app.js', '/restore/somewhere']) {
      const r = await raw({ port, path });
      assert.equal(r.status, 401, path);
      assert.match(r.body, /mamori serve/);
      assert.ok(!r.body.includes('mamori ui') && !r.body.includes('<div id="root">'), `${path}: no content leaks`);
    }
    const api = await raw({ port, path: '/api/call', method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"method":"getSettings","params":{}}' });
    assert.equal(api.status, 401);
    assert.equal(JSON.parse(api.body).ok, false);
    assert.equal(handler.calls.length, calls);
  });

  test('wrong token: 401 in the query, the cookie and the Authorization header', async () => {
    const wrong = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    assert.equal((await raw({ port, path: `/?token=${wrong}` })).status, 401);
    assert.equal((await raw({ port, path: '/?token=' })).status, 401);
    assert.equal((await raw({ port, path: '/', headers: { Cookie: `mamori_token=${wrong}` } })).status, 401);
    assert.equal((await raw({ port, path: '/', headers: { Authorization: `Bearer ${wrong}` } })).status, 401);
    assert.equal((await apiCall(port, wrong, { method: 'getSettings', params: {} })).status, 401);
    // Basic auth or the token without "Bearer" is not the token.
    assert.equal((await raw({ port, path: '/', headers: { Authorization: token } })).status, 401);
  });

  test('the token in the address sets an HttpOnly SameSite=Strict cookie and redirects without it', async () => {
    const r = await raw({ port, path: `/?token=${token}` });
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/');
    const set = String(r.headers['set-cookie']);
    assert.match(set, new RegExp(`^mamori_token=${token};`));
    assert.match(set, /; HttpOnly/);
    assert.match(set, /; SameSite=Strict/);
    assert.match(set, /; Path=\//);
    cookie = cookieOf(r);
    const deep = await raw({ port, path: `/restore/points?view=list&token=${token}` });
    assert.equal(deep.status, 303);
    assert.equal(deep.headers.location, '/restore/points?view=list');
  });

  test('the cookie then opens the UI, with security headers', async () => {
    const r = await raw({ port, path: '/', headers: { Cookie: cookie } });
    assert.equal(r.status, 200);
    assert.equal(r.body, INDEX_HTML);
    assert.equal(r.headers['cache-control'], 'no-store');
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.ok(csp.includes(`connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`), csp);
    assert.match(csp, /img-src 'self' data:/);
    assert.match(csp, /style-src 'self' 'unsafe-inline'/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    const js = await raw({ port, path: '/assets/app.js', headers: { Cookie: `other=1; ${cookie}` } });
    assert.equal(js.status, 200);
    assert.equal(js.body, 'console.log("mamori ui");\n');
    const api = await apiCall(port, 'unused', { method: 'getSettings', params: {} }, { Authorization: '', Cookie: cookie });
    assert.equal(api.status, 200);
    assert.deepEqual(api.json, { ok: true, result: { language: 'ja', startAtLogin: false, excludes: ['*.tmp'] } });
  });

  test('Bearer works for the API; the token in an API address alone does not', async () => {
    const r = await apiCall(port, token, { method: 'getSettings', params: {} });
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, true);
    assert.equal(r.headers['cache-control'], 'no-store');
    const q = await raw({ port, path: `/api/call?token=${token}`, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"method":"getSettings"}' });
    assert.equal(q.status, 401);
  });

  test('a foreign Host is refused with 403, even with the token', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, `localhost:${port}.evil.example`, `127.0.0.1`]) {
      const page = await raw({ port, path: '/', headers: { Host: host, Cookie: cookie } });
      assert.equal(page.status, 403, host);
      assert.ok(!page.body.includes('<div id="root">'));
      const api = await apiCall(port, token, { method: 'getSettings', params: {} }, { Host: host });
      assert.equal(api.status, 403, host);
      assert.equal(api.json.ok, false);
    }
    // Without any Host header Node itself answers 400 (HTTP/1.1 requires Host); either way, no page.
    const noHost = await raw({ port, path: '/', setHost: false, headers: { Cookie: cookie } });
    assert.ok(noHost.status === 400 || noHost.status === 403, `no Host: ${noHost.status}`);
    assert.ok(!noHost.body.includes('<div id="root">'));
    assert.equal((await raw({ port, path: `/?token=${token}`, headers: { Host: `evil.example:${port}` } })).status, 403);
    assert.equal((await raw({ port, path: '/', headers: { Host: `localhost:${port}`, Cookie: cookie } })).status, 200);
  });

  test('a foreign Origin or a cross-site fetch is refused with 403', async () => {
    const calls = handler.calls.length;
    for (const origin of ['http://evil.example', `http://evil.example:${port}`, `http://127.0.0.1:${port + 1}`, `http://localhost:${port + 1}`, `https://127.0.0.1:${port}`, 'null']) {
      const r = await apiCall(port, token, { method: 'getSettings', params: {} }, { Origin: origin, Cookie: cookie });
      assert.equal(r.status, 403, origin);
    }
    assert.equal(handler.calls.length, calls, 'refused calls never reach the handler');
    const crossSite = await raw({ port, path: '/assets/app.js', headers: { Cookie: cookie, 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'no-cors' } });
    assert.equal(crossSite.status, 403);
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const host = origin.slice('http://'.length);
      const r = await apiCall(port, token, { method: 'getSettings', params: {} }, { Origin: origin, Host: host, 'Sec-Fetch-Site': 'same-origin' });
      assert.equal(r.status, 200, origin);
    }
  });

  test('WebSocket: refused without token, with a wrong token, or from a foreign Origin', async () => {
    const base = `ws://127.0.0.1:${port}/api/events`;
    assert.equal((await openWs(base)).status, 401);
    assert.equal((await openWs(`${base}?token=nope-${token}`)).status, 401);
    assert.equal((await openWs(base, { Cookie: 'mamori_token=nope' })).status, 401);
    assert.equal((await openWs(base, { Cookie: cookie, Origin: 'http://evil.example' })).status, 403);
    assert.equal((await openWs(`${base}?token=${token}`, { Origin: `http://127.0.0.1:${port + 1}` })).status, 403);
    assert.equal((await openWs(`${base}?token=${token}`, { Host: `evil.example:${port}` })).status, 403);
    assert.equal((await openWs(`ws://127.0.0.1:${port}/elsewhere?token=${token}`)).status, 404);
    assert.equal(handler.listenerCount('event'), 0, 'refused sockets never subscribe');
  });

  test('WebSocket with the token receives every event as JSON and unsubscribes on close', async () => {
    const byQuery = await openWs(`ws://127.0.0.1:${port}/api/events?token=${token}`);
    const byCookie = await openWs(`ws://127.0.0.1:${port}/api/events`, { Cookie: cookie, Origin: `http://127.0.0.1:${port}` });
    assert.ok(byQuery.ws && byCookie.ws);
    assert.equal(handler.listenerCount('event'), 1, 'one listener serves every socket');
    const events: MamoriEvent[] = [
      { type: 'state-changed' },
      { type: 'job-finished', jobId: 7, kind: 'backup', status: 'partial', summary: '2 files unreadable', errors: [{ code: 'SOURCE_UNREADABLE', message: 'cannot read /x' }] },
    ];
    byCookie.ws.close();
    await once(byCookie.ws, 'close');
    assert.equal(handler.listenerCount('event'), 1, 'still subscribed while a socket is open');
    const third = await openWs(`ws://127.0.0.1:${port}/api/events`, { Cookie: cookie });
    assert.ok(third.ws);
    byCookie.ws = third.ws;
    for (const e of events) {
      const got: Promise<unknown[]> = Promise.all([nextMessage(byQuery.ws), nextMessage(byCookie.ws)]);
      handler.emitEvent(e);
      assert.deepEqual(await got, [e, e]);
    }
    byQuery.ws.close();
    byCookie.ws.close();
    await Promise.all([once(byQuery.ws, 'close'), once(byCookie.ws, 'close')]);
    for (let i = 0; i < 100 && handler.listenerCount('event') > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(handler.listenerCount('event'), 0);
  });

  test('malformed JSON and malformed envelopes get 400 with a typed error', async () => {
    const calls = handler.calls.length;
    for (const body of ['{"method": "getSettings",', 'not json', '', '[1,2]', 'null', '"getSettings"', '{"method":"getSettings","params":{},"extra":1}']) {
      const r = await apiCall(port, token, body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json.ok, false);
      assert.equal(r.json.error?.code, 'INVALID_REQUEST', body);
      assert.ok(r.json.error?.message);
    }
    assert.equal(handler.calls.length, calls);
  });

  test('unknown methods, wrong param types and extra params: INVALID_REQUEST naming the field', async () => {
    const calls = handler.calls.length;
    const unknown = await apiCall(port, token, { method: 'deleteEverything', params: {} });
    assert.equal(unknown.status, 200);
    assert.equal(unknown.json.error?.code, 'INVALID_REQUEST');
    assert.match(unknown.json.error?.message ?? '', /deleteEverything/);
    const proto = await apiCall(port, token, { method: 'toString', params: {} });
    assert.equal(proto.json.error?.code, 'INVALID_REQUEST');
    const noMethod = await apiCall(port, token, { params: {} });
    assert.equal(noMethod.json.error?.code, 'INVALID_REQUEST');
    const wrongType = await apiCall(port, token, { method: 'listJobs', params: { limit: 'ten' } });
    assert.equal(wrongType.json.error?.code, 'INVALID_REQUEST');
    assert.equal(wrongType.json.error?.subject, 'limit');
    assert.match(wrongType.json.error?.message ?? '', /limit/);
    const nested = await apiCall(port, token, { method: 'addSource', params: { paths: ['/ok', 'relative/path'] } });
    assert.equal(nested.json.error?.subject, 'paths.1');
    const extra = await apiCall(port, token, { method: 'getSettings', params: { sneaky: true } });
    assert.equal(extra.json.error?.code, 'INVALID_REQUEST');
    assert.match(extra.json.error?.message ?? '', /sneaky/);
    const notObject = await apiCall(port, token, { method: 'getSettings', params: 'all' });
    assert.equal(notObject.json.error?.code, 'INVALID_REQUEST');
    assert.equal(handler.calls.length, calls, 'invalid requests never reach the handler');
    // Valid params arrive as validated, absent params as {}.
    const ok = await apiCall(port, token, { method: 'listJobs', params: { limit: 5 } });
    assert.deepEqual(ok.json, { ok: true, result: [] });
    await apiCall(port, token, { method: 'getSettings' });
    assert.deepEqual(handler.calls.slice(-2), [{ method: 'listJobs', params: { limit: 5 } }, { method: 'getSettings', params: {} }]);
  });

  test('a MamoriError from the handler keeps its code, message, hint and subject', async () => {
    const r = await apiCall(port, token, { method: 'removeSource', params: { id: 'locked' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      ok: false,
      error: {
        code: 'REPOSITORY_LOCKED',
        message: 'the repository at /backup/usb is locked by another backup',
        hint: 'Wait for the other backup to finish, then try again.',
        subject: '/backup/usb',
      },
    });
  });

  test('any other error becomes INTERNAL without its message or stack', async () => {
    const before = internalErrors.length;
    const r = await apiCall(port, token, { method: 'removeSource', params: { id: 'crash' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.error?.code, 'INTERNAL');
    for (const leak of ['SQLITE', 'alice', 'hunter2', 'state.db', ' at ', '.ts:']) {
      assert.ok(!r.body.includes(leak), `response leaks ${JSON.stringify(leak)}: ${r.body}`);
    }
    assert.equal(internalErrors.length, before + 1, 'the operator hook sees the real error');
  });

  test('only POST with Content-Type application/json is accepted on /api/call', async () => {
    const get = await raw({ port, path: '/api/call', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']) {
      const r = await apiCall(port, token, { method: 'getSettings', params: {} }, { 'Content-Type': type });
      assert.equal(r.status, 415, type);
      assert.equal(r.json.error?.code, 'INVALID_REQUEST');
    }
    const charset = await apiCall(port, token, { method: 'getSettings', params: {} }, { 'Content-Type': 'application/json; charset=UTF-8' });
    assert.equal(charset.status, 200);
    const other = await raw({ port, path: '/api/other', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(other.status, 404);
    const plainGet = await raw({ port, path: '/api/events', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(plainGet.status, 426);
    const postPage = await raw({ port, path: '/', method: 'POST', headers: { Cookie: cookie } });
    assert.equal(postPage.status, 405);
  });

  test('bodies over the limit get 413, declared or streamed, and the server keeps working', async () => {
    const big = JSON.stringify({ method: 'getSettings', params: {}, pad: 'x'.repeat(1024 * 1024) });
    const declared = await apiCall(port, token, big);
    assert.equal(declared.status, 413);
    assert.equal(declared.json.error?.code, 'INVALID_REQUEST');
    const streamed = await raw({
      port,
      path: '/api/call',
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      chunks: Array.from({ length: 20 }, () => Buffer.alloc(128 * 1024, 0x20)),
    });
    assert.equal(streamed.status, 413);
    assert.equal((await apiCall(port, token, { method: 'getSettings', params: {} })).status, 200);
  });
});

describe('headless server lifecycle', () => {
  test('close() stops listening, ends event sockets and unsubscribes them', async () => {
    const handler = new FakeHandler();
    const dir = makeUiDir();
    try {
      const srv = await startServer({ handler, staticDir: dir.ui });
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/api/events?token=${srv.token}`);
      await once(ws, 'open');
      assert.equal(handler.listenerCount('event'), 1);
      const closed = once(ws, 'close');
      await srv.close();
      await closed;
      assert.equal(handler.listenerCount('event'), 0);
      await assert.rejects(raw({ port: srv.port, path: '/' }), /ECONNREFUSED/);
    } finally {
      dir.cleanup();
    }
  });

  test('a port in use is reported plainly; a bad token is refused', async () => {
    const handler = new FakeHandler();
    const first = await startServer({ handler, staticDir: '/nonexistent' });
    try {
      await assert.rejects(startServer({ handler, staticDir: '/nonexistent', port: first.port }), /already in use/);
    } finally {
      await first.close();
    }
    await assert.rejects(startServer({ handler, staticDir: '/nonexistent', token: 'short' }), /token/);
    const fixed = await startServer({ handler, staticDir: '/nonexistent', token: 'a-fixed-token-for-e2e-tests' });
    try {
      assert.match(fixed.url, /\?token=a-fixed-token-for-e2e-tests$/);
    } finally {
      await fixed.close();
    }
  });
});
