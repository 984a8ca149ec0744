// `npm start` on a machine without Electron's binary says so plainly and falls back to the headless
// server: the same UI and API on 127.0.0.1, behind a one-time token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../helpers/tools';

const hasElectron = existsSync(join(projectRoot, 'node_modules/electron/path.txt'));

test('npm start without Electron explains itself and starts the headless server', { skip: hasElectron && 'Electron is installed here: npm start would open the app', timeout: 240_000 }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'mamori-start-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const child = spawn(process.execPath, [join(projectRoot, 'scripts/start.mjs')], {
    cwd: projectRoot,
    env: { ...process.env, MAMORI_HOME: home, MAMORI_NO_KEYRING: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise((r) => child.on('exit', r));
  const deadline = Date.now() + 200_000;
  let url: string | undefined;
  while (!url && Date.now() < deadline) {
    url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out)?.[0];
    if (!url) await new Promise((r) => setTimeout(r, 100));
  }
  try {
    assert.ok(url, `no address printed:\n${out}\n${err}`);
    assert.match(out, /Electron desktop app cannot start here/);
    assert.match(out, /in your browser instead/);
    const u = new URL(url);
    const token = u.searchParams.get('token')!;
    const ok = await fetch(`${u.origin}/api/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ method: 'getOverview', params: {} }),
    });
    const body = (await ok.json()) as { ok: boolean; result: { needsSetup: { password: boolean } } };
    assert.equal(body.ok, true);
    assert.equal(body.result.needsSetup.password, true);
    const denied = await fetch(`${u.origin}/api/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(denied.status, 401);
    assert.doesNotMatch(out + err, /TypeError|at async/);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
