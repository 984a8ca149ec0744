// RetryBackend over FaultyBackend over a LocalBackend in a temp folder: the shared suite must pass
// through injected transient faults (retries are invisible to callers), and the retry policy
// itself: attempt limits, what is never retried, backoff growth and cap, lost acknowledgements of
// saves, full disks, cancellation of a hanging call or a backoff wait, and an unplugged drive.

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { BackendError } from './backend';
import type { BackendErrorKind, FileInfo, Handle } from './backend';
import { backendSuite, collect, randomId } from './backend-suite';
import { FaultyBackend } from './faulty';
import type { FaultRule, FaultyOptions } from './faulty';
import { LocalBackend } from './local';
import { RetryAbortedError, RetryBackend, backoffDelay } from './retry';
import type { RetryInfo, RetryOptions } from './retry';

const noSleep = (): Promise<void> => Promise.resolve();

interface Stack {
  retry: RetryBackend;
  faulty: FaultyBackend;
  local: LocalBackend;
  root: string;
  cleanup: () => Promise<void>;
}

async function stack(faultOpts: FaultyOptions = {}, retryOpts: RetryOptions = {}, create = true): Promise<Stack> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'mamori-retry-'));
  const root = join(dir, 'repo');
  const local = new LocalBackend(root);
  if (create) await local.create();
  const faulty = new FaultyBackend(local, faultOpts);
  const retry = new RetryBackend(faulty, { sleep: noSleep, ...retryOpts });
  return {
    retry, faulty, local, root,
    cleanup: async () => {
      await retry.close();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every file under the repository folder, relative, sorted: shows leftovers such as temporary files. */
async function allFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(relative(root, join(d, e.name)));
    }
  }
  await walk(root);
  return out.sort();
}

