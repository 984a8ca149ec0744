// The one error type the UI sees from either transport: an Error carrying the contract's ApiError
// (code, message, hint, subject), so screens show the engine's own words and suggested action the same
// way whether the answer came over IPC or HTTP. Failures of the transport itself get client-side codes
// (UNREACHABLE, UNAUTHORIZED, BAD_RESPONSE) that the UI translates.

import type { ApiError } from '../../../shared/api';

export const ClientErrorCode = {
  /** No answer at all: the server stopped, or the network between browser and server is down. */
  Unreachable: 'UNREACHABLE',
  /** The headless server refused the token (a page opened from an earlier run's address). */
  Unauthorized: 'UNAUTHORIZED',
  /** An answer that is not the contract's JSON. */
  BadResponse: 'BAD_RESPONSE',
} as const;

export class ApiCallError extends Error {
  readonly error: ApiError;
  constructor(error: ApiError) {
    super(error.message);
    this.name = 'ApiCallError';
    this.error = error;
  }
  get code(): string {
    return this.error.code;
  }
  get hint(): string | undefined {
    return this.error.hint;
  }
}

function isApiErrorShape(x: unknown): x is ApiError {
  return typeof x === 'object' && x !== null
    && typeof (x as ApiError).code === 'string'
    && typeof (x as ApiError).message === 'string';
}

/** Any thrown value as an ApiError, for display. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiCallError) return e.error;
  if (isApiErrorShape(e)) return e;
  if (e instanceof Error) return { code: 'INTERNAL', message: e.message };
  return { code: 'INTERNAL', message: String(e) };
}

/** Checks an answer against the ApiResponse shape; a malformed one becomes a BAD_RESPONSE error. */
export function unwrapResponse<T>(body: unknown): T {
  if (typeof body === 'object' && body !== null && 'ok' in body) {
    const r = body as { ok: unknown; result?: unknown; error?: unknown };
    if (r.ok === true && 'result' in r) return r.result as T;
    if (r.ok === false && isApiErrorShape(r.error)) throw new ApiCallError(r.error);
  }
  throw new ApiCallError({ code: ClientErrorCode.BadResponse, message: 'Mamori answered with something that is not a valid reply' });
}
