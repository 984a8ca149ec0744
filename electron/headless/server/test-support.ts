// Test-only helpers for the headless server's tests: a fake ApiHandler (the real one lives in the
// engine), raw HTTP requests where every header (Host, Origin, Cookie) is under the test's control,
// and a temporary UI folder. Raw node:http, not fetch, because fetch normalises paths ("/../x") and
// refuses to set Host, and those are exactly what the tests must send.
import { EventEmitter } from 'node:events';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiMethod, MamoriEvent } from '../../../shared/api';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import type { ApiHandler } from './types';

export class FakeHandler extends EventEmitter implements ApiHandler {
  readonly calls: { method: ApiMethod; params: unknown }[] = [];
  readonly events = this;

  async call(method: ApiMethod, params: unknown): Promise<unknown> {
    this.calls.push({ method, params });
    const p = params as Record<string, unknown>;
    if (method === 'getSettings') return { language: 'ja', startAtLogin: false, excludes: ['*.tmp'] };
    if (method === 'removeSource' && p.id === 'locked') {
      throw new MamoriError(ErrorCode.RepositoryLocked, 'the repository at /backup/usb is locked by another backup', {
        hint: 'Wait for the other backup to finish, then try again.',
        subject: '/backup/usb',
      });
    }
    if (method === 'removeSource' && p.id === 'crash') {
      throw new Error('SQLITE_CORRUPT at /home/alice/.config/mamori/state.db password=hunter2');
    }
    if (method === 'listJobs') return [];
    return { ok: true };
  }

  emitEvent(e: MamoriEvent): void {
    this.emit('event', e);
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawRequest {
  port: number;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body in pieces with chunked encoding (no Content-Length). */
  chunks?: Buffer[];
  /** When false, no Host header is sent at all. */
  setHost?: boolean;
}

export function raw(r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: `127.0.0.1:${r.port}`, ...r.headers };
    if (r.setHost === false) delete headers.Host;
    const req = request({ host: '127.0.0.1', port: r.port, path: r.path, method: r.method ?? 'GET', headers, setHost: false, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (r.chunks) {
      for (const c of r.chunks) req.write(c);
      req.end();
    } else {
      req.end(r.body);
    }
  });
}

/** POST /api/call with the token as Bearer (unless headers override). */
export async function apiCall(port: number, token: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse & { json: { ok: boolean; result?: unknown; error?: { code: string; message: string; hint?: string; subject?: string } } }> {
  const res = await raw({
    port,
    path: '/api/call',
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { ...res, json: JSON.parse(res.body) };
}

export const INDEX_HTML = '<!doctype html><html><head><title>Mamori</title><script type="module" src="/assets/app.js"></script></head><body><div id="root"></div></body></html>\n';

/** A temporary folder holding ui/ (a fake built UI) beside a secret file the server must never serve. */
export function makeUiDir(withIndex = true): { base: string; ui: string; cleanup(): void } {
  const base = mkdtempSync(join(tmpdir(), 'mamori-server-test-'));
  const ui = join(base, 'ui');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  if (withIndex) writeFileSync(join(ui, 'index.html'), INDEX_HTML);
  writeFileSync(join(ui, 'assets', 'app.js'), 'console.log("mamori ui");\n');
  writeFileSync(join(ui, 'assets', 'app.css'), 'body { margin: 0 }\n');
  writeFileSync(join(ui, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  writeFileSync(join(base, 'secret.txt'), 'TOP-SECRET-OUTSIDE-FILE\n');
  return { base, ui, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}