async function rejectsKind(p: Promise<unknown>, kind: BackendErrorKind, match?: RegExp): Promise<BackendError> {
  let caught: BackendError | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BackendError, `expected a BackendError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (match) assert.match(err.message, match);
    caught = err;
    return true;
  });
  return caught as BackendError;
}

// Each operation fails transiently on its first call or two; save also loses one acknowledgement
// (stored, reported failed) and list fails once more before yielding anything.
const TRANSIENT_RULES: FaultRule[] = [
  { op: 'create', kind: 'transient', times: 2 },
  { op: 'save', kind: 'transient', times: 2 },
  { op: 'save', kind: 'transient', after: 2, times: 1, storeThenFail: true },
  { op: 'load', kind: 'transient', times: 2 },
  { op: 'stat', kind: 'transient', times: 1 },
  { op: 'list', kind: 'transient', times: 2 },
  { op: 'remove', kind: 'transient', times: 2 },
  { op: 'hasConfig', kind: 'transient', times: 1 },
  { op: 'writeAppFile', kind: 'transient', times: 2 },
  { op: 'readAppFile', kind: 'transient', times: 1 },
];

let suiteRetries = 0;
backendSuite('retry over faulty (transient faults)', async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'mamori-retry-suite-'));
  const faulty = new FaultyBackend(new LocalBackend(join(dir, 'repo')), { rules: TRANSIENT_RULES });
  const backend = new RetryBackend(faulty, { sleep: noSleep, onRetry: () => { suiteRetries++; } });
  return { backend, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
});

describe('RetryBackend', () => {
  test('the suite above really went through retries', () => {
    // Guards against the faults silently not being injected (then the suite would prove nothing).
    assert.ok(suiteRetries > 50, `only ${suiteRetries} retries`);
  });

  test('gives up after `attempts` with the last error, reporting each retry', async () => {
    const infos: RetryInfo[] = [];
    const s = await stack({ rules: [{ op: 'load', kind: 'transient', message: 'boom' }] }, { attempts: 3, onRetry: (i) => infos.push(i) });
    try {
      const h: Handle = { type: 'index', name: randomId() };
      await s.local.save(h, Buffer.from('abc'));
      const err = await rejectsKind(s.retry.load(h), 'transient', /^boom$/);
      assert.ok(!(err instanceof RetryAbortedError));
      assert.equal(s.faulty.calls.filter((c) => c.op === 'load').length, 3);
      assert.deepEqual(infos.map((i) => [i.op, i.handle?.name, i.attempt]), [['load', h.name, 1], ['load', h.name, 2]]);
      assert.ok(infos.every((i) => i.error.kind === 'transient'));
      // Once the destination recovers, the same wrapper works again.
      s.faulty.setRules([]);
      assert.deepEqual(await s.retry.load(h), Buffer.from('abc'));
    } finally {
      await s.cleanup();
    }
  });

  test('a transient failure that clears within the attempts is invisible', async () => {
    const s = await stack({ rules: [{ op: 'stat', kind: 'transient', times: 4 }] }, { attempts: 5 });
    try {
      const h: Handle = { type: 'data', name: randomId() };
      await s.local.save(h, Buffer.alloc(77));
      assert.deepEqual(await s.retry.stat(h), { name: h.name, size: 77 });
      assert.equal(s.faulty.calls.filter((c) => c.op === 'stat').length, 5);
    } finally {
      await s.cleanup();
    }
  });

  test('not-found, permission, no-space and other are never retried', async () => {
    let retries = 0;
    const s = await stack({}, { attempts: 5, onRetry: () => { retries++; } });
    try {
      const h: Handle = { type: 'snapshot', name: randomId() };
      for (const kind of ['not-found', 'permission', 'no-space', 'other'] as const) {
        s.faulty.setRules([{ op: 'any', kind }]);
        const before = s.faulty.calls.length;
        await rejectsKind(s.retry.save(h, Buffer.from('x')), kind);
        await rejectsKind(s.retry.hasConfig(), kind);
        assert.equal(s.faulty.calls.length - before, 2, kind);
      }
      // A real not-found from the local backend, too.
      s.faulty.setRules([]);
      const before = s.faulty.calls.length;
      await rejectsKind(s.retry.load(h), 'not-found');
      await rejectsKind(s.retry.remove(h), 'not-found');
      assert.equal(s.faulty.calls.length - before, 2);
      assert.equal(retries, 0);
    } finally {
      await s.cleanup();
    }
  });

  test('backoff delays double from baseDelayMs, are capped at maxDelayMs, and jitter stays within [cap/2, cap]', async () => {
    const slept: number[] = [];
    const infos: RetryInfo[] = [];
    const s = await stack({ rules: [{ op: 'stat', kind: 'transient' }] }, {
      attempts: 8, baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5,
      sleep: (ms, signal) => {
        assert.ok(signal instanceof AbortSignal, 'sleep gets a signal so it can stop early');
        slept.push(ms);
        return Promise.resolve();
      },
      onRetry: (i) => infos.push(i),
    });
    try {
      await rejectsKind(s.retry.stat({ type: 'key', name: randomId() }), 'transient');
      // Caps 100, 200, 400, 800, 1000, 1000, 1000; random 0.5 takes 75% of each.
      assert.deepEqual(slept, [75, 150, 300, 600, 750, 750, 750]);
      assert.deepEqual(infos.map((i) => i.delayMs), slept);
    } finally {
      await s.cleanup();
    }
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 500, 30_000, () => 0)), [250, 500, 1000, 2000, 4000, 8000]);
    assert.equal(backoffDelay(40, 500, 30_000, () => 0.999999), 30_000);
    for (let n = 1; n <= 20; n++) {
      const cap = Math.min(30_000, 500 * 2 ** (n - 1));
      const d = backoffDelay(n, 500, 30_000, Math.random);
      assert.ok(d >= cap / 2 && d <= cap, `retry ${n}: ${d} not within [${cap / 2}, ${cap}]`);
    }
  });

  test('a save whose acknowledgement was lost resolves, and the file is stored once with the right bytes', async () => {
    const s = await stack({ rules: [{ op: 'save', kind: 'transient', times: 1, storeThenFail: true }] });
    try {
      const h: Handle = { type: 'data', name: randomId() };
      const data = Buffer.from('pack contents '.repeat(100));
      await s.retry.save(h, data);
      assert.deepEqual(await s.local.load(h), data);
      assert.deepEqual((await collect(s.local.list('data'))).map((f) => f.name), [h.name]);
      assert.deepEqual(s.faulty.savedNames('data'), [h.name], 'uploaded exactly once');
      const saves = s.faulty.calls.filter((c) => c.op === 'save');
      assert.deepEqual(saves.map((c) => [c.ok, c.kind]), [[false, 'transient'], [false, 'other']]);
      assert.deepEqual(await allFiles(s.root), [join('data', h.name.slice(0, 2), h.name)]);
    } finally {
      await s.cleanup();
    }
  });

  test('after a transient failure, an existing file of another size surfaces the save error', async () => {
    const s = await stack({ rules: [{ op: 'save', kind: 'transient', times: 1 }] });
    try {
      const h: Handle = { type: 'data', name: randomId() };
      await s.local.save(h, Buffer.alloc(10, 1));
      await rejectsKind(s.retry.save(h, Buffer.alloc(20, 2)), 'other', /already exists/);
      assert.deepEqual(await s.local.load(h), Buffer.alloc(10, 1));
      // Without an earlier transient failure, an existing name is an error even with the same size.
      await rejectsKind(s.retry.save(h, Buffer.alloc(10, 1)), 'other', /already exists/);
    } finally {
      await s.cleanup();
    }
  });

  test('a full disk fails with no-space, is not retried and leaves nothing partial', async () => {
    const s = await stack({ failAfterBytes: 1000 });
    try {
      const a: Handle = { type: 'data', name: randomId() };
      const b: Handle = { type: 'data', name: randomId() };
      const c: Handle = { type: 'data', name: randomId() };
      await s.retry.save(a, Buffer.alloc(600, 1));
      await rejectsKind(s.retry.save(b, Buffer.alloc(500, 2)), 'no-space', /no space left/);
      assert.equal(s.faulty.calls.filter((x) => x.op === 'save').length, 2, 'not retried');
      assert.deepEqual(await allFiles(s.root), [join('data', a.name.slice(0, 2), a.name)]);
      // Exactly up to the limit still fits.
      await s.retry.save(c, Buffer.alloc(400, 3));
      assert.equal(s.faulty.savedBytes, 1000);
      await rejectsKind(s.retry.save(b, Buffer.alloc(1, 2)), 'no-space');
      // The user frees space: saving works again.
      s.faulty.configure({ failAfterBytes: 2000 });
      await s.retry.save(b, Buffer.alloc(500, 2));
      assert.deepEqual(s.faulty.savedNames('data'), [a.name, c.name, b.name]);
    } finally {
      await s.cleanup();
    }
  });

  test('a hanging call rejects as soon as the signal aborts, with a clear error', { timeout: 20_000 }, async () => {
    const ctl = new AbortController();
    const s = await stack({ hang: true }, { signal: ctl.signal });
    try {
      const h: Handle = { type: 'data', name: randomId() };
      const pending = s.retry.load(h);
      // Let the call reach the hanging inner backend before aborting.
      await new Promise((r) => setImmediate(r));
      ctl.abort();
      const err = await rejectsKind(pending, 'other', /^cancelled while reading data [0-9a-f]{64} on /);
      assert.ok(err instanceof RetryAbortedError);
      assert.equal(err.name, 'AbortError');
      assert.ok(err.message.includes(s.retry.location));
      // Later calls fail the same way at once, without reaching the inner backend.
      const before = s.faulty.calls.length;
      await assert.rejects(s.retry.stat(h), RetryAbortedError);
      await assert.rejects(collect(s.retry.list('data')), RetryAbortedError);
      assert.equal(s.faulty.calls.length, before);
    } finally {
      await s.cleanup();
    }
  });

  test('a hanging listing is cancelled too', { timeout: 20_000 }, async () => {
    const ctl = new AbortController();
    const s = await stack({ rules: [{ op: 'list', kind: 'transient', hang: true }] }, { signal: ctl.signal });
    try {
      const pending = collect(s.retry.list('snapshot'));
      await new Promise((r) => setImmediate(r));
      ctl.abort();
      await rejectsKind(pending, 'other', /^cancelled while listing snapshot files/);
    } finally {
      await s.cleanup();
    }
  });

  test('aborting during a long backoff wait (real timers) stops waiting at once', { timeout: 20_000 }, async () => {
    const ctl = new AbortController();
    const s = await stack({ rules: [{ op: 'stat', kind: 'transient', message: 'drive gone' }] }, {
      signal: ctl.signal,
      baseDelayMs: 3_600_000,
      maxDelayMs: 3_600_000,
      sleep: undefined,
      // Abort once the hour-long wait has started.
      onRetry: () => { setImmediate(() => ctl.abort()); },
    });
    try {
      const err = await rejectsKind(s.retry.stat({ type: 'lock', name: randomId() }), 'other', /waiting to retry checking lock/);
      assert.ok(err instanceof RetryAbortedError);
      assert.match(err.message, /last error: drive gone/);
      assert.equal(s.faulty.calls.length, 1);
    } finally {
      await s.cleanup();
    }
  });

  test('close() ends pending calls of a hanging destination', { timeout: 20_000 }, async () => {
    const s = await stack({ hang: true });
    const pending = rejectsKind(s.retry.hasConfig(), 'other', /was closed while checking for a repository/);
    await new Promise((r) => setImmediate(r));
    await s.cleanup();
    await pending;
  });

  test('an unplugged drive fails transiently until replugged; a replug during the retries is transparent', async () => {
    let replugAfter = Infinity;
    const s = await stack({}, {
      attempts: 4,
      onRetry: (i) => { if (i.attempt >= replugAfter) s.faulty.replug(); },
    });
    try {
      const h: Handle = { type: 'snapshot', name: randomId() };
      s.faulty.unplug();
      await rejectsKind(s.retry.save(h, Buffer.from('snap')), 'transient', /not connected.*reconnect it/);
      await rejectsKind(s.retry.hasConfig(), 'transient');
      await rejectsKind(collect(s.retry.list('snapshot')), 'transient');
      assert.equal(s.faulty.calls.length, 12, 'each op tried 4 times');
      assert.deepEqual(await allFiles(s.root), [], 'nothing reached the drive');
      // Plugged back in after the second failed attempt.
      replugAfter = 2;
      await s.retry.save(h, Buffer.from('snap'));
      assert.deepEqual(await s.retry.load(h), Buffer.from('snap'));
      // Pulled out again, then back.
      replugAfter = Infinity;
      s.faulty.unplug();
      await rejectsKind(s.retry.stat(h), 'transient');
      s.faulty.replug();
      assert.deepEqual(await s.retry.stat(h), { name: h.name, size: 4 });
    } finally {
      await s.cleanup();
    }
  });

  test('list restarts only while nothing was yielded: no duplicated entries', async () => {
    let retries = 0;
    const s = await stack({}, { onRetry: () => { retries++; } });
    try {
      const names: string[] = [];
      for (let i = 0; i < 5; i++) {
        const name = randomId();
        names.push(name);
        await s.local.save({ type: 'lock', name }, Buffer.from('lock'));
      }
      names.sort();
      // Fails before the first entry, twice: retried, complete, no duplicates.
      s.faulty.setRules([{ op: 'list', kind: 'transient', times: 2 }]);
      assert.deepEqual((await collect(s.retry.list('lock'))).map((f) => f.name), names);
      assert.equal(retries, 2);
      // Fails after two entries: surfaced, not restarted.
      s.faulty.setRules([{ op: 'list', kind: 'transient', times: 1, failAfterItems: 2 }]);
      const got: FileInfo[] = [];
      await rejectsKind((async () => { for await (const f of s.retry.list('lock')) got.push(f); })(), 'transient');
      assert.equal(got.length, 2);
      assert.equal(retries, 2);
      // Stopping early is fine and leaves the wrapper usable.
      for await (const _ of s.retry.list('lock')) break;
      assert.equal((await collect(s.retry.list('lock'))).length, 5);
    } finally {
      await s.cleanup();
    }
  });

  test('location passes through and options are validated', async () => {
    const s = await stack({}, {}, false);
    try {
      assert.equal(s.retry.location, s.local.location);
      assert.throws(() => new RetryBackend(s.local, { attempts: 0 }), RangeError);
      assert.throws(() => new RetryBackend(s.local, { attempts: 1.5 }), RangeError);
      assert.throws(() => new RetryBackend(s.local, { baseDelayMs: -1 }), RangeError);
    } finally {
      await s.cleanup();
    }
  });
});
