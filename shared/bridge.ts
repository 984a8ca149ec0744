// The shape of `window.mamori`, the object the Electron preload exposes to the sandboxed renderer.
// It carries exactly the JSON of the HTTP transport: call() resolves to an ApiResponse (it never
// rejects for an engine error, so the error crosses the IPC boundary as plain data with its code and
// hint intact), and onEvent() delivers the MamoriEvent stream. Types and channel names only: the
// preload (Electron), the main process (Node) and the renderer (DOM) all import this file.

import type { ApiMethod, ApiParams, ApiResponse, MamoriEvent } from './api';

/** ipcRenderer.invoke channel: payload MamoriCallRequest, answer ApiResponse. */
export const IPC_CALL_CHANNEL = 'mamori:call';
/** webContents.send channel: one MamoriEvent per message. */
export const IPC_EVENT_CHANNEL = 'mamori:event';

export interface MamoriCallRequest<M extends ApiMethod = ApiMethod> {
  method: M;
  params: ApiParams<M>;
}

export interface MamoriBridge {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResponse<M>>;
  /** Returns an unsubscribe function. */
  onEvent(cb: (e: MamoriEvent) => void): () => void;
}

/** True for an object that looks like the preload's bridge (the renderer picks its transport with it). */
export function isMamoriBridge(x: unknown): x is MamoriBridge {
  return typeof x === 'object' && x !== null
    && typeof (x as { call?: unknown }).call === 'function'
    && typeof (x as { onEvent?: unknown }).onEvent === 'function';
}
