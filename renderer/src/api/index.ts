// Picks the transport once at startup: the Electron preload's window.mamori when it exists, else the
// headless server's HTTP + WebSocket API on this page's origin. Screens get a MamoriApi and cannot
// tell which one they talk to.

import type { MamoriApi } from '../../../shared/api';
import { isMamoriBridge, type MamoriBridge } from '../../../shared/bridge';
import { createHttpApi } from './http-transport';
import { createIpcApi } from './ipc-transport';

declare global {
  interface Window {
    mamori?: MamoriBridge;
  }
}

export function createApi(win: Window = window): MamoriApi {
  if (isMamoriBridge(win.mamori)) return createIpcApi(win.mamori);
  return createHttpApi({ base: win.location.href });
}

export { ApiCallError, ClientErrorCode, toApiError } from './errors';
export { createHttpApi } from './http-transport';
export { createIpcApi } from './ipc-transport';
