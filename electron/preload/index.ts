// Preload: the only bridge between the sandboxed renderer and the main process. It exposes a typed
// `window.mamori` object; the desktop-app work fills it from shared/api.ts.
import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('mamori', { transport: 'ipc' as const });
