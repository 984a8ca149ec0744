// The headless server's public entry: what `mamori serve`, `npm start` (when Electron cannot start)
// and the e2e tests use.
export { startServer, HOST, type ServerOptions, type RunningServer } from './server';
export type { ApiHandler } from './types';
export { makeServeCommand, runServe, parsePort, defaultStaticDir, serveOptions, serveHelp, type RunServeOptions } from './serve-command';
export { COOKIE_NAME } from './security';
