// The headless server: the built UI and the same API the Electron app uses, over HTTP + WebSocket on
// 127.0.0.1 only, for `mamori serve` and for machines where Electron cannot start.
//
// Every request passes the same gate before anything else runs, in this order:
//   1. Host / Origin / Sec-Fetch-Site must be this server's own          -> 403 (see security.ts)
//   2. the token: cookie, `Authorization: Bearer`, or `?token=` on a page load (answered with a
//      redirect that sets the cookie and drops the token from the address bar) or on the
//      WebSocket upgrade                                                  -> 401
// then: POST /api/call (api-call.ts), GET /api/events (WebSocket, one JSON MamoriEvent per message),
// anything else outside /api/ is the UI (static-files.ts). Refused upgrades are answered before the
// WebSocket handshake, so a refused page never gets an open socket.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { MamoriEvent } from '../../../shared/api';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import { DEFAULT_BODY_LIMIT, errorBody, handleApiCall, sendJson } from './api-call';
import { checkTokenShape, cookieHeader, foreignRequest, hasValidCredential, newToken, securityHeaders, tokensEqual } from './security';
import { serveStatic } from './static-files';
import type { ApiHandler } from './types';

export const HOST = '127.0.0.1';
/** A client that falls this far behind on events is disconnected rather than buffered without end. */
const MAX_EVENT_BACKLOG = 16 * 1024 * 1024;

export interface ServerOptions {
  handler: ApiHandler;
  /** The built UI: index.html and its assets. */
  staticDir: string;
  /** 0 or absent: any free port. */
  port?: number;
  /** Default: 32 random bytes, base64url. */
  token?: string;
  /** Largest accepted /api/call body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Shown on the "UI not built" page. */
  buildHint?: string;
  /** Unexpected handler errors, for the operator's log; clients only see a generic INTERNAL error. */
  onInternalError?: (method: string, error: unknown) => void;
}

export interface RunningServer {
  /** http://127.0.0.1:PORT/?token=TOKEN: the address to open (it logs the browser in). */
  url: string;
  port: number;
  token: string;
  /** The socket address actually bound. */
  address(): AddressInfo;
  /** Stops listening, closes every connection and WebSocket, unsubscribes from the handler. */
  close(): Promise<void>;
}

const UNAUTHORIZED_PAGE = [
  'Mamori: this address needs the access token of the running server.',
  '',
  'Open the address printed on the first line by "mamori serve" (it looks like',
  'http://127.0.0.1:PORT/?token=...). Each run of "mamori serve" makes a new token, so an address',
  'from an earlier run no longer works.',
].join('\n');

const FORBIDDEN_PAGE = [
  'Mamori: request refused.',
  '',
  'The Mamori server only answers its own pages, opened at http://127.0.0.1:PORT/ or',
  'http://localhost:PORT/ exactly as printed by "mamori serve".',
].join('\n');

