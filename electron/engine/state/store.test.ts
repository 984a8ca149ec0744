import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import type { Clock } from '../ports/clock';
import type { Db } from './db';
import { openStateDb } from './db';
import type { NewDestination } from './store';
import { StateStore } from './store';

/** A clock the test moves by hand. */
class TestClock implements Clock {
  constructor(private t = Date.parse('2025-01-01T00:00:00.000Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(minutes: number): string {
    this.t += minutes * 60_000;
    return this.now().toISOString();
  }
  iso(): string {
    return this.now().toISOString();
  }
}

let home: string;
let db: Db;
let clock: TestClock;
let store: StateStore;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'mamori-store-'));
  db = openStateDb(home).db;
  db.pragma('synchronous = OFF'); // no fsync per statement: these tests are about SQL, not durability
  clock = new TestClock();
  store = new StateStore(db, clock);
});
afterEach(() => {
  db.close();
  rmSync(home, { recursive: true, force: true });
});

const usb = (over: Partial<NewDestination> = {}): NewDestination => ({
  name: 'USB',
  location: '/media/usb/backup',
  kind: 'local',
  mediaKind: 'external-hdd',
  place: 'home',
  ...over,
});

function assertInvalid(fn: () => unknown, mentions: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MamoriError, `expected MamoriError, got ${String(e)}`);
    assert.equal(e.code, ErrorCode.InvalidRequest);
    assert.match(e.message, mentions);
    return true;
  });
}

describe('sources', () => {
  test('add, get, find by ID and by name ignoring case, list', () => {
    const d = store.addDestination(usb());
    const s = store.addSource({ name: 'Documents', paths: ['/home/me/Documents'], excludes: ['*.tmp'], destinationIds: [d.id] });
    assert.deepEqual(s, {
      id: s.id,
      name: 'Documents',
      kind: 'folder',
      paths: ['/home/me/Documents'],
      excludes: ['*.tmp'],
      createdAt: '2025-01-01T00:00:00.000Z',
      destinationIds: [d.id],
    });
    assert.deepEqual(store.getSource(s.id), s);
    assert.deepEqual(store.findSource(s.id), s);
    assert.deepEqual(store.findSource('documents'), s);
    assert.deepEqual(store.findSource('DOCUMENTS'), s);
    assert.equal(store.findSource('Docs'), undefined);
    clock.advance(1);
    const mail = store.addSource({ name: 'Mail', paths: ['/home/me/.mail'], kind: 'mail' });
    assert.equal(mail.kind, 'mail');
    assert.deepEqual(mail.excludes, []);
    assert.deepEqual(mail.destinationIds, []);
    assert.deepEqual(store.listSources().map((x) => x.name), ['Documents', 'Mail']);
  });

  test('a duplicate name (any case) is refused', () => {
    store.addSource({ name: 'Photos', paths: ['/p'] });
    assertInvalid(() => store.addSource({ name: 'photos', paths: ['/q'] }), /"photos" already exists/);
    assert.equal(store.listSources().length, 1);
  });

  test('link and unlink', () => {
    const a = store.addDestination(usb());
    const b = store.addDestination(usb({ name: 'NAS', location: 'sftp:me@nas:/srv', kind: 'sftp' }));
    const s = store.addSource({ name: 'S', paths: ['/s'] });
    store.link(s.id, b.id);
    store.link(s.id, a.id);
    store.link(s.id, a.id); // twice is harmless
    assert.deepEqual(store.getSource(s.id)?.destinationIds, [b.id, a.id]);
    store.unlink(s.id, b.id);
    assert.deepEqual(store.getSource(s.id)?.destinationIds, [a.id]);
  });

  test('removing a source keeps its destinations', () => {
    const d = store.addDestination(usb());
    const s = store.addSource({ name: 'S', paths: ['/s'], destinationIds: [d.id] });
    store.removeSource(s.id);
    assert.equal(store.getSource(s.id), undefined);
    assert.deepEqual(store.listSources(), []);
    assert.equal(store.getDestination(d.id)?.name, 'USB');
    assert.deepEqual(db.prepare('SELECT * FROM source_destinations').all(), []);
  });

  test('a link to an unknown destination is refused and the source is not added', () => {
    assert.throws(() => store.addSource({ name: 'S', paths: ['/s'], destinationIds: ['nope'] }));
    assert.equal(store.findSource('S'), undefined);
  });
});

