// SftpBackend against a real OpenSSH sshd on 127.0.0.1 (tests/helpers/sshd.ts): the shared backend
// suite, plus what only SFTP can show: host-key pinning and trust on first use (checked against
// ssh-keygen -lf), refused logins, a server killed mid-save (transient) and the reconnect after it
// comes back, one connection reused for many operations, relative paths, restic's layout and modes,
// a real full disk (a tiny tmpfs, when this machine lets us mount one) and 64 MiB throughput.
// Skipped loudly (failing under CI) when sshd or ssh-keygen is missing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BackendError } from './backend';
import type { Handle } from './backend';
import { backendSuite, collect, randomId } from './backend-suite';
import { SftpBackend, hostKeyFingerprint, sftpOptionsFromLocation } from './sftp';
import type { HostKeyPolicy, SftpBackendOptions } from './sftp';
import { parseLocation } from './location';
import { generateKey, needSshd, sshKeygenFingerprint, startSshd } from '../../../tests/helpers/sshd';
import type { Sshd } from '../../../tests/helpers/sshd';

const skip = needSshd();
const MiB = 1024 * 1024;

// One sshd for the whole file, started on first use; password logins are enabled so the password
// test reaches sshd's password check (key logins are unaffected).
let sshdPromise: Promise<Sshd> | undefined;
function sshd(): Promise<Sshd> {
  sshdPromise ??= startSshd({ passwordAuthentication: true });
  return sshdPromise;
}
after(async () => {
  if (sshdPromise) await (await sshdPromise).stop();
});

let folders = 0;
/** A fresh, not yet existing repository folder under the server's root, and its cleanup. */
async function freshFolder(): Promise<{ s: Sshd; dir: string; cleanup: () => Promise<void> }> {
  const s = await sshd();
  const dir = join(s.root, `t${++folders}-${randomBytes(4).toString('hex')}`);
  return { s, dir, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

function options(s: Sshd, path: string, extra: Partial<SftpBackendOptions> = {}): SftpBackendOptions {
  return {
    host: '127.0.0.1',
    port: s.port,
    username: s.user,
    path,
    privateKey: s.privateKey,
    hostKey: { pinned: s.hostKeyFingerprint },
    ...extra,
  };
}

async function assertKind(p: Promise<unknown>, kind: BackendError['kind'], match?: RegExp): Promise<BackendError> {
  let caught: BackendError | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BackendError, `expected a BackendError, got ${String(err)}`);
    assert.equal(err.kind, kind, `expected kind ${kind}: ${err.message}`);
    if (match) assert.match(err.message, match);
    caught = err;
    return true;
  });
  return caught!;
}

