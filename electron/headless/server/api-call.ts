// POST /api/call: one JSON request {method, params} in, one ApiResponse out, exactly what the
// Electron IPC channel carries. Checks run cheapest first and nothing reaches the handler unchecked:
// method (405), Content-Type (415: an HTML form cannot send application/json, so cross-site form posts
// stop here), size (413), JSON syntax and envelope shape (400), then the params schema from
// shared/api.ts (INVALID_REQUEST with HTTP 200, like any other typed error).
// Errors thrown by the handler are mapped at this boundary: a MamoriError keeps its code, message,
// hint and subject; anything else becomes INTERNAL with a generic message, because internal messages
// and stacks can hold paths and details that are no business of a web page.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { validateRequest, type ApiError } from '../../../shared/api';
import { ErrorCode, isMamoriError } from '../../../shared/errors';
import type { ApiHandler } from './types';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface ApiCallOptions {
  handler: ApiHandler;
  headers: Record<string, string>;
  bodyLimit: number;
  /** Told about unexpected handler errors (the caller may log them); the client never sees them. */
  onInternalError?: (method: string, error: unknown) => void;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string>, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, {
    ...headers,
    ...extra,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': body.length,
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

export function errorBody(code: string, message: string, more: { hint?: string; subject?: string } = {}): { ok: false; error: ApiError } {
  const error: ApiError = { code, message };
  if (more.hint !== undefined) error.hint = more.hint;
  if (more.subject !== undefined) error.subject = more.subject;
  return { ok: false, error };
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const [type, ...params] = value.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json') return false;
  for (const p of params) {
    const [k, v] = p.split('=').map((s) => s.trim());
    if (k === 'charset' && v?.replace(/"/g, '') !== 'utf-8') return false;
  }
  return true;
}

/**
 * Reads and discards the rest of a refused body so the client, still sending, can read our answer
 * (closing at once would reset the connection and lose it); past `cap` bytes the client is cut off.
 */
function drainOrDrop(req: IncomingMessage, cap: number): void {
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > cap) req.socket.destroy();
  });
  req.resume();
}

type Body = { ok: true; text: string } | { ok: false; status: number; message: string };

function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    // Refused before reading; Node discards the unread body after the response.
    return Promise.resolve({ ok: false, status: 413, message: `the request body is larger than ${limit} bytes` });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (b: Body): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(b);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        finish({ ok: false, status: 413, message: `the request body is larger than ${limit} bytes` });
        drainOrDrop(req, limit * 16);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      try {
        finish({ ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)) });
      } catch {
        finish({ ok: false, status: 400, message: 'the request body is not valid UTF-8' });
      }
    });
    req.on('error', () => finish({ ok: false, status: 400, message: 'the request body could not be read' }));
    req.on('close', () => finish({ ok: false, status: 400, message: 'the request body ended early' }));
  });
}

export async function handleApiCall(req: IncomingMessage, res: ServerResponse, o: ApiCallOptions): Promise<void> {
  if (req.method !== 'POST') {
    sendJson(res, 405, errorBody(ErrorCode.InvalidRequest, `${req.method ?? 'this method'} is not allowed on /api/call: use POST`), o.headers, { Allow: 'POST' });
    return;
  }
  if (!isJsonContentType(req.headers['content-type'])) {
    sendJson(res, 415, errorBody(ErrorCode.InvalidRequest, 'the request body must be sent as Content-Type: application/json'), o.headers);
    return;
  }
  const body = await readBody(req, o.bodyLimit);
  if (!body.ok) {
    sendJson(res, body.status, errorBody(ErrorCode.InvalidRequest, body.message), o.headers);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.text);
  } catch (e) {
    const why = e instanceof SyntaxError ? `: ${e.message}` : '';
    sendJson(res, 400, errorBody(ErrorCode.InvalidRequest, `the request body is not valid JSON${why}`, { hint: 'send {"method": "...", "params": {...}}' }), o.headers);
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    sendJson(res, 400, errorBody(ErrorCode.InvalidRequest, 'the request body must be a JSON object {"method": "...", "params": {...}}'), o.headers);
    return;
  }
  const extra = Object.keys(parsed).filter((k) => k !== 'method' && k !== 'params');
  if (extra.length) {
    sendJson(res, 400, errorBody(ErrorCode.InvalidRequest, `unexpected field ${JSON.stringify(extra[0])} in the request: only "method" and "params" are allowed`, { subject: extra[0] }), o.headers);
    return;
  }
  const envelope = parsed as { method?: unknown; params?: unknown };
  const v = validateRequest(envelope.method, envelope.params);
  if (!v.ok) {
    sendJson(res, 200, { ok: false, error: v.error }, o.headers);
    return;
  }
  let payload: string;
  try {
    const result = await o.handler.call(v.method, v.params);
    payload = JSON.stringify({ ok: true, result: result ?? null });
  } catch (e) {
    if (isMamoriError(e)) {
      sendJson(res, 200, errorBody(e.code, e.message, { hint: e.hint, subject: e.subject }), o.headers);
      return;
    }
    o.onInternalError?.(v.method, e);
    sendJson(res, 200, errorBody(ErrorCode.Internal, `Mamori hit an unexpected problem while answering ${v.method}.`, {
      hint: 'Try again; if it keeps happening, the output of "mamori serve" says more. This is probably a bug in Mamori.',
    }), o.headers);
    return;
  }
  if (res.headersSent || res.destroyed) return;
  const buf = Buffer.from(payload, 'utf8');
  res.writeHead(200, { ...o.headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': buf.length, 'Cache-Control': 'no-store' });
  res.end(buf);
}