function plainText(res: ServerResponse, status: number, text: string, headers: Record<string, string>, extra: Record<string, string> = {}): void {
  const body = Buffer.from(text + '\n', 'utf8');
  res.writeHead(status, { ...headers, ...extra, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** Refuses an upgrade with a plain HTTP answer on the raw socket, before any handshake. */
function refuseUpgrade(socket: Duplex, status: number, reason: string, text: string): void {
  const body = Buffer.from(text + '\n', 'utf8');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Cache-Control: no-store\r\nContent-Length: ${body.length}\r\n\r\n${body.toString('utf8')}`,
  );
  socket.on('error', () => undefined);
  setImmediate(() => socket.destroy());
}

/** The request target as a URL; only origin-form targets ("/path?query") are accepted. */
function requestUrl(req: IncomingMessage): URL | undefined {
  const raw = req.url ?? '';
  if (!raw.startsWith('/')) return undefined;
  try {
    // The base is a placeholder: only pathname and searchParams are used. WHATWG parsing already
    // turns "%2e%2e" into ".." and resolves dot segments; static-files.ts checks what remains.
    return new URL(raw, 'http://127.0.0.1');
  } catch {
    return undefined;
  }
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? newToken();
  checkTokenShape(token);
  const handler = opts.handler;
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const buildHint = opts.buildHint ?? 'Build it with "npx vite build" in the project folder, then reload this page.';
  let port = 0;
  let headers: Record<string, string> = {};

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  // One handler listener for all event sockets (registered while at least one is open): each event
  // is serialised once, and many open tabs do not pile listeners onto the engine's emitter.
  const clients = new Set<WebSocket>();
  const broadcast = (e: MamoriEvent): void => {
    let text: string;
    try {
      text = JSON.stringify(e);
    } catch {
      return;
    }
    for (const ws of clients) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > MAX_EVENT_BACKLOG) ws.terminate();
      else ws.send(text);
    }
  };
  const removeClient = (ws: WebSocket): void => {
    if (clients.delete(ws) && clients.size === 0) handler.events.off('event', broadcast);
  };

  wss.on('connection', (ws: WebSocket) => {
    if (clients.size === 0) handler.events.on('event', broadcast);
    clients.add(ws);
    ws.on('close', () => removeClient(ws));
    ws.on('error', () => ws.terminate());
    // The stream is one-way: clients have nothing to say on it.
    ws.on('message', () => undefined);
  });

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req);
    if (!url) {
      plainText(res, 400, 'Bad request: the request target must be a path.', headers);
      return;
    }
    const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/');
    const foreign = foreignRequest(req.headers, port);
    if (foreign) {
      if (isApi) sendJson(res, 403, errorBody('FORBIDDEN', `request refused: ${foreign}`), headers);
      else plainText(res, 403, FORBIDDEN_PAGE, headers);
      return;
    }

    const queryToken = url.searchParams.get('token');
    const queryOk = queryToken !== null && tokensEqual(queryToken, token);
    const authorized = hasValidCredential(req.headers, token);
    // A token in the query that is wrong means an address from an earlier run: say so rather than
    // quietly letting an older cookie through.
    if ((queryToken !== null && !queryOk) || (!queryOk && !authorized)) {
      if (isApi) sendJson(res, 401, errorBody('UNAUTHORIZED', 'this request needs the token of the running Mamori server', { hint: 'Open the address printed by "mamori serve" again.' }), headers);
      else plainText(res, 401, UNAUTHORIZED_PAGE, headers);
      return;
    }
    if (queryOk && !isApi && (req.method === 'GET' || req.method === 'HEAD')) {
      url.searchParams.delete('token');
      const rest = url.searchParams.toString();
      const location = url.pathname + (rest ? `?${rest}` : '');
      res.writeHead(303, { ...headers, Location: location, 'Set-Cookie': cookieHeader(token), 'Cache-Control': 'no-store', 'Content-Length': 0 });
      res.end();
      return;
    }
    if (queryOk && !authorized) {
      // The query token is only a way in for pages and the event socket; API calls send a header.
      sendJson(res, 401, errorBody('UNAUTHORIZED', 'send the token in a cookie or an "Authorization: Bearer" header, not in the address'), headers);
      return;
    }

    if (url.pathname === '/api/call') {
      await handleApiCall(req, res, { handler, headers, bodyLimit, onInternalError: opts.onInternalError });
      return;
    }
    if (url.pathname === '/api/events') {
      sendJson(res, 426, errorBody(ErrorCode.InvalidRequest, '/api/events is a WebSocket: connect with an Upgrade request'), headers, { Upgrade: 'websocket' });
      return;
    }
    if (isApi) {
      sendJson(res, 404, errorBody(ErrorCode.InvalidRequest, `no such API endpoint: ${url.pathname}`, { hint: 'Use POST /api/call or the WebSocket /api/events.' }), headers);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plainText(res, 405, `Method ${req.method ?? ''} is not allowed here.`, headers, { Allow: 'GET, HEAD' });
      return;
    }
    await serveStatic(req, res, url.pathname, { root: opts.staticDir, headers, buildHint });
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, errorBody(ErrorCode.Internal, 'the server could not answer this request'), headers);
      else res.destroy();
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = requestUrl(req);
    if (!url || url.pathname !== '/api/events') {
      refuseUpgrade(socket, 404, 'Not Found', 'Mamori: the only WebSocket is /api/events.');
      return;
    }
    if (foreignRequest(req.headers, port)) {
      refuseUpgrade(socket, 403, 'Forbidden', FORBIDDEN_PAGE);
      return;
    }
    const queryToken = url.searchParams.get('token');
    const ok = queryToken !== null ? tokensEqual(queryToken, token) : hasValidCredential(req.headers, token);
    if (!ok) {
      refuseUpgrade(socket, 401, 'Unauthorized', UNAUTHORIZED_PAGE);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (e.code === 'EADDRINUSE') {
        reject(new MamoriError(ErrorCode.InvalidRequest, `port ${opts.port} on ${HOST} is already in use`, {
          subject: `${HOST}:${opts.port}`,
          hint: 'Choose another port with --port N, or leave it out to use any free port.',
        }));
      } else if (e.code === 'EACCES') {
        reject(new MamoriError(ErrorCode.InvalidRequest, `not allowed to listen on port ${opts.port} of ${HOST}`, {
          subject: `${HOST}:${opts.port}`,
          hint: 'Choose a port above 1023 with --port N, or leave it out to use any free port.',
        }));
      } else {
        reject(e);
      }
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: HOST, port: opts.port ?? 0, exclusive: true });
  });

  const addr = server.address() as AddressInfo;
  port = addr.port;
  headers = securityHeaders(port);

  let closing: Promise<void> | undefined;
  return {
    url: `http://${HOST}:${port}/?token=${token}`,
    port,
    token,
    address: () => addr,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const ws of [...clients]) {
          removeClient(ws);
          ws.terminate();
        }
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