describe('destinations', () => {
  test('add with every field, get, find, list', () => {
    const d = store.addDestination(usb({
      id: 'fixed-id',
      options: { passwordFile: '/etc/mamori.pw' },
      firstUse: '2024-05-01',
      purchased: '2024-04-20',
      volumeUuid: 'UUID-1',
      volumePath: 'backup',
      hostKey: 'SHA256:abc',
      appendOnly: true,
    }));
    assert.deepEqual(d, {
      id: 'fixed-id',
      name: 'USB',
      location: '/media/usb/backup',
      kind: 'local',
      options: { passwordFile: '/etc/mamori.pw' },
      mediaKind: 'external-hdd',
      place: 'home',
      firstUse: '2024-05-01',
      purchased: '2024-04-20',
      volumeUuid: 'UUID-1',
      volumePath: 'backup',
      hostKey: 'SHA256:abc',
      appendOnly: true,
      lastConnected: undefined,
      createdAt: '2025-01-01T00:00:00.000Z',
    });
    assert.deepEqual(store.findDestination('usb'), d);
    assert.deepEqual(store.findDestination('fixed-id'), d);
    assert.equal(store.findDestination('other'), undefined);
    clock.advance(1);
    const nas = store.addDestination(usb({ name: 'NAS', location: 'sftp:me@nas:/srv', kind: 'sftp' }));
    assert.equal(nas.appendOnly, false);
    assert.deepEqual(nas.options, {});
    assert.equal(nas.firstUse, undefined);
    assert.match(nas.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(store.listDestinations().map((x) => x.name), ['USB', 'NAS']);
  });

  test('duplicate names (any case) and duplicate IDs are refused', () => {
    store.addDestination(usb({ id: 'r1' }));
    assertInvalid(() => store.addDestination(usb({ name: 'usb', location: '/elsewhere' })), /"usb" already exists/);
    assertInvalid(() => store.addDestination(usb({ id: 'r1', name: 'Other' })), /already a destination \("USB"\)/);
    assert.equal(store.listDestinations().length, 1);
  });

  test('update changes only the given fields; undefined clears', () => {
    const d = store.addDestination(usb({ volumeUuid: 'U', volumePath: 'b' }));
    const at = clock.advance(5);
    store.updateDestination(d.id, { lastConnected: at, location: '/run/media/me/USB/backup', appendOnly: true, place: 'office' });
    let u = store.getDestination(d.id)!;
    assert.equal(u.lastConnected, at);
    assert.equal(u.location, '/run/media/me/USB/backup');
    assert.equal(u.appendOnly, true);
    assert.equal(u.place, 'office');
    assert.equal(u.name, 'USB');
    assert.equal(u.volumeUuid, 'U');
    store.updateDestination(d.id, { volumeUuid: undefined, appendOnly: false, name: 'Blue drive' });
    u = store.getDestination(d.id)!;
    assert.equal(u.volumeUuid, undefined);
    assert.equal(u.volumePath, 'b');
    assert.equal(u.appendOnly, false);
    assert.equal(store.findDestination('blue DRIVE')?.id, d.id);
  });

  test('update ignores keys that are not columns', () => {
    const d = store.addDestination(usb());
    store.updateDestination(d.id, { id: 'hijack', kind: 's3' } as never);
    assert.deepEqual(store.getDestination(d.id), d);
  });

  test('renaming onto another destination\'s name (any case) is refused; renaming in place is allowed', () => {
    const a = store.addDestination(usb());
    const b = store.addDestination(usb({ name: 'NAS', location: 'sftp:nas:/srv', kind: 'sftp' }));
    assertInvalid(() => store.updateDestination(b.id, { name: 'usb' }), /"USB" already exists/);
    assertInvalid(() => store.updateDestination(b.id, { name: 'USB', place: 'attic' }), /already exists/);
    assert.equal(store.getDestination(b.id)?.name, 'NAS');
    assert.equal(store.getDestination(b.id)?.place, 'home', 'a refused update changes nothing');
    store.updateDestination(a.id, { name: 'usb' });
    assert.equal(store.getDestination(a.id)?.name, 'usb');
  });

  test('removing a destination removes its links, not the source', () => {
    const a = store.addDestination(usb());
    const b = store.addDestination(usb({ name: 'NAS', location: 'sftp:nas:/srv', kind: 'sftp' }));
    const s = store.addSource({ name: 'S', paths: ['/s'], destinationIds: [a.id, b.id] });
    store.removeDestination(a.id);
    assert.equal(store.getDestination(a.id), undefined);
    assert.deepEqual(store.getSource(s.id)?.destinationIds, [b.id]);
    assert.deepEqual(store.listDestinations().map((d) => d.id), [b.id]);
  });
});

describe('jobs', () => {
  let a: string;
  let b: string;
  let src: string;
  beforeEach(() => {
    a = store.addDestination(usb()).id;
    b = store.addDestination(usb({ name: 'NAS', location: 'sftp:nas:/srv', kind: 'sftp' })).id;
    src = store.addSource({ name: 'Docs', paths: ['/d'], destinationIds: [a, b] }).id;
  });

  test('start, record each destination, finish', () => {
    const started = clock.iso();
    const job = store.startJob('backup', src, [a, b]);
    let [rec] = store.listJobs();
    assert.equal(rec.id, job);
    assert.equal(rec.status, 'running');
    assert.equal(rec.startedAt, started);
    assert.deepEqual(rec.destinations.map((d) => [d.destinationId, d.status]), [[a, 'running'], [b, 'running']]);

    const t1 = clock.advance(1);
    store.recordDestination(job, { destinationId: a, status: 'ok', snapshotId: 'abc123', snapshotTime: started, bytesAdded: 4096 });
    const t2 = clock.advance(1);
    store.recordDestination(job, { destinationId: b, status: 'failed', error: { code: 'NO_SPACE', message: 'full', hint: 'free space' } });
    const t3 = clock.advance(1);
    store.finishJob(job, 'partial', { files: 3 });

    [rec] = store.listJobs();
    assert.deepEqual(rec, {
      id: job,
      kind: 'backup',
      sourceId: src,
      startedAt: started,
      finishedAt: t3,
      status: 'partial',
      summary: { files: 3 },
      destinations: [
        { destinationId: a, status: 'ok', snapshotId: 'abc123', snapshotTime: started, bytesAdded: 4096, error: undefined, finishedAt: t1 },
        { destinationId: b, status: 'failed', snapshotId: undefined, snapshotTime: undefined, bytesAdded: 0, error: { code: 'NO_SPACE', message: 'full', hint: 'free space' }, finishedAt: t2 },
      ],
    });
  });

  test('a job without a source (a check) and listJobs by source, newest first, with a limit', () => {
    const j1 = store.startJob('backup', src, [a]);
    const j2 = store.startJob('check', undefined, [a]);
    const j3 = store.startJob('backup', src, [b]);
    assert.deepEqual(store.listJobs().map((j) => j.id), [j3, j2, j1]);
    assert.deepEqual(store.listJobs(50, src).map((j) => j.id), [j3, j1]);
    assert.deepEqual(store.listJobs(1).map((j) => j.id), [j3]);
    assert.equal(store.listJobs().find((j) => j.id === j2)?.sourceId, undefined);
  });

  test('finishJob turns destinations still running into pending', () => {
    const job = store.startJob('backup', src, [a, b]);
    store.recordDestination(job, { destinationId: a, status: 'ok', snapshotId: 's1' });
    const end = clock.advance(2);
    store.finishJob(job, 'partial');
    const [rec] = store.listJobs();
    assert.deepEqual(rec.destinations.map((d) => [d.destinationId, d.status]), [[a, 'ok'], [b, 'pending']]);
    assert.equal(rec.destinations[1].finishedAt, end);
    assert.deepEqual(store.pendingDestinations(), [b]);
  });

  test('recoverInterruptedJobs marks dead running jobs interrupted and returns their destinations', () => {
    const done = store.startJob('backup', src, [a]);
    store.recordDestination(done, { destinationId: a, status: 'ok' });
    store.finishJob(done, 'ok');
    const dead = store.startJob('backup', src, [a, b]);
    store.recordDestination(dead, { destinationId: a, status: 'ok', snapshotId: 'x' });
    const alive = store.startJob('check', undefined, [a]);

    const dests = store.recoverInterruptedJobs((id) => id === alive);
    assert.deepEqual(dests, [b]);
    const byId = new Map(store.listJobs().map((j) => [j.id, j]));
    assert.equal(byId.get(done)?.status, 'ok');
    assert.equal(byId.get(dead)?.status, 'interrupted');
    assert.deepEqual(byId.get(dead)?.destinations.map((d) => d.status), ['ok', 'pending']);
    assert.equal(byId.get(alive)?.status, 'running');
    // Nothing left to recover except the live one, which the default (nothing alive) now takes.
    assert.deepEqual(store.recoverInterruptedJobs((id) => id === alive), []);
    assert.deepEqual(store.recoverInterruptedJobs(), [a]);
    assert.equal(store.listJobs().find((j) => j.id === alive)?.status, 'interrupted');
  });

  test('lastBackupOk per destination and per source; lastBackupAttempt', () => {
    const other = store.addSource({ name: 'Other', paths: ['/o'], destinationIds: [a] }).id;
    assert.equal(store.lastBackupOk(a), undefined);
    assert.equal(store.lastBackupAttempt(a), undefined);

    const j1 = store.startJob('backup', src, [a]);
    const t1 = clock.advance(10);
    store.recordDestination(j1, { destinationId: a, status: 'ok', snapshotId: 'snap-1', snapshotTime: '2025-01-01T00:00:00Z' });
    store.finishJob(j1, 'ok');

    const j2 = store.startJob('backup', other, [a]);
    const t2 = clock.advance(10);
    store.recordDestination(j2, { destinationId: a, status: 'ok', snapshotId: 'snap-2' });
    store.finishJob(j2, 'ok');

    const j3 = store.startJob('backup', src, [a]);
    const t3 = clock.advance(10);
    store.recordDestination(j3, { destinationId: a, status: 'failed', error: { code: 'TRANSIENT', message: 'gone' } });
    store.finishJob(j3, 'failed');

    assert.deepEqual(store.lastBackupOk(a), { at: t2, snapshotId: 'snap-2', snapshotTime: undefined });
    assert.deepEqual(store.lastBackupOk(a, src), { at: t1, snapshotId: 'snap-1', snapshotTime: '2025-01-01T00:00:00Z' });
    assert.deepEqual(store.lastBackupOk(a, other), { at: t2, snapshotId: 'snap-2', snapshotTime: undefined });
    assert.equal(store.lastBackupOk(b), undefined);
    assert.equal(store.lastBackupAttempt(a), t3);

    // A job still running is not an attempt yet.
    store.startJob('backup', src, [a]);
    clock.advance(10);
    assert.equal(store.lastBackupAttempt(a), t3);
  });

  test('pendingDestinations reflects only the latest job per destination', () => {
    const j1 = store.startJob('backup', src, [a, b]);
    store.finishJob(j1, 'failed');
    assert.deepEqual(store.pendingDestinations().sort(), [a, b].sort());

    const j2 = store.startJob('backup', src, [a]);
    clock.advance(1);
    store.recordDestination(j2, { destinationId: a, status: 'ok' });
    store.finishJob(j2, 'ok');
    assert.deepEqual(store.pendingDestinations(), [b]);

    const j3 = store.startJob('backup', src, [a]);
    store.finishJob(j3, 'failed');
    assert.deepEqual(store.pendingDestinations().sort(), [a, b].sort());

    const j4 = store.startJob('backup', src, [b]);
    store.recordDestination(j4, { destinationId: b, status: 'failed', error: { code: 'X', message: 'x' } });
    store.finishJob(j4, 'failed');
    assert.deepEqual(store.pendingDestinations(), [a]);
  });

  test('a forgotten destination is no longer pending (its history stays)', () => {
    const j = store.startJob('backup', src, [a, b]);
    store.finishJob(j, 'failed');
    store.removeDestination(b);
    assert.deepEqual(store.pendingDestinations(), [a]);
    assert.equal(store.listJobs()[0].destinations.length, 2);
  });
});

describe('verifications', () => {
  test('lastOk and lastFailedAfterOk', () => {
    const d = store.addDestination(usb()).id;
    assert.deepEqual(store.lastVerification(d), { lastOk: undefined, lastFailedAfterOk: undefined });

    const bad0 = clock.advance(1);
    store.recordVerification(d, false, false, ['pack 1234 missing']);
    assert.deepEqual(store.lastVerification(d), { lastOk: undefined, lastFailedAfterOk: bad0 });

    const ok1 = clock.advance(1);
    store.recordVerification(d, true, true);
    assert.deepEqual(store.lastVerification(d), { lastOk: ok1, lastFailedAfterOk: undefined });

    const bad2 = clock.advance(1);
    store.recordVerification(d, false, true, ['x']);
    assert.deepEqual(store.lastVerification(d), { lastOk: ok1, lastFailedAfterOk: bad2 });

    const ok3 = clock.advance(1);
    store.recordVerification(d, true, false);
    assert.deepEqual(store.lastVerification(d), { lastOk: ok3, lastFailedAfterOk: undefined });

    assert.deepEqual(store.lastVerification('other'), { lastOk: undefined, lastFailedAfterOk: undefined });
    const row = db.prepare('SELECT problems, read_data FROM verifications WHERE at = ?').get(bad0);
    assert.deepEqual(row, { problems: '["pack 1234 missing"]', read_data: 0 });
  });
});

describe('settings', () => {
  test('JSON values round trip and overwrite', () => {
    assert.equal(store.getSetting('missing'), undefined);
    const values: [string, unknown][] = [
      ['poly', '3da3358b4dc173'],
      ['n', 42],
      ['flag', false],
      ['nothing', null],
      ['list', [1, 'two', { three: 3 }]],
      ['obj', { schedule: { every: 'day', at: '02:00' }, nested: [true] }],
    ];
    for (const [k, v] of values) store.setSetting(k, v);
    for (const [k, v] of values) assert.deepEqual(store.getSetting(k), v);
    store.setSetting('n', 43);
    assert.equal(store.getSetting<number>('n'), 43);
    assert.equal((db.prepare('SELECT count(*) AS c FROM settings WHERE key = ?').get('n') as { c: number }).c, 1);
  });

  test('settings survive reopening', () => {
    store.setSetting('k', { a: 1 });
    db.close();
    db = openStateDb(home).db;
    assert.deepEqual(new StateStore(db, clock).getSetting('k'), { a: 1 });
  });
});
