// Repository locks against an in-memory LockStore: restic's JSON, conflict rules, staleness (by age
// with an injected clock, by dead PID on the same host), refresh, release and the error users see.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import type { Clock } from '../ports/clock';
import { BackendError } from '../storage';
import { formatGoTime } from './gotime';
import { acquireLock, decodeLock, encodeLock, STALE_LOCK_MS } from './lock';
import type { LockInfo, LockStore } from './lock';

class MemLockStore implements LockStore {
  readonly files = new Map<string, Buffer>();
  /** Runs after each saveLock: lets a test play a competitor writing at the same moment. */
  afterSave?: (id: string) => void;
  failLoad?: (id: string) => Error | undefined;
  failSave = false;

  async saveLock(json: Buffer): Promise<string> {
    if (this.failSave) throw new BackendError('transient', 'I/O error on locks/: reconnect the drive');
    // Real lock IDs hash the encrypted file, whose IV is random: two saves never share an ID.
    const id = createHash('sha256').update(json).update(randomBytes(16)).digest('hex');
    this.files.set(id, Buffer.from(json));
    this.afterSave?.(id);
    return id;
  }
  async loadLock(id: string): Promise<Buffer> {
    const fail = this.failLoad?.(id);
    if (fail) throw fail;
    const b = this.files.get(id);
    if (!b) throw new BackendError('not-found', `not found: locks/${id}`, { type: 'lock', name: id });
    return b;
  }
  async *listLocks(): AsyncIterable<string> {
    for (const id of [...this.files.keys()]) yield id;
  }
  async removeLock(id: string): Promise<void> {
    if (!this.files.delete(id)) throw new BackendError('not-found', `not found: locks/${id}`, { type: 'lock', name: id });
  }
  /** Puts another process's lock in place, as restic would write it. */
  put(l: Partial<LockInfo> & { timeMs: number }): string {
    const json = encodeLock({
      time: formatGoTime(BigInt(l.timeMs) * 1_000_000n),
      exclusive: l.exclusive ?? false,
      hostname: l.hostname ?? 'other-host',
      username: l.username ?? 'bob',
      pid: l.pid ?? 4242,
      uid: l.uid ?? 1000,
      gid: l.gid ?? 1000,
    });
    const id = createHash('sha256').update(json).update(randomBytes(16)).digest('hex');
    this.files.set(id, json);
    return id;
  }
}

class TestClock implements Clock {
  constructor(public ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
}

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0, 123);
const HOST = 'laptop';

function opts(clock: Clock, exclusive: boolean) {
  return { exclusive, clock, hostname: HOST, username: 'alice', pid: process.pid, uid: 1000, gid: 100, waitCheckMs: 0 };
}

