// MamoriApi over the headless server (`mamori serve`): POST /api/call with the page's HttpOnly
// cookie (credentials 'same-origin'; the token itself is never visible to scripts) and a WebSocket
// on /api/events for the event stream. The socket is opened while someone listens and reopened after
// a drop with a growing delay (1 s doubling to 30 s); after a reconnect listeners get a
// 'state-changed' event, because events sent while the socket was down are lost and screens must
// reload what they show.

import type { ApiMethod, ApiParams, ApiResults, MamoriApi, MamoriEvent } from '../../../shared/api';
import { ApiCallError, ClientErrorCode, unwrapResponse } from './errors';
import { checkedParams } from './validate';

type SocketLike = Pick<WebSocket, 'close'> & {
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
};

export interface HttpApiOptions {
  /** The page's address; the API lives at /api/* on the same origin. Default: location.href. */
  base?: string;
  fetch?: typeof fetch;
  WebSocket?: new (url: string) => SocketLike;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

function isEvent(x: unknown): x is MamoriEvent {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}

export function createHttpApi(o: HttpApiOptions = {}): MamoriApi {
  const base = o.base ?? globalThis.location.href;
  const doFetch = o.fetch ?? globalThis.fetch.bind(globalThis);
  const Socket = o.WebSocket ?? (globalThis.WebSocket as unknown as new (url: string) => SocketLike);
  const minDelay = o.reconnectMinMs ?? 1000;
  const maxDelay = o.reconnectMaxMs ?? 30_000;
  const callUrl = new URL('/api/call', base).toString();
  const eventsUrl = (() => {
    const u = new URL('/api/events', base);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.search = '';
    u.hash = '';
    return u.toString();
  })();

  const listeners = new Set<(e: MamoriEvent) => void>();
  let socket: SocketLike | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = minDelay;
  let everOpened = false;

  const deliver = (e: MamoriEvent): void => {
    for (const l of [...listeners]) {
      try {
        l(e);
      } catch {
        // One screen's broken handler must not stop the others from hearing the event.
      }
    }
  };

  function connect(): void {
    timer = undefined;
    if (listeners.size === 0 || socket) return;
    let s: SocketLike;
    try {
      s = new Socket(eventsUrl);
    } catch {
      schedule();
      return;
    }
    socket = s;
    s.onopen = () => {
      delay = minDelay;
      if (everOpened) deliver({ type: 'state-changed' });
      everOpened = true;
    };
    s.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (isEvent(parsed)) deliver(parsed);
    };
    s.onerror = () => undefined;
    s.onclose = () => {
      if (socket === s) socket = undefined;
      schedule();
    };
  }

  function schedule(): void {
    if (listeners.size === 0 || timer !== undefined) return;
    timer = setTimeout(connect, delay);
    delay = Math.min(maxDelay, delay * 2);
  }

  function disconnect(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const s = socket;
    socket = undefined;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.close();
    }
    everOpened = false;
    delay = minDelay;
  }

  return {
    async call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResults[M]> {
      const checked = checkedParams(method, params);
      let res: Response;
      try {
        res = await doFetch(callUrl, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ method, params: checked }),
        });
      } catch (e) {
        throw new ApiCallError({
          code: ClientErrorCode.Unreachable,
          message: `Mamori is not answering (${e instanceof Error ? e.message : String(e)})`,
          hint: 'Check that "mamori serve" is still running, then reload this page.',
        });
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        if (res.status === 401) {
          throw new ApiCallError({ code: ClientErrorCode.Unauthorized, message: 'this page is not signed in to the running Mamori server', hint: 'Open the address printed by "mamori serve" again.' });
        }
        throw new ApiCallError({ code: ClientErrorCode.BadResponse, message: `Mamori answered with HTTP ${res.status} and no valid reply` });
      }
      return unwrapResponse<ApiResults[M]>(body);
    },
    subscribe(listener: (e: MamoriEvent) => void): () => void {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) disconnect();
      };
    },
  };
}
