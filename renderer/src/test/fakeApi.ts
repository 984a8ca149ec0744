// A fake MamoriApi for component tests: answers from per-method handlers, records every call, and
// lets a test push engine events. Params are checked with the contract's own validateRequest, as
// both real transports do, so a screen sending a malformed request fails its test.

import { validateRequest, type ApiMethod, type ApiParams, type ApiResults, type MamoriApi, type MamoriEvent, type Overview } from '../../../shared/api';
import { ApiCallError } from '../api/errors';

export type Handlers = { [M in ApiMethod]?: (p: ApiParams<M>) => ApiResults[M] | Promise<ApiResults[M]> };

export interface FakeApi extends MamoriApi {
  calls: { method: ApiMethod; params: unknown }[];
  callsOf<M extends ApiMethod>(m: M): ApiParams<M>[];
  emit(e: MamoriEvent): void;
  handlers: Handlers;
}

export function fakeApi(handlers: Handlers = {}): FakeApi {
  const listeners = new Set<(e: MamoriEvent) => void>();
  const calls: FakeApi['calls'] = [];
  const api: FakeApi = {
    calls,
    handlers,
    callsOf<M extends ApiMethod>(m: M) {
      return calls.filter((c) => c.method === m).map((c) => c.params as ApiParams<M>);
    },
    async call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResults[M]> {
      calls.push({ method, params });
      const v = validateRequest(method, params);
      if (!v.ok) throw new ApiCallError(v.error);
      const h = handlers[method] as ((p: ApiParams<M>) => ApiResults[M] | Promise<ApiResults[M]>) | undefined;
      if (!h) throw new ApiCallError({ code: 'INTERNAL', message: `the fake API has no answer for ${method}` });
      return h(params);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(e) {
      for (const l of [...listeners]) l(e);
    },
  };
  return api;
}

export function emptyOverview(over: Partial<Overview> = {}): Overview {
  return {
    needsSetup: { password: false, source: false, destination: false },
    sources: [],
    destinations: [],
    reports: [],
    warnings: [],
    running: [],
    paused: false,
    ...over,
  };
}

export const defaultSettings: ApiResults['getSettings'] = { language: 'en', startAtLogin: false, excludes: [] };