/** A PID that surely names no running process: a child we started and that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid && r.pid > 0);
  return r.pid;
}

async function rejectsLocked(p: Promise<unknown>, check?: (e: MamoriError) => void): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MamoriError, String(err));
    assert.equal(err.code, ErrorCode.RepositoryLocked);
    check?.(err);
    return true;
  });
}

describe('repository locks', () => {
  test('lock JSON is byte-for-byte what restic 0.14 writes, fields in Go order', async () => {
    const store = new MemLockStore();
    const clock = new TestClock(T0);
    const lock = await acquireLock(store, opts(clock, true));
    const json = store.files.get(lock.id)!.toString();
    assert.equal(json, `{"time":"${formatGoTime(BigInt(T0) * 1_000_000n)}","exclusive":true,"hostname":"laptop",`
      + `"username":"alice","pid":${process.pid},"uid":1000,"gid":100}`);
    assert.match(json, /"time":"2024-05-01T\d\d:\d\d:00\.123(Z|[+-]\d\d:\d\d)"/);
    await lock.release();

    // uid/gid 0 are omitted (Go omitempty); Go escapes <, > and & in strings.
    const root = encodeLock({ time: '2024-05-01T10:00:00Z', exclusive: false, hostname: 'a<b>&c', username: 'root', pid: 1, uid: 0, gid: 0 });
    assert.equal(root.toString(), '{"time":"2024-05-01T10:00:00Z","exclusive":false,"hostname":"a\\u003cb\\u003e\\u0026c","username":"root","pid":1}');
    const back = decodeLock(Buffer.from('{"time":"2024-05-01T12:00:00.123456789+02:00","exclusive":true,"hostname":"h","username":"u","pid":7}'));
    assert.equal(back.timeMs, T0);
    assert.equal(back.exclusive, true);
  });

  test('shared locks coexist', async () => {
    const store = new MemLockStore();
    const clock = new TestClock(T0);
    store.put({ timeMs: T0 - 60_000, exclusive: false });
    const a = await acquireLock(store, opts(clock, false));
    const b = await acquireLock(store, opts(clock, false));
    assert.equal(store.files.size, 3);
    await a.release();
    await b.release();
    assert.equal(store.files.size, 1);
  });

  test('exclusive conflicts with shared and exclusive; shared conflicts with exclusive', async () => {
    const clock = new TestClock(T0);
    for (const [held, wanted] of [[false, true], [true, true], [true, false]] as const) {
      const store = new MemLockStore();
      const other = store.put({ timeMs: T0 - 60_000, exclusive: held });
      await rejectsLocked(acquireLock(store, opts(clock, wanted)));
      // Our own lock was removed (or never written); the holder's is untouched.
      assert.deepEqual([...store.files.keys()], [other], `held exclusive=${held}, wanted exclusive=${wanted}`);
    }
    // And between two of our own acquirers.
    const store = new MemLockStore();
    const shared = await acquireLock(store, opts(clock, false));
    await rejectsLocked(acquireLock(store, opts(clock, true)));
    await shared.release();
    const excl = await acquireLock(store, opts(clock, true));
    await rejectsLocked(acquireLock(store, opts(clock, false)));
    await excl.release();
    assert.equal(store.files.size, 0);
  });

  test('a competitor appearing while we wait makes us back off and remove our lock', async () => {
    const store = new MemLockStore();
    let competitor = '';
    store.afterSave = () => {
      store.afterSave = undefined;
      competitor = store.put({ timeMs: T0, exclusive: true });
    };
    await rejectsLocked(acquireLock(store, { ...opts(new TestClock(T0), false), waitCheckMs: 5 }));
    assert.deepEqual([...store.files.keys()], [competitor]);
  });

  test('the error names the holder (host, PID, user, age) and says what to do', async () => {
    const store = new MemLockStore();
    const other = store.put({ timeMs: T0 - 12 * 60_000, exclusive: true, hostname: 'nas', pid: 31337, username: 'bob' });
    await rejectsLocked(acquireLock(store, opts(new TestClock(T0), false)), (e) => {
      assert.match(e.message, /locked exclusively by PID 31337 on nas by bob/);
      assert.match(e.message, /12 min ago/);
      assert.match(e.message, /mamori unlock/);
      assert.match(e.message, /restic unlock/);
      assert.equal(e.subject, `lock ${other}`);
      assert.ok(e.hint && /wait/i.test(e.hint));
    });
  });

  test('stale by age: a lock older than 30 minutes is ignored and removed; a younger one is not', async () => {
    const clock = new TestClock(T0);
    const store = new MemLockStore();
    const young = store.put({ timeMs: T0 - STALE_LOCK_MS + 60_000, exclusive: true });
    await rejectsLocked(acquireLock(store, opts(clock, false)));
    clock.ms += 2 * 60_000; // now 31 minutes old
    const lock = await acquireLock(store, opts(clock, true));
    assert.equal(store.files.has(young), false);
    assert.deepEqual([...store.files.keys()], [lock.id]);
    await lock.release();
  });

  test('stale by dead PID: only on the same host', async () => {
    const clock = new TestClock(T0);
    const pid = deadPid();

    const sameHost = new MemLockStore();
    const dead = sameHost.put({ timeMs: T0 - 1000, exclusive: true, hostname: HOST, pid });
    const lock = await acquireLock(sameHost, opts(clock, true));
    assert.equal(sameHost.files.has(dead), false);
    await lock.release();

    // The same PID on another host says nothing about that host's processes.
    const otherHost = new MemLockStore();
    otherHost.put({ timeMs: T0 - 1000, exclusive: true, hostname: 'nas', pid });
    await rejectsLocked(acquireLock(otherHost, opts(clock, true)));

    // A live process on this host holds its lock.
    const alive = new MemLockStore();
    alive.put({ timeMs: T0 - 1000, exclusive: true, hostname: HOST, pid: process.pid });
    await rejectsLocked(acquireLock(alive, opts(clock, false)));
  });

  test('undecodable lock files are ignored; unreadable ones are not', async () => {
    const clock = new TestClock(T0);
    const store = new MemLockStore();
    store.files.set('a'.repeat(64), Buffer.from('not json'));
    store.files.set('b'.repeat(64), Buffer.from('{"exclusive":true}'));
    store.files.set('c'.repeat(64), Buffer.from('x'));
    store.failLoad = (id) => (id === 'c'.repeat(64) ? new MamoriError(ErrorCode.CorruptObject, 'lock cccc is damaged') : undefined);
    const lock = await acquireLock(store, opts(clock, true));
    await lock.release();

    store.failLoad = (id) => (id === 'c'.repeat(64) ? new BackendError('transient', 'I/O error on locks/cccc') : undefined);
    await assert.rejects(acquireLock(store, opts(clock, true)), { kind: 'transient' });
    assert.equal(store.files.size, 3, 'our own lock is not left behind');
  });

  test('refresh writes a new file with a new time, then removes the old one', async () => {
    const clock = new TestClock(T0);
    const store = new MemLockStore();
    const lock = await acquireLock(store, opts(clock, false));
    const first = lock.id;
    clock.ms += 5 * 60_000;
    await lock.refresh();
    assert.notEqual(lock.id, first);
    assert.deepEqual([...store.files.keys()], [lock.id]);
    assert.equal(decodeLock(store.files.get(lock.id)!).timeMs, clock.ms);
    // Concurrent refreshes are serialised: still exactly one file.
    await Promise.all([lock.refresh(), lock.refresh(), lock.refresh()]);
    assert.deepEqual([...store.files.keys()], [lock.id]);
    await lock.release();
  });

  test('the refresh timer keeps the lock fresh and reports failures', async () => {
    const clock = new TestClock(T0);
    const store = new MemLockStore();
    const errors: unknown[] = [];
    const lock = await acquireLock(store, { ...opts(clock, true), refreshMs: 10, onRefreshError: (e) => errors.push(e) });
    const first = lock.id;
    await new Promise((r) => setTimeout(r, 60));
    assert.notEqual(lock.id, first);
    assert.deepEqual([...store.files.keys()], [lock.id]);
    store.failSave = true;
    await new Promise((r) => setTimeout(r, 40));
    assert.ok(errors.length > 0);
    assert.ok(errors[0] instanceof BackendError);
    // The lock we still hold is intact after failed refreshes.
    assert.deepEqual([...store.files.keys()], [lock.id]);
    store.failSave = false;
    await lock.release();
  });

  test('release removes the lock, stops refreshing, and is idempotent', async () => {
    const clock = new TestClock(T0);
    const store = new MemLockStore();
    const lock = await acquireLock(store, { ...opts(clock, true), refreshMs: 10 });
    await lock.release();
    assert.equal(store.files.size, 0);
    await lock.release();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(store.files.size, 0, 'no refresh after release');
    await assert.rejects(lock.refresh(), MamoriError);
    // Someone ran `unlock` meanwhile: release still succeeds.
    const other = await acquireLock(store, opts(clock, true));
    store.files.clear();
    await other.release();
  });
});
