// Both transports behave the same for the UI: results come back, engine errors are thrown as
// ApiCallError with code and hint, malformed params never leave the page, and a broken channel is a
// typed UNREACHABLE error. The HTTP transport posts to /api/call with the page's cookie and keeps a
// WebSocket on /api/events, reopening it after a drop and then asking screens to reload.
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { MamoriEvent } from '../../../shared/api';
import type { MamoriBridge } from '../../../shared/bridge';
import { ApiCallError, createApi, createHttpApi, createIpcApi } from './index';

async function rejection(p: Promise<unknown>): Promise<ApiCallError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiCallError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

function bridge(answer: (method: string, params: unknown) => Promise<unknown>) {
  const calls: { method: string; params: unknown }[] = [];
  const listeners = new Set<(e: MamoriEvent) => void>();
  const b: MamoriBridge & { calls: typeof calls; listeners: typeof listeners } = {
    calls,
    listeners,
    call: ((method: string, params: unknown) => {
      calls.push({ method, params });
      return answer(method, params);
    }) as MamoriBridge['call'],
    onEvent(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
  return b;
}

describe('IPC transport', () => {
  test('returns results, throws engine errors with code and hint, and validates before sending', async () => {
    const b = bridge(async (method) => (method === 'getSettings'
      ? { ok: true, result: { language: 'ja', startAtLogin: false, excludes: [] } }
      : { ok: false, error: { code: 'REPOSITORY_MISSING', message: 'Blue USB is not connected', hint: 'Plug it in.' } }));
    const api = createIpcApi(b);
    expect(await api.call('getSettings', {})).toEqual({ language: 'ja', startAtLogin: false, excludes: [] });
    const e = await rejection(api.call('testDestination', { id: 'd1' }));
    expect(e.code).toBe('REPOSITORY_MISSING');
    expect(e.message).toBe('Blue USB is not connected');
    expect(e.hint).toBe('Plug it in.');

    const bad = await rejection(api.call('setPassword', { password: 'short' }));
    expect(bad.code).toBe('INVALID_REQUEST');
    expect(bad.error.subject).toBe('password');
    expect(b.calls.map((c) => c.method)).toEqual(['getSettings', 'testDestination']);
  });

  test('a failing channel or a reply off the contract become typed errors; events pass through', async () => {
    const down = createIpcApi(bridge(() => Promise.reject(new Error('no handler registered for mamori:call'))));
    expect((await rejection(down.call('getOverview', {}))).code).toBe('UNREACHABLE');
    const odd = createIpcApi(bridge(async () => ({ result: 1 })));
    expect((await rejection(odd.call('getOverview', {}))).code).toBe('BAD_RESPONSE');

    const b = bridge(async () => ({ ok: true, result: {} }));
    const seen: MamoriEvent[] = [];
    const off = createIpcApi(b).subscribe((e) => seen.push(e));
    for (const l of b.listeners) l({ type: 'state-changed' });
    off();
    expect(seen).toEqual([{ type: 'state-changed' }]);
    expect(b.listeners.size).toBe(0);
  });
});

describe('HTTP transport', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('posts {method, params} to /api/call on the same origin with the cookie', async () => {
    const requests: { url: string; init: RequestInit }[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      requests.push({ url, init });
      return new Response(JSON.stringify({ ok: true, result: { jobIds: [3] } }), { status: 200, headers: { 'Content-Type': 'application/json' } });
    }) as unknown as typeof globalThis.fetch;
    const api = createHttpApi({ base: 'http://127.0.0.1:4123/#/restore', fetch });
    expect(await api.call('backupNow', { sourceId: 's1' })).toEqual({ jobIds: [3] });
    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe('http://127.0.0.1:4123/api/call');
    expect(requests[0].init.method).toBe('POST');
    expect(requests[0].init.credentials).toBe('same-origin');
    expect(JSON.parse(String(requests[0].init.body))).toEqual({ method: 'backupNow', params: { sourceId: 's1' } });
  });

  test('engine errors, refused tokens, unreachable servers and bad params are typed errors', async () => {
    let reply: () => Response | Promise<Response> = () => new Response(JSON.stringify({ ok: false, error: { code: 'NO_SPACE', message: 'full', hint: 'free space' } }));
    let fetched = 0;
    const fetch = (async () => {
      fetched++;
      return reply();
    }) as unknown as typeof globalThis.fetch;
    const api = createHttpApi({ base: 'http://127.0.0.1:4123/', fetch });
    const e = await rejection(api.call('getOverview', {}));
    expect([e.code, e.message, e.hint]).toEqual(['NO_SPACE', 'full', 'free space']);

    reply = () => new Response('Mamori: this address needs the access token', { status: 401 });
    expect((await rejection(api.call('getOverview', {}))).code).toBe('UNAUTHORIZED');
    reply = () => Promise.reject(new TypeError('fetch failed'));
    const down = await rejection(api.call('getOverview', {}));
    expect(down.code).toBe('UNREACHABLE');
    expect(down.hint).toMatch(/mamori serve/);

    const before = fetched;
    const bad = await rejection(api.call('restore', { pointId: 'p', paths: [], mode: 'folder', target: 'relative/dir' }));
    expect(bad.code).toBe('INVALID_REQUEST');
    expect(bad.message).toMatch(/target/);
    expect(fetched).toBe(before);
  });

  test('the event socket delivers events, reconnects after a drop and then asks for a reload', async () => {
    vi.useFakeTimers();
    const sockets: FakeSocket[] = [];
    class FakeSocket {
      onopen: ((ev: Event) => unknown) | null = null;
      onmessage: ((ev: MessageEvent) => unknown) | null = null;
      onclose: ((ev: CloseEvent) => unknown) | null = null;
      onerror: ((ev: Event) => unknown) | null = null;
      closed = false;
      constructor(readonly url: string) {
        sockets.push(this);
      }
      close() {
        this.closed = true;
      }
      open() {
        this.onopen?.(new Event('open'));
      }
      message(data: string) {
        this.onmessage?.(new MessageEvent('message', { data }));
      }
      drop() {
        this.onclose?.(new CloseEvent('close'));
      }
    }
    const api = createHttpApi({ base: 'http://127.0.0.1:4123/?token=abc', fetch: globalThis.fetch, WebSocket: FakeSocket, reconnectMinMs: 1000, reconnectMaxMs: 4000 });
    const seen: MamoriEvent[] = [];
    const off = api.subscribe((e) => seen.push(e));
    expect(sockets).toHaveLength(1);
    // The token never travels in the socket's address: the cookie carries it.
    expect(sockets[0].url).toBe('ws://127.0.0.1:4123/api/events');
    sockets[0].open();
    sockets[0].message(JSON.stringify({ type: 'job-progress', jobId: 1, progress: {} }));
    sockets[0].message('not json');
    sockets[0].message(JSON.stringify({ nope: true }));
    expect(seen.map((e) => e.type)).toEqual(['job-progress']);

    sockets[0].drop();
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    // A second failure waits twice as long.
    sockets[1].drop();
    vi.advanceTimersByTime(1999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    sockets[2].open();
    expect(seen.map((e) => e.type)).toEqual(['job-progress', 'state-changed']);

    off();
    expect(sockets[2].closed).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(3);
  });
});

describe('choosing the transport', () => {
  test('uses window.mamori when the preload exposes it, else HTTP on the page origin', async () => {
    const b = bridge(async () => ({ ok: true, result: { ok: true } }));
    const win = { mamori: b, location: { href: 'file:///app/renderer/dist/index.html' } } as unknown as Window;
    await createApi(win).call('setPaused', { until: null });
    expect(b.calls).toEqual([{ method: 'setPaused', params: { until: null } }]);

    const requests: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (url: string) => {
      requests.push(url);
      return new Response(JSON.stringify({ ok: true, result: { paused: false } }));
    }) as unknown as typeof globalThis.fetch;
    try {
      // A preload that does not (yet) expose call/onEvent is not taken for the bridge.
      const partial = { mamori: { transport: 'ipc' }, location: { href: 'http://127.0.0.1:5000/' } } as unknown as Window;
      await createApi(partial).call('setPaused', { until: null });
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(requests).toEqual(['http://127.0.0.1:5000/api/call']);
  });
});
