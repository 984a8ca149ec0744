// MamoriApi over Electron IPC: wraps the preload's window.mamori (shared/bridge.ts). The bridge
// answers every call with an ApiResponse; an engine error arrives as data and is thrown here as an
// ApiCallError, exactly like the HTTP transport does.

import type { ApiMethod, ApiParams, ApiResults, MamoriApi, MamoriEvent } from '../../../shared/api';
import type { MamoriBridge } from '../../../shared/bridge';
import { ApiCallError, ClientErrorCode, unwrapResponse } from './errors';
import { checkedParams } from './validate';

export function createIpcApi(bridge: MamoriBridge): MamoriApi {
  return {
    async call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResults[M]> {
      const checked = checkedParams(method, params);
      let answer: unknown;
      try {
        answer = await bridge.call(method, checked);
      } catch (e) {
        // The IPC channel itself failed (main process busy restarting, handler missing).
        throw new ApiCallError({
          code: ClientErrorCode.Unreachable,
          message: `Mamori's background process did not answer (${e instanceof Error ? e.message : String(e)})`,
        });
      }
      return unwrapResponse<ApiResults[M]>(answer);
    },
    subscribe(listener: (e: MamoriEvent) => void): () => void {
      return bridge.onEvent(listener);
    },
  };
}
