// Who may talk to the headless server, and the headers every answer carries.
//
// The server listens on 127.0.0.1, but any local process and any web page the user visits can reach
// that address, so being local proves nothing. Three checks stand in for a login:
//   - a random per-run token: `?token=` on the printed URL becomes an HttpOnly, SameSite=Strict
//     cookie; API clients may send `Authorization: Bearer`. Compared in constant time.
//   - the Host header must name this server (127.0.0.1:PORT or localhost:PORT): a DNS-rebinding page
//     reaches us under its own host name and is refused.
//   - an Origin header, when sent, must be this server's own; so must Sec-Fetch-Site for anything but
//     a top-level navigation. SameSite ignores ports, so a page served on localhost:OTHER is
//     "same-site" and would get the cookie: the Origin check is what stops it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, MamoriError } from '../../../shared/errors';

export const COOKIE_NAME = 'mamori_token';

/** 32 random bytes, base64url: safe in a URL, a cookie and a header without escaping. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A token given by the caller must be as safe to carry as a generated one. */
export function checkTokenShape(token: string): void {
  if (!/^[A-Za-z0-9_-]{16,256}$/.test(token)) {
    throw new MamoriError(ErrorCode.InvalidRequest, 'the server token must be 16 to 256 characters from A-Z, a-z, 0-9, "-" and "_"');
  }
}

/** Constant-time comparison: hashing first gives equal lengths, so not even the length leaks. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Every value of cookie `name` (a stale cookie from an earlier run may sit beside the current one). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    out.push(v);
  }
  return out;
}

export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '');
  return m ? m[1] : undefined;
}

/** True when the cookie or the Authorization header carries the token. */
export function hasValidCredential(headers: IncomingHttpHeaders, token: string): boolean {
  const candidates = [...cookieValues(headers.cookie, COOKIE_NAME)];
  const bearer = bearerToken(headers);
  if (bearer !== undefined) candidates.push(bearer);
  let ok = false;
  // Check every candidate (no early exit) so timing says nothing about which one matched.
  for (const c of candidates) if (tokensEqual(c, token)) ok = true;
  return ok;
}

export function cookieHeader(token: string): string {
  // No Secure flag: the server speaks plain HTTP on the loopback interface, where browsers treat
  // http://127.0.0.1 as a secure context anyway.
  return `${COOKIE_NAME}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

function ownHosts(port: number): string[] {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (port === 80) hosts.push('127.0.0.1', 'localhost');
  return hosts;
}

/**
 * Why a request must be refused with 403 (wrong Host, foreign Origin, cross-site fetch), or
 * undefined when it comes from this server's own pages or a non-browser client.
 */
export function foreignRequest(headers: IncomingHttpHeaders, port: number): string | undefined {
  const host = headers.host?.toLowerCase();
  if (!host || !ownHosts(port).includes(host)) return 'the Host header does not name this server';
  const origin = headers.origin;
  if (origin !== undefined) {
    const own = ownHosts(port).map((h) => `http://${h}`);
    if (!own.includes(origin.toLowerCase())) return 'the request comes from another site (Origin header)';
  }
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none' && headers['sec-fetch-mode'] !== 'navigate') {
    return 'the request comes from another site (Sec-Fetch-Site header)';
  }
  return undefined;
}

/** Headers on every response, pages and API answers alike. */
export function securityHeaders(port: number): Record<string, string> {
  const ws = ownHosts(port).filter((h) => h.includes(':')).map((h) => `ws://${h}`).join(' ');
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      `connect-src 'self' ${ws}`,
      "img-src 'self' data:",
      "style-src 'self' 'unsafe-inline'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}
