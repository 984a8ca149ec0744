// Static serving of the built UI through a real server: content types, SPA fallback, caching, the
// "not built" page, and that no path trick (dot segments raw or percent-encoded, encoded slashes and
// backslashes, symlinks pointing outside, hidden files) ever serves a file from outside the folder.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from './server';
import { safeSegments } from './static-files';
import { FakeHandler, INDEX_HTML, makeUiDir, raw } from './test-support';

describe('static files', () => {
  const dir = makeUiDir();
  let srv: RunningServer;
  let get: (path: string, method?: string) => ReturnType<typeof raw>;

  before(async () => {
    // Symlinks inside the UI folder that lead out of it, and one that stays inside.
    symlinkSync(join(dir.base, 'secret.txt'), join(dir.ui, 'leak.txt'));
    symlinkSync(dir.base, join(dir.ui, 'up'));
    symlinkSync(join(dir.ui, 'assets', 'app.css'), join(dir.ui, 'inside.css'));
    writeFileSync(join(dir.ui, '.env'), 'TOP-SECRET-OUTSIDE-FILE hidden\n');
    mkdirSync(join(dir.ui, 'nested'));
    srv = await startServer({ handler: new FakeHandler(), staticDir: dir.ui });
    get = (path, method) => raw({ port: srv.port, path, method, headers: { Authorization: `Bearer ${srv.token}` } });
  });
  after(async () => {
    await srv.close();
    dir.cleanup();
  });

  test('serves files with their content types', async () => {
    const cases: [string, RegExp, string][] = [
      ['/assets/app.js', /^text\/javascript/, 'console.log("mamori ui");\n'],
      ['/assets/app.css', /^text\/css/, 'body { margin: 0 }\n'],
      ['/logo.svg', /^image\/svg\+xml$/, '<svg xmlns="http://www.w3.org/2000/svg"/>\n'],
      ['/inside.css', /^text\/css/, 'body { margin: 0 }\n'],
    ];
    for (const [path, type, body] of cases) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.match(String(r.headers['content-type']), type, path);
      assert.equal(r.body, body, path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
    }
    const head = await get('/assets/app.js', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String('console.log("mamori ui");\n'.length));
  });

  test('index.html for / and for unknown routes, never cached; 404 for missing assets', async () => {
    for (const path of ['/', '/index.html', '/restore', '/restore/abc123/home/alice', '/nested', '/?tab=2']) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.equal(r.body, INDEX_HTML, path);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.equal(r.headers['cache-control'], 'no-store', path);
    }
    const missing = await get('/assets/missing.js');
    assert.equal(missing.status, 404);
    assert.ok(!missing.body.includes('<html'));
  });

  test('no path trick serves anything from outside the folder', async () => {
    const tricks = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/assets/..\\..\\secret.txt',
      '/%2e%2e%5csecret.txt',
      '/leak.txt',
      '/up/secret.txt',
      '/up/ui/index.html/../../secret.txt',
      '/.env',
      '/assets/%00../../secret.txt',
      '/%c0%ae%c0%ae/secret.txt',
      '//secret.txt',
      `/${'%2e%2e/'.repeat(12)}etc/passwd`,
      '/C:%5cWindows%5cwin.ini',
    ];
    for (const path of tricks) {
      const r = await get(path);
      assert.ok(!r.body.includes('TOP-SECRET-OUTSIDE-FILE'), `${path} served an outside file`);
      assert.ok(!r.body.includes('root:'), `${path} served /etc/passwd`);
      assert.ok(r.status === 400 || r.status === 404 || (r.status === 200 && r.body === INDEX_HTML), `${path}: ${r.status}`);
    }
    // The decoded checks themselves, for the encodings the URL parser leaves alone.
    assert.equal(safeSegments('/..%2fsecret.txt').ok, false);
    assert.equal(safeSegments('/a/%5c..').ok, false);
    assert.equal(safeSegments('/a%00b').ok, false);
    assert.equal(safeSegments('/%zz').ok, false);
    assert.deepEqual(safeSegments('/assets//app%20one.js'), { ok: true, segments: ['assets', 'app one.js'] });
  });

  test('a folder without index.html gets a page saying the UI is not built', async () => {
    const bare = makeUiDir(false);
    const s = await startServer({ handler: new FakeHandler(), staticDir: bare.ui, buildHint: 'Run the build.' });
    try {
      const r = await raw({ port: s.port, path: '/', headers: { Authorization: `Bearer ${s.token}` } });
      assert.equal(r.status, 503);
      assert.match(r.body, /not built/);
      assert.match(r.body, /Run the build\./);
      // Assets still come from the folder; the API does not depend on the UI.
      assert.equal((await raw({ port: s.port, path: '/assets/app.js', headers: { Authorization: `Bearer ${s.token}` } })).status, 200);
      // The folder can be built while the server runs.
      writeFileSync(join(bare.ui, 'index.html'), INDEX_HTML);
      assert.equal((await raw({ port: s.port, path: '/', headers: { Authorization: `Bearer ${s.token}` } })).body, INDEX_HTML);
    } finally {
      await s.close();
      bare.cleanup();
    }
  });
});
