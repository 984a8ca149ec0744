import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS, mamoriHome, openStateDb } from './db';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'mamori-db-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const tables = (db: ReturnType<typeof openStateDb>['db']) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);

describe('openStateDb', () => {
  test('creates state.db at the latest schema, in WAL mode with foreign keys on', () => {
    const o = openStateDb(home);
    try {
      assert.equal(o.path, join(home, 'state.db'));
      assert.ok(existsSync(o.path));
      assert.equal(o.movedAside, undefined);
      assert.equal(o.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      assert.equal(o.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(o.db.pragma('foreign_keys', { simple: true }), 1);
      for (const t of ['sources', 'destinations', 'source_destinations', 'jobs', 'job_destinations', 'verifications', 'settings', 'secrets']) {
        assert.ok(tables(o.db).includes(t), `table ${t} missing`);
      }
    } finally {
      o.db.close();
    }
  });

  test('creates a missing home folder', () => {
    const nested = join(home, 'a', 'b');
    const o = openStateDb(nested);
    o.db.close();
    assert.ok(existsSync(join(nested, 'state.db')));
    if (process.platform !== 'win32') assert.equal(statSync(nested).mode & 0o777, 0o700);
  });

  test('reopening keeps the data and does not migrate again', () => {
    const a = openStateDb(home);
    a.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('k', '"v"');
    a.db.close();
    const b = openStateDb(home);
    try {
      assert.equal(b.movedAside, undefined);
      assert.equal(b.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      assert.deepEqual(b.db.prepare('SELECT value FROM settings WHERE key = ?').get('k'), { value: '"v"' });
    } finally {
      b.db.close();
    }
    const c = openStateDb(home);
    c.db.close();
  });

  test('two connections at once (the UI reading while a backup writes)', () => {
    const a = openStateDb(home);
    const b = openStateDb(home);
    try {
      a.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('x', '1');
      assert.deepEqual(b.db.prepare('SELECT value FROM settings WHERE key = ?').get('x'), { value: '1' });
    } finally {
      a.db.close();
      b.db.close();
    }
  });

  test('a file of garbage bytes is moved aside and a fresh database started', () => {
    const garbage = Buffer.alloc(8192);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) & 0xff;
    writeFileSync(join(home, 'state.db'), garbage);
    const at = new Date('2025-03-04T05:06:07.089Z');
    const o = openStateDb(home, () => at);
    try {
      assert.equal(o.movedAside, join(home, 'state.db.corrupt-2025-03-04T05-06-07-089Z'));
      assert.deepEqual(readFileSync(o.movedAside), garbage, 'the damaged file is kept as it was');
      assert.equal(o.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      o.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('works', 'true');
      assert.ok(readdirSync(home).some((n) => n.startsWith('state.db.corrupt-')));
    } finally {
      o.db.close();
    }
    // The next open finds the new database healthy.
    const again = openStateDb(home);
    assert.equal(again.movedAside, undefined);
    again.db.close();
  });

  test('a short text file at state.db is moved aside too', () => {
    writeFileSync(join(home, 'state.db'), 'hello, not a database\n');
    const o = openStateDb(home);
    try {
      assert.ok(o.movedAside?.startsWith(join(home, 'state.db.corrupt-')));
      assert.equal(readFileSync(o.movedAside!, 'utf8'), 'hello, not a database\n');
    } finally {
      o.db.close();
    }
  });

  test('a database with a damaged page is moved aside', () => {
    const a = openStateDb(home);
    const ins = a.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)');
    a.db.transaction(() => {
      for (let i = 0; i < 2000; i++) ins.run(`key-${i}`, JSON.stringify('x'.repeat(100)));
    })();
    a.db.pragma('wal_checkpoint(TRUNCATE)');
    a.db.pragma('journal_mode = DELETE');
    a.db.close();
    const path = join(home, 'state.db');
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    // Overwrite every page after the schema page with noise; page 1 (the header) stays intact.
    for (let i = pageSize * 2; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    writeFileSync(path, bytes);
    const o = openStateDb(home);
    try {
      assert.ok(o.movedAside, 'a damaged database must be moved aside');
      assert.deepEqual(o.db.prepare('SELECT count(*) AS n FROM settings').get(), { n: 0 });
    } finally {
      o.db.close();
    }
  });

  test('a database from a newer Mamori is refused, not moved aside', () => {
    const a = openStateDb(home);
    a.db.pragma(`user_version = ${MIGRATIONS.length + 3}`);
    a.db.close();
    assert.throws(() => openStateDb(home), (e: Error) => {
      assert.match(e.message, /newer Mamori/);
      assert.match(e.message, new RegExp(`schema ${MIGRATIONS.length + 3}`));
      assert.match(e.message, /update Mamori/);
      return true;
    });
    assert.deepEqual(readdirSync(home).filter((n) => n.includes('corrupt')), []);
  });
});

describe('mamoriHome', () => {
  test('MAMORI_HOME wins everywhere', () => {
    for (const p of ['linux', 'darwin', 'win32'] as const) {
      assert.equal(mamoriHome({ MAMORI_HOME: '/opt/mamori-data', APPDATA: 'C:\\x', XDG_DATA_HOME: '/xdg' }, p), '/opt/mamori-data');
    }
  });
  test('Windows: %APPDATA%\\Mamori, else the roaming folder under the home', () => {
    assert.equal(mamoriHome({ APPDATA: 'C:\\Users\\me\\AppData\\Roaming' }, 'win32'), join('C:\\Users\\me\\AppData\\Roaming', 'Mamori'));
    assert.equal(mamoriHome({}, 'win32'), join(homedir(), 'AppData', 'Roaming', 'Mamori'));
  });
  test('macOS: ~/Library/Application Support/Mamori', () => {
    assert.equal(mamoriHome({ XDG_DATA_HOME: '/xdg' }, 'darwin'), join(homedir(), 'Library', 'Application Support', 'Mamori'));
  });
  test('Linux: $XDG_DATA_HOME/mamori, else ~/.local/share/mamori', () => {
    assert.equal(mamoriHome({ XDG_DATA_HOME: '/data/me' }, 'linux'), '/data/me/mamori');
    assert.equal(mamoriHome({}, 'linux'), join(homedir(), '.local', 'share', 'mamori'));
    assert.equal(mamoriHome({}, 'freebsd'), join(homedir(), '.local', 'share', 'mamori'));
  });
  test('empty variables count as unset (never a relative folder)', () => {
    assert.equal(mamoriHome({ MAMORI_HOME: '', XDG_DATA_HOME: '' }, 'linux'), join(homedir(), '.local', 'share', 'mamori'));
    assert.equal(mamoriHome({ APPDATA: '' }, 'win32'), join(homedir(), 'AppData', 'Roaming', 'Mamori'));
  });
  test('defaults to the real environment and platform', () => {
    const saved = process.env.MAMORI_HOME;
    process.env.MAMORI_HOME = '/tmp/mamori-from-env';
    try {
      assert.equal(mamoriHome(), '/tmp/mamori-from-env');
    } finally {
      if (saved === undefined) delete process.env.MAMORI_HOME;
      else process.env.MAMORI_HOME = saved;
    }
  });
});
