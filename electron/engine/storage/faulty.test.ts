// FaultyBackend on its own, over a LocalBackend in a temp folder: with no faults it is a conforming
// backend (the shared suite); rules count and fire as documented (op, type, after, times, 'any',
// setRules); calls are recorded; storeThenFail really stores; failAfterBytes holds under concurrent
// saves; delays use the given sleep; hanging calls end on close() or abort; unplug/replug.

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BackendError } from './backend';
import type { BackendErrorKind, Handle } from './backend';
import { backendSuite, collect, randomId } from './backend-suite';
import { FaultyBackend } from './faulty';
import type { FaultyOptions } from './faulty';
import { LocalBackend } from './local';

async function faultyOverLocal(opts: FaultyOptions = {}): Promise<{ f: FaultyBackend; local: LocalBackend; cleanup: () => Promise<void> }> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'mamori-faulty-'));
  const local = new LocalBackend(join(dir, 'repo'));
  await local.create();
  const f = new FaultyBackend(local, opts);
  return {
    f, local,
    cleanup: async () => {
      await f.close();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

async function rejectsKind(p: Promise<unknown>, kind: BackendErrorKind, match?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BackendError, `expected a BackendError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (match) assert.match(err.message, match);
    return true;
  });
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

backendSuite('faulty with no faults', async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'mamori-faulty-suite-'));
  return {
    backend: new FaultyBackend(new LocalBackend(join(dir, 'repo'))),
    cleanup: () => fsp.rm(dir, { recursive: true, force: true }),
  };
});

describe('FaultyBackend', () => {
  test('rules: after lets N matching calls through, times limits the failures, type narrows, any matches all', async () => {
    const { f, local, cleanup } = await faultyOverLocal({
      rules: [
        { op: 'load', type: 'index', kind: 'transient', after: 1, times: 2 },
        { op: 'any', kind: 'permission', after: 8, times: 1, message: 'read-only now' },
      ],
    });
    try {
      const idx: Handle = { type: 'index', name: randomId() };
      const snap: Handle = { type: 'snapshot', name: randomId() };
      await local.save(idx, Buffer.from('i'));
      await local.save(snap, Buffer.from('s'));
      const outcome = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: BackendError) => e.kind);
      const got: string[] = [];
      for (let i = 0; i < 4; i++) {
        got.push(await outcome(f.load(idx)));
        got.push(await outcome(f.load(snap)));
      }
      assert.deepEqual(got, ['ok', 'ok', 'transient', 'ok', 'transient', 'ok', 'ok', 'ok']);
      // Calls 9 and 10 of any kind: the 'any' rule fires once, with its message.
      await rejectsKind(f.hasConfig(), 'permission', /^read-only now$/);
      assert.equal(await f.hasConfig(), false);
      // setRules starts counting afresh.
      f.setRules([{ op: 'stat', kind: 'not-found', times: 1 }]);
      await rejectsKind(f.stat(idx), 'not-found', /injected not-found fault: stat index/);
      assert.deepEqual(await f.stat(idx), { name: idx.name, size: 1 });
      f.setRules([]);
      assert.deepEqual(await f.load(idx), Buffer.from('i'));
    } finally {
      await cleanup();
    }
  });

  test('every call is recorded with its outcome; injected faults never reach the inner backend', async () => {
    const { f, local, cleanup } = await faultyOverLocal({ rules: [{ op: 'save', type: 'data', kind: 'transient', times: 1 }] });
    try {
      const a: Handle = { type: 'data', name: randomId() };
      await rejectsKind(f.save(a, Buffer.alloc(5)), 'transient');
      await rejectsKind(local.stat(a), 'not-found');
      await f.save(a, Buffer.alloc(5));
      await rejectsKind(f.save(a, Buffer.alloc(5)), 'other');
      assert.equal((await f.load(a, 1, 3)).length, 3);
      await collect(f.list('data'));
      await f.remove(a);
      assert.deepEqual(f.calls, [
        { op: 'save', handle: a, bytes: 5, ok: false, kind: 'transient', injected: true },
        { op: 'save', handle: a, bytes: 5, ok: true },
        { op: 'save', handle: a, bytes: 5, ok: false, kind: 'other', injected: false },
        { op: 'load', handle: a, bytes: 3, ok: true },
        { op: 'list', type: 'data', ok: true },
        { op: 'remove', handle: a, ok: true },
      ]);
      assert.deepEqual(f.savedNames('data'), [a.name]);
      assert.deepEqual(f.savedNames('index'), []);
    } finally {
      await cleanup();
    }
  });

  test('storeThenFail stores the file but reports transient, and savedNames shows a second upload', async () => {
    const { f, local, cleanup } = await faultyOverLocal({ rules: [{ op: 'save', kind: 'transient', times: 1, storeThenFail: true }] });
    try {
      const h: Handle = { type: 'data', name: randomId() };
      await rejectsKind(f.save(h, Buffer.from('stored anyway')), 'transient', /lost acknowledgement/);
      assert.deepEqual(await local.load(h), Buffer.from('stored anyway'));
      await local.remove(h);
      await f.save(h, Buffer.from('stored anyway'));
      assert.deepEqual(f.savedNames('data'), [h.name, h.name]);
    } finally {
      await cleanup();
    }
  });

  test('list faults: before the first entry, after N entries, or after all of them', async () => {
    const { f, local, cleanup } = await faultyOverLocal();
    try {
      for (let i = 0; i < 4; i++) await local.save({ type: 'key', name: randomId() }, Buffer.from('k'));
      const read = async (): Promise<number> => {
        let n = 0;
        for await (const _ of f.list('key')) n++;
        return n;
      };
      for (const [rule, yielded] of [[{}, 0], [{ failAfterItems: 3 }, 3], [{ storeThenFail: true }, 4]] as const) {
        f.setRules([{ op: 'list', kind: 'transient', times: 1, ...rule }]);
        let n = 0;
        await rejectsKind((async () => { for await (const _ of f.list('key')) n++; })(), 'transient');
        assert.equal(n, yielded, JSON.stringify(rule));
        assert.equal(await read(), 4);
      }
    } finally {
      await cleanup();
    }
  });

  test('failAfterBytes: concurrent saves never overshoot, and a failed save leaves no file', async () => {
    const { f, local, cleanup } = await faultyOverLocal({ failAfterBytes: 550 });
    try {
      const handles: Handle[] = Array.from({ length: 10 }, () => ({ type: 'data', name: randomId() }));
      const results = await Promise.allSettled(handles.map((h) => f.save(h, Buffer.alloc(100, 7))));
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 5);
      for (const r of failed) {
        assert.ok(r.reason instanceof BackendError && r.reason.kind === 'no-space', String(r.reason));
      }
      assert.equal(f.savedBytes, 500);
      assert.equal((await collect(local.list('data'))).length, 5);
      assert.equal(f.savedNames('data').length, 5);
    } finally {
      await cleanup();
    }
  });

  test('delayMs waits before each call, per operation', async () => {
    const slept: number[] = [];
    const { f, cleanup } = await faultyOverLocal({
      delayMs: { load: 250, hasConfig: 40 },
      sleep: async (ms) => { slept.push(ms); },
    });
    try {
      await f.hasConfig();
      await rejectsKind(f.load({ type: 'lock', name: randomId() }), 'not-found');
      await rejectsKind(f.stat({ type: 'lock', name: randomId() }), 'not-found');
      assert.deepEqual(slept, [40, 250]);
      f.configure({ delayMs: 5 });
      await f.hasConfig();
      await collect(f.list('lock'));
      assert.deepEqual(slept, [40, 250, 5, 5]);
    } finally {
      await cleanup();
    }
  });

  test('hanging calls settle only when closed or aborted, failing with the rule kind', { timeout: 20_000 }, async () => {
    const ctl = new AbortController();
    const { f, cleanup } = await faultyOverLocal({ hang: true, signal: ctl.signal });
    try {
      let settled = false;
      const pending = f.hasConfig().finally(() => { settled = true; });
      const check = rejectsKind(pending, 'transient', /no answer from .*simulated unreachable/);
      for (let i = 0; i < 20; i++) await tick();
      assert.equal(settled, false);
      ctl.abort();
      await check;
      assert.deepEqual(f.calls.map((c) => [c.op, c.ok, c.injected]), [['hasConfig', false, true]]);
    } finally {
      await cleanup();
    }
    const second = await faultyOverLocal({ rules: [{ op: 'save', kind: 'other', hang: true }] });
    const h: Handle = { type: 'data', name: randomId() };
    const pending = rejectsKind(second.f.save(h, Buffer.from('x')), 'other', /no answer/);
    // Other operations are not affected by a save-only rule.
    assert.equal(await second.f.hasConfig(), false);
    await tick();
    await second.cleanup();
    await pending;
  });

  test('unplug makes every operation fail transiently like a missing drive; replug restores it', async () => {
    const { f, local, cleanup } = await faultyOverLocal();
    try {
      const h: Handle = { type: 'snapshot', name: randomId() };
      await f.save(h, Buffer.from('s'));
      f.unplug();
      const drive = /I\/O error on .*not connected.*reconnect it/;
      await rejectsKind(f.save({ type: 'snapshot', name: randomId() }, Buffer.from('t')), 'transient', drive);
      await rejectsKind(f.load(h), 'transient', drive);
      await rejectsKind(f.stat(h), 'transient', drive);
      await rejectsKind(f.remove(h), 'transient', drive);
      await rejectsKind(f.hasConfig(), 'transient', drive);
      await rejectsKind(f.create(), 'transient', drive);
      await rejectsKind(f.writeAppFile('marker', Buffer.from('m')), 'transient', drive);
      await rejectsKind(f.readAppFile('marker'), 'transient', drive);
      await rejectsKind(collect(f.list('snapshot')), 'transient', drive);
      assert.equal((await collect(local.list('snapshot'))).length, 1, 'nothing changed on the drive');
      f.replug();
      assert.deepEqual(await f.load(h), Buffer.from('s'));
      // Pulled out in the middle of a listing.
      for (let i = 0; i < 3; i++) await local.save({ type: 'snapshot', name: randomId() }, Buffer.from('s'));
      let n = 0;
      await rejectsKind((async () => {
        for await (const _ of f.list('snapshot')) {
          n++;
          if (n === 2) f.unplug();
        }
      })(), 'transient', drive);
      assert.equal(n, 2);
    } finally {
      await cleanup();
    }
  });
});