function acceptedLogins(s: Sshd): number {
  return (s.log().match(/Accepted (publickey|password)/g) ?? []).length;
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

if (skip) {
  test('backend suite: sftp', { skip }, () => undefined);
} else {
  backendSuite('sftp', async () => {
    const { s, dir, cleanup } = await freshFolder();
    return { backend: new SftpBackend(options(s, dir)), cleanup };
  });
}

describe('SftpBackend', { skip }, () => {
  let s: Sshd;
  before(async () => {
    s = await sshd();
  });

  test('fingerprint format equals ssh-keygen -lf (our helper and the backend agree)', () => {
    const fp = sshKeygenFingerprint(s.hostKeyPath);
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(s.hostKeyFingerprint, fp);
    const blob = Buffer.from(spawnSync('cat', [`${s.hostKeyPath}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1], 'base64');
    assert.equal(hostKeyFingerprint(blob), fp);
  });

  test('create makes restic 0.14 layout (256 data folders, 0700); files are 0600 as restic sftp leaves them', async () => {
    const { dir, cleanup } = await freshFolder();
    const b = new SftpBackend(options(s, join(dir, 'deep', 'repo')));
    try {
      await b.create();
      const root = join(dir, 'deep', 'repo');
      assert.deepEqual((await fsp.readdir(root)).sort(), ['data', 'index', 'keys', 'locks', 'snapshots']);
      const data = (await fsp.readdir(join(root, 'data'))).sort();
      assert.equal(data.length, 256);
      assert.equal(data[0], '00');
      assert.equal(data[255], 'ff');
      for (const d of ['', 'keys', 'data', 'data/a7']) assert.equal((await fsp.stat(join(root, d))).mode & 0o777, 0o700, d);
      const h: Handle = { type: 'data', name: randomId() };
      await b.save(h, Buffer.from('pack'));
      await b.save({ type: 'config', name: '' }, Buffer.from('cfg'));
      assert.equal((await fsp.stat(join(root, 'data', h.name.slice(0, 2), h.name))).mode & 0o777, 0o600);
      assert.equal((await fsp.stat(join(root, 'config'))).mode & 0o777, 0o600);
      await b.writeAppFile('marker.json', Buffer.from('{}'));
      assert.equal((await fsp.stat(join(root, 'app', 'marker.json'))).mode & 0o777, 0o600);
      assert.deepEqual((await fsp.readdir(join(root, 'app'))), ['marker.json'], 'no temporary app file left behind');
    } finally {
      await b.close();
      await cleanup();
    }
  });

  test('location uses restic syntax, names no secret, and round-trips through parseLocation', async () => {
    const b = new SftpBackend(options(s, '/srv/backup', { password: 'pa55word-secret' }));
    assert.equal(b.location, `sftp://${s.user}@127.0.0.1:${s.port}//srv/backup`);
    assert.doesNotMatch(b.location, /pa55word/);
    const loc = parseLocation(b.location);
    assert.ok(loc.kind === 'sftp');
    const o = sftpOptionsFromLocation(loc, { hostKey: {}, password: 'x' });
    assert.deepEqual([o.host, o.port, o.username, o.path], ['127.0.0.1', s.port, s.user, '/srv/backup']);
    const short = new SftpBackend({ host: 'nas.local', username: 'me', path: 'backups/mamori', hostKey: {} });
    assert.equal(short.location, 'sftp:me@nas.local:backups/mamori');
    const parsed = parseLocation(short.location);
    assert.ok(parsed.kind === 'sftp');
    assert.deepEqual([parsed.host, parsed.port, parsed.user, parsed.path], ['nas.local', 22, 'me', 'backups/mamori']);
    await b.close();
  });

  test('a wrong pinned host key is refused with a clear message, before logging in, and nothing is written', async () => {
    const { dir, cleanup } = await freshFolder();
    const wrong = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const b = new SftpBackend(options(s, dir, { hostKey: { pinned: wrong } }));
    try {
      const logins = acceptedLogins(s);
      const err = await assertKind(b.create(), 'permission');
      for (const part of ['127.0.0.1', wrong, s.hostKeyFingerprint]) assert.ok(err.message.includes(part), `${part} in: ${err.message}`);
      assert.match(err.message, /identity changed/);
      assert.match(err.message, /attack/);
      assert.equal(b.hostKeyFingerprint, undefined);
      await assertKind(b.save({ type: 'key', name: randomId() }, Buffer.from('x')), 'permission');
      assert.equal(existsSync(dir), false);
      assert.equal(acceptedLogins(s), logins, 'the client authenticated to a server it did not trust');
    } finally {
      await b.close();
      await cleanup();
    }
  });

  test('trust on first use: false refuses; true accepts and exposes the fingerprint ssh-keygen -lf reports', async () => {
    const { dir, cleanup } = await freshFolder();
    const seen: string[] = [];
    const refuse: HostKeyPolicy = { onFirstUse: (fp) => (seen.push(fp), false) };
    const refused = new SftpBackend(options(s, dir, { hostKey: refuse }));
    // Asynchronous answers (a dialog) are waited for.
    const accept: HostKeyPolicy = { onFirstUse: async (fp) => (seen.push(fp), new Promise((r) => setTimeout(() => r(true), 50))) };
    const accepted = new SftpBackend(options(s, dir, { hostKey: accept }));
    const unknown = new SftpBackend(options(s, dir, { hostKey: {} }));
    try {
      await assertKind(refused.create(), 'permission', /not accepted/);
      assert.equal(refused.hostKeyFingerprint, undefined);
      assert.equal(existsSync(dir), false);
      await assertKind(unknown.hasConfig(), 'permission', /no saved fingerprint/);

      await accepted.create();
      const expected = sshKeygenFingerprint(`${s.hostKeyPath}.pub`);
      assert.equal(accepted.hostKeyFingerprint, expected);
      assert.deepEqual(seen, [expected, expected]);
      assert.ok(existsSync(join(dir, 'keys')));
      // The stored pin works, with or without the prefix people may drop when pasting it.
      const pinned = new SftpBackend(options(s, dir, { hostKey: { pinned: expected.replace(/^SHA256:/, '') } }));
      assert.equal(await pinned.hasConfig(), false);
      await pinned.close();
      // Reconnecting after close does not ask again: the accepted key is now expected.
      await accepted.close();
      assert.equal(await accepted.hasConfig(), false);
      assert.equal(seen.length, 2);
    } finally {
      await Promise.all([refused.close(), accepted.close(), unknown.close()]);
      await cleanup();
    }
  });

  test('a key accepted on first use must not change on reconnect (new host key -> refused)', async () => {
    const other = await startSshd();
    const dir = join(other.root, 'repo');
    let asked = 0;
    const b = new SftpBackend(options(other, dir, { hostKey: { onFirstUse: () => (++asked, true) } }));
    try {
      await b.create();
      assert.equal(b.hostKeyFingerprint, other.hostKeyFingerprint);
      await other.kill();
      // The server comes back with a different host key (reinstalled, or an impostor on its address).
      await fsp.rm(other.hostKeyPath);
      await fsp.rm(`${other.hostKeyPath}.pub`);
      generateKey(other.hostKeyPath);
      await other.restart();
      const err = await assertKind(b.hasConfig(), 'permission', /identity changed/);
      assert.ok(err.message.includes(other.hostKeyFingerprint), err.message);
      assert.equal(asked, 1);
    } finally {
      await b.close();
      await other.stop();
    }
  });

  test('app files are replaced where the server offers no posix-rename (remove, then rename)', async () => {
    const banned = await startSshd({ sftpServerFlags: ['-P', 'posix-rename'] });
    const dir = join(banned.root, 'repo');
    const b = new SftpBackend(options(banned, dir));
    try {
      await b.create();
      await b.writeAppFile('marker.json', Buffer.from('one'));
      await b.writeAppFile('marker.json', Buffer.from('two'));
      assert.deepEqual(await b.readAppFile('marker.json'), Buffer.from('two'));
      assert.deepEqual(await fsp.readdir(join(dir, 'app')), ['marker.json']);
      // Repository files never needed it: save and its no-overwrite rule work the same.
      const h: Handle = { type: 'key', name: randomId() };
      await b.save(h, Buffer.from('k'));
      await assert.rejects(b.save(h, Buffer.from('other')), /refusing to overwrite/);
    } finally {
      await b.close();
      await banned.stop();
    }
  });

  test('refused logins: a key the server does not know, a wrong password, a wrong key passphrase', async () => {
    const { dir, cleanup } = await freshFolder();
    const otherKey = join(s.dir, `other-${randomBytes(4).toString('hex')}`);
    generateKey(otherKey);
    const encKey = join(s.dir, `enc-${randomBytes(4).toString('hex')}`);
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right-passphrase', '-f', encKey]);
    const cases: [string, Partial<SftpBackendOptions>, BackendError['kind'], RegExp][] = [
      ['unknown key', { privateKey: await fsp.readFile(otherKey) }, 'permission', /refused the login for user/],
      ['wrong password', { privateKey: undefined, password: 'not-the-password-42' }, 'permission', /refused the login for user/],
      ['no credentials', { privateKey: undefined }, 'permission', /refused the login/],
      ['wrong passphrase', { privateKey: await fsp.readFile(encKey), passphrase: 'wrong-passphrase-42' }, 'permission', /private key/],
    ];
    try {
      for (const [what, extra, kind, re] of cases) {
        const b = new SftpBackend(options(s, dir, extra));
        const err = await assertKind(b.create(), kind, re);
        assert.doesNotMatch(err.message, /not-the-password-42|wrong-passphrase-42/, what);
        assert.ok(err.message.includes(s.user) || /private key/.test(err.message), `${what}: ${err.message}`);
        await b.close();
      }
      assert.equal(existsSync(dir), false);
      // The right passphrase unlocks the key (the server does not know it, so login is refused, but
      // for the right reason).
      const b = new SftpBackend(options(s, dir, { privateKey: await fsp.readFile(encKey), passphrase: 'right-passphrase' }));
      await assertKind(b.create(), 'permission', /refused the login/);
      await b.close();
    } finally {
      await cleanup();
    }
  });

  test('a server killed mid-save gives transient; after it restarts, the next operations reconnect', async () => {
    const { dir, cleanup } = await freshFolder();
    const b = new SftpBackend(options(s, dir));
    try {
      await b.create();
      const kept: Handle = { type: 'index', name: randomId() };
      await b.save(kept, Buffer.from('saved before the crash'));
      const h: Handle = { type: 'data', name: randomId() };
      const sub = join(dir, 'data', h.name.slice(0, 2));
      const saving = b.save(h, randomBytes(64 * MiB));
      saving.catch(() => undefined);
      // Kill once the temporary file exists on the server, i.e. while the upload is under way.
      await waitFor(async () => (await fsp.readdir(sub)).length > 0, 'the temporary file');
      await s.kill();
      const err = await assertKind(saving, 'transient');
      assert.match(err.message, /connection to 127\.0\.0\.1:\d+ was lost/);
      assert.equal(err.handle, h);
      // While the server is down: transient again, at once (connection refused).
      await assertKind(b.stat(kept), 'transient', /refused the connection/);

      await s.restart();
      assert.deepEqual(await b.load(kept), Buffer.from('saved before the crash'));
      await b.save(h, Buffer.from('second try'));
      assert.deepEqual(await b.load(h), Buffer.from('second try'));
      // The crash leftover (a half-written temp file) is never listed.
      assert.deepEqual((await collect(b.list('data'))).map((f) => f.name), [h.name]);

      // A restart while idle: the next read just works, on a new connection.
      await s.restart();
      assert.deepEqual(await b.stat(kept), { name: kept.name, size: 22 });
    } finally {
      await b.close();
      await cleanup();
    }
  });

  test('one SSH connection serves many operations, and close() ends it', async () => {
    const { dir, cleanup } = await freshFolder();
    const b = new SftpBackend(options(s, dir));
    try {
      const before = acceptedLogins(s);
      await b.create();
      const ids = Array.from({ length: 20 }, () => ({ type: 'snapshot' as const, name: randomId() }));
      await Promise.all(ids.map((h) => b.save(h, Buffer.from(h.name))));
      await Promise.all(ids.map(async (h) => assert.deepEqual(await b.load(h), Buffer.from(h.name))));
      assert.equal((await collect(b.list('snapshot'))).length, 20);
      assert.equal(acceptedLogins(s), before + 1);
      await b.close();
      assert.equal(await b.hasConfig(), false, 'a closed backend connects again when used');
      assert.equal(acceptedLogins(s), before + 2);
    } finally {
      await b.close();
      await cleanup();
    }
  });

  test('a relative path is relative to the login folder (sftp:user@host:relative)', async () => {
    const rel = `rel-${randomBytes(4).toString('hex')}/repo`;
    const b = new SftpBackend(options(s, rel));
    try {
      assert.ok(b.location.endsWith(`/${rel}`), b.location);
      await b.create();
      const h: Handle = { type: 'key', name: randomId() };
      await b.save(h, Buffer.from('key'));
      // The SFTP session starts in s.root (internal-sftp -d), which stands in for the home folder.
      assert.equal(await fsp.readFile(join(s.root, rel, 'keys', h.name), 'utf8'), 'key');
      assert.deepEqual(await collect(b.list('key')), [{ name: h.name, size: 3 }]);
    } finally {
      await b.close();
      await fsp.rm(join(s.root, rel.split('/')[0]), { recursive: true, force: true });
    }
  });

  test('temporary, foreign and misplaced files are skipped by list and left alone', async () => {
    const { dir, cleanup } = await freshFolder();
    const b = new SftpBackend(options(s, dir));
    try {
      await b.create();
      const id = randomId();
      await fsp.writeFile(join(dir, 'data', id.slice(0, 2), `${id}-tmp-123456`), 'half a pack');
      await fsp.writeFile(join(dir, 'locks', `${randomId()}-restic-temp-99`), '');
      await fsp.writeFile(join(dir, 'snapshots', 'A'.repeat(64)), 'uppercase is not an ID');
      await fsp.mkdir(join(dir, 'snapshots', 'b'.repeat(64)));
      await fsp.mkdir(join(dir, 'data', 'zz'));
      await fsp.writeFile(join(dir, 'data', 'zz', 'c'.repeat(64)), 'outside a hex folder');
      await fsp.writeFile(join(dir, 'data', '00', 'd'.repeat(64)), 'misplaced');
      await fsp.writeFile(join(dir, 'data', 'stray'), 'x');
      for (const type of ['data', 'lock', 'snapshot'] as const) assert.deepEqual(await collect(b.list(type)), [], type);
      await b.save({ type: 'data', name: id }, Buffer.from('whole pack'));
      assert.deepEqual(await collect(b.list('data')), [{ name: id, size: 10 }]);
      assert.ok(existsSync(join(dir, 'data', id.slice(0, 2), `${id}-tmp-123456`)));
      assert.ok(existsSync(join(dir, 'data', 'zz', 'c'.repeat(64))));
    } finally {
      await b.close();
      await cleanup();
    }
  });

  test('save recreates a missing data/XX folder, but never a missing repository folder', async () => {
    const { dir, cleanup } = await freshFolder();
    const b = new SftpBackend(options(s, dir));
    const gone = new SftpBackend(options(s, join(dir, 'unmounted', 'repo')));
    try {
      await b.create();
      const h: Handle = { type: 'data', name: `ab${randomId().slice(2)}` };
      await fsp.rm(join(dir, 'data', 'ab'), { recursive: true });
      await b.save(h, Buffer.from('pack'));
      assert.deepEqual(await b.load(h), Buffer.from('pack'));

      assert.equal(await gone.hasConfig(), false);
      await assertKind(collect(gone.list('snapshot')), 'not-found', /unmounted\/repo/);
      await assertKind(collect(gone.list('data')), 'not-found', /unmounted\/repo/);
      await assertKind(gone.save({ type: 'data', name: randomId() }, Buffer.from('x')), 'not-found');
      await assertKind(gone.save({ type: 'key', name: randomId() }, Buffer.from('x')), 'not-found');
      assert.equal(existsSync(join(dir, 'unmounted')), false);
    } finally {
      await Promise.all([b.close(), gone.close()]);
      await cleanup();
    }
  });

  test('a truncated file gives a short-read error naming the file and the server', async () => {
    const { dir, cleanup } = await freshFolder();
    const b = new SftpBackend(options(s, dir));
    try {
      await b.create();
      const h: Handle = { type: 'data', name: randomId() };
      await b.save(h, randomBytes(3 * MiB));
      const path = join(dir, 'data', h.name.slice(0, 2), h.name);
      await fsp.truncate(path, MiB + 5);
      const err = await assertKind(b.load(h, MiB, 2 * MiB), 'other', /short read/);
      assert.ok(err.message.includes(path) && err.message.includes('127.0.0.1'), err.message);
      assert.equal((await b.load(h, MiB)).length, 5);
    } finally {
      await b.close();
      await cleanup();
    }
  });

  test('a full disk on the server gives no-space and leaves no temporary file', async (t) => {
    const { dir, cleanup } = await freshFolder();
    await fsp.mkdir(dir);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      await cleanup();
      t.skip(`cannot mount a small tmpfs here (${(mounted.stderr || String(mounted.error)).trim()})`);
      return;
    }
    const b = new SftpBackend(options(s, join(dir, 'repo')));
    try {
      await b.create();
      const h: Handle = { type: 'data', name: randomId() };
      const err = await assertKind(b.save(h, randomBytes(4 * MiB)), 'no-space', /disk may be full/);
      assert.ok(err.message.includes(h.name), err.message);
      assert.deepEqual(await fsp.readdir(join(dir, 'repo', 'data', h.name.slice(0, 2))), []);
      assert.deepEqual(await collect(b.list('data')), []);
      // With the space that is left, small files still go through.
      await b.save({ type: 'index', name: randomId() }, Buffer.from('small'));
    } finally {
      await b.close();
      spawnSync('umount', [dir]);
      await cleanup();
    }
  });

  test('64 MiB pack: save and load through pipelined requests (throughput reported)', async (t) => {
    const { dir, cleanup } = await freshFolder();
    const b = new SftpBackend(options(s, dir));
    try {
      await b.create();
      const data = randomBytes(64 * MiB);
      const h: Handle = { type: 'data', name: randomId() };
      let start = performance.now();
      await b.save(h, data);
      const saveS = (performance.now() - start) / 1000;
      start = performance.now();
      const back = await b.load(h);
      const loadS = (performance.now() - start) / 1000;
      assert.ok(back.equals(data));
      assert.ok((await b.load(h, 33 * MiB + 3, 17 * MiB)).equals(data.subarray(33 * MiB + 3, 50 * MiB + 3)));
      t.diagnostic(`64 MiB over SFTP to 127.0.0.1: save ${(64 / saveS).toFixed(0)} MiB/s, load ${(64 / loadS).toFixed(0)} MiB/s`);
    } finally {
      await b.close();
      await cleanup();
    }
  });
});
