// Serves the built UI (index.html + assets) from one folder, and nothing outside it.
//
// A request path is checked segment by segment after percent-decoding (so "%2e%2e", "..%2f" and
// "%5c" cannot smuggle a parent step or a separator past the check), hidden names are refused, and
// the file finally found is resolved with realpath and must still lie inside the folder's own
// realpath: a symlink in the folder that points outside is treated as absent.
// Unknown route-like paths (last segment without a dot) get index.html so the UI's client-side
// routes survive a reload; a missing asset (with an extension) gets a plain 404 instead of HTML
// that the browser would then fail to run as a script.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
};

export function contentType(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export type PathCheck = { ok: true; segments: string[] } | { ok: false; reason: string };

/** Splits a URL pathname into safe, decoded file-name segments, or says why it cannot be one. */
export function safeSegments(pathname: string): PathCheck {
  const out: string[] = [];
  for (const raw of pathname.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { ok: false, reason: 'the path is not valid percent-encoding' };
    }
    if (seg === '.' || seg === '..') return { ok: false, reason: 'the path steps out of its folder' };
    // "/" or "\" from %2f / %5c, NUL, and ":" (Windows drive letters and alternate data streams).
    if (/[/\\\0:]/.test(seg)) return { ok: false, reason: 'the path holds a character not allowed in a file name' };
    out.push(seg);
  }
  return { ok: true, segments: out };
}

/** The real path of a regular file under root, or undefined if it is absent, not a file, or escapes root. */
export async function resolveInside(root: string, segments: string[]): Promise<{ file: string; size: number } | undefined> {
  if (segments.some((s) => s.startsWith('.'))) return undefined;
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(join(realRoot, ...segments));
  } catch {
    return undefined;
  }
  const rel = relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  try {
    const st = await stat(real);
    return st.isFile() ? { file: real, size: st.size } : undefined;
  } catch {
    return undefined;
  }
}

export interface StaticOptions {
  root: string;
  /** Extra headers for every response (security headers). */
  headers: Record<string, string>;
  /** Told to the user when root has no index.html. */
  buildHint: string;
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string>, head: boolean): void {
  const body = Buffer.from(text + '\n', 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(head ? undefined : body);
}

async function sendFile(res: ServerResponse, found: { file: string; size: number }, cache: string, headers: Record<string, string>, head: boolean): Promise<void> {
  res.writeHead(200, { ...headers, 'Content-Type': contentType(found.file), 'Content-Length': found.size, 'Cache-Control': cache });
  if (head) {
    res.end();
    return;
  }
  try {
    await pipeline(createReadStream(found.file), res);
  } catch {
    // The client went away or the file vanished mid-read: the response is already committed.
    res.destroy();
  }
}

/** Answers a GET or HEAD for a non-API path. */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, o: StaticOptions): Promise<void> {
  const head = req.method === 'HEAD';
  const check = safeSegments(pathname);
  if (!check.ok) {
    plain(res, 400, `Bad request: ${check.reason}.`, o.headers, head);
    return;
  }
  const root = resolve(o.root);
  const segs = check.segments;
  const isIndex = segs.length === 0 || (segs.length === 1 && segs[0] === 'index.html');
  if (!isIndex) {
    const found = await resolveInside(root, segs);
    if (found) {
      await sendFile(res, found, 'no-cache', o.headers, head);
      return;
    }
    const last = segs[segs.length - 1];
    if (last.includes('.')) {
      plain(res, 404, `Not found: ${pathname}`, o.headers, head);
      return;
    }
  }
  const index = await resolveInside(root, ['index.html']);
  if (!index) {
    plain(res, 503, `The Mamori user interface is not built yet (no index.html in ${root}).\n${o.buildHint}`, o.headers, head);
    return;
  }
  // The page must never be cached: it is only served with a valid token, and a cached copy would
  // outlive the run whose token it was loaded with.
  await sendFile(res, index, 'no-store', o.headers, head);
}
