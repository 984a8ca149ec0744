// RetryBackend: wraps any Backend and retries operations that fail with a 'transient' BackendError
// (dropped connection, unplugged-then-replugged drive, server busy), with exponential backoff and
// jitter so that many destinations or processes failing together do not retry in lockstep.
//
// Backoff: the n-th retry waits cap(n) = min(maxDelayMs, baseDelayMs * 2^(n-1)), scaled by a random
// factor in [0.5, 1) ("equal jitter"): never more than the cap, never less than half of it, so waits
// still grow predictably while being spread out. Only 'transient' errors are retried; 'not-found',
// 'permission', 'no-space' and 'other' need the user or the caller, and waiting does not fix them.
//
// Two operations are not plainly repeatable:
// - save: the first attempt may have stored the file and only the acknowledgement got lost. The
//   retry then fails because the name exists. Repository files are content-addressed, so if stat
//   shows the file with the size we were saving, the save is done; otherwise the retry's own error
//   is surfaced unchanged. (A remove has no such check: "not found" after a lost acknowledgement
//   is indistinguishable from "never existed", so it surfaces as not-found and callers that only
//   want the file gone, like prune or lock release, treat not-found as done.)
// - list: it streams. A failure before the first entry restarts the listing; a failure after
//   entries were yielded is surfaced, because restarting would yield those entries twice.
//
// Cancellation (the `signal` option, or close()) stops waiting at once, both during a backoff pause
// and while an attempt is still waiting for an answer (an unreachable server may never answer).
// The abandoned attempt keeps running in the wrapped backend until that backend is closed.

import { setMaxListeners } from 'node:events';
import { BackendError } from './backend';
import type { Backend, FileInfo, FileType, Handle } from './backend';

export type BackendOp = 'create' | 'save' | 'load' | 'stat' | 'list' | 'remove' | 'hasConfig' | 'writeAppFile' | 'readAppFile';

export interface RetryInfo {
  op: BackendOp;
  handle?: Handle;
  /** The file type for list, which has no handle. */
  type?: FileType;
  /** The number of the attempt that just failed (1 for the first call). */
  attempt: number;
  /** How long the wrapper waits before the next attempt. */
  delayMs: number;
  error: BackendError;
}

export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryOptions {
  /** Total attempts, the first call included. Default 5. */
  attempts?: number;
  /** The cap of the first wait. Default 500 ms. */
  baseDelayMs?: number;
  /** No wait is longer than this. Default 30 s. */
  maxDelayMs?: number;
  /** Waits between attempts; should reject when the signal aborts (the wrapper stops waiting anyway). */
  sleep?: SleepFn;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  /** Called before each wait, e.g. to show "destination not answering, retrying in 4 s". */
  onRetry?: (info: RetryInfo) => void;
  /** Aborting it makes pending and future calls reject with RetryAbortedError. */
  signal?: AbortSignal;
}

/**
 * Thrown when a call was cancelled through the signal or by close(). It is a BackendError of kind
 * 'other' (so nothing retries it) named 'AbortError' with code 'ABORT_ERR', the way Node and the
 * CLI recognise cancellation.
 */
export class RetryAbortedError extends BackendError {
  readonly code = 'ABORT_ERR';
  constructor(message: string, handle?: Handle, options?: { cause?: unknown }) {
    super('other', message, handle, options);
    this.name = 'AbortError';
  }
}

/** A setTimeout that rejects with the signal's reason as soon as the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wait before retry number `retry` (1-based): equal jitter over a capped exponential. */
export function backoffDelay(retry: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(cap * (0.5 + 0.5 * r));
}

// Reasons given to the internal controller, to tell the two apart in messages.
const CLOSED = Symbol('closed');
const CANCELLED = Symbol('cancelled');

function isTransient(err: unknown): err is BackendError {
  return err instanceof BackendError && err.kind === 'transient' && !(err instanceof RetryAbortedError);
}

/** What a call is about, for onRetry and for messages. */
interface CallContext {
  op: BackendOp;
  handle?: Handle;
  /** list's file type. */
  type?: FileType;
  /** App file name, for writeAppFile/readAppFile. */
  appName?: string;
}

function describeCall(c: CallContext): string {
  const what = c.handle ? (c.handle.type === 'config' ? 'config' : `${c.handle.type} ${c.handle.name}`) : '';
  switch (c.op) {
    case 'create': return 'creating the repository';
    case 'save': return `saving ${what}`;
    case 'load': return `reading ${what}`;
    case 'stat': return `checking ${what}`;
    case 'list': return `listing ${c.type ?? ''} files`;
    case 'remove': return `removing ${what}`;
    case 'hasConfig': return 'checking for a repository';
    case 'writeAppFile': return `writing app/${c.appName ?? ''}`;
    case 'readAppFile': return `reading app/${c.appName ?? ''}`;
  }
}

function checkNumber(name: string, v: number, min: number): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min) throw new RangeError(`RetryBackend: ${name} must be a number >= ${min}, got ${String(v)}`);
  return v;
}

export class RetryBackend implements Backend {
  readonly inner: Backend;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: SleepFn;
  private readonly random: () => number;
  private readonly onRetry?: (info: RetryInfo) => void;
  /** Aborted by the caller's signal or by close(); every wait races against it. */
  private readonly stop = new AbortController();
  private readonly userSignal?: AbortSignal;
  private readonly onUserAbort = (): void => this.stop.abort(CANCELLED);

  constructor(inner: Backend, opts: RetryOptions = {}) {
    this.inner = inner;
    // Every call in flight listens on it (a backup may have hundreds): not a leak.
    setMaxListeners(0, this.stop.signal);
    const attempts = checkNumber('attempts', opts.attempts ?? 5, 1);
    if (!Number.isInteger(attempts)) throw new RangeError(`RetryBackend: attempts must be an integer, got ${attempts}`);
    this.attempts = attempts;
    this.baseDelayMs = checkNumber('baseDelayMs', opts.baseDelayMs ?? 500, 0);
    this.maxDelayMs = checkNumber('maxDelayMs', opts.maxDelayMs ?? 30_000, 0);
    this.sleep = opts.sleep ?? abortableSleep;
    this.random = opts.random ?? Math.random;
    this.onRetry = opts.onRetry;
    this.userSignal = opts.signal;
    if (opts.signal?.aborted) this.stop.abort(CANCELLED);
    else opts.signal?.addEventListener('abort', this.onUserAbort, { once: true });
  }

  get location(): string {
    return this.inner.location;
  }

  create(): Promise<void> {
    return this.run({ op: 'create' }, () => this.inner.create());
  }

  save(h: Handle, data: Buffer): Promise<void> {
    let hadTransient = false;
    return this.run({ op: 'save', handle: h }, async () => {
      try {
        await this.inner.save(h, data);
      } catch (err) {
        if (isTransient(err)) {
          hadTransient = true;
          throw err;
        }
        if (hadTransient && await this.alreadyStored(h, data.length)) return;
        throw err;
      }
    });
  }

  /**
   * After a lost acknowledgement: is the file there with the expected size? A transient stat
   * failure is thrown so the retry loop goes round again (save, then this check) instead of
   * reporting the save's "already exists" for a file we could not look at.
   */
  private async alreadyStored(h: Handle, size: number): Promise<boolean> {
    try {
      return (await this.inner.stat(h)).size === size;
    } catch (err) {
      if (isTransient(err)) throw err;
      return false;
    }
  }

  load(h: Handle, offset?: number, length?: number): Promise<Buffer> {
    return this.run({ op: 'load', handle: h }, () => this.inner.load(h, offset, length));
  }

  stat(h: Handle): Promise<FileInfo> {
    return this.run({ op: 'stat', handle: h }, () => this.inner.stat(h));
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    const ctx: CallContext = { op: 'list', type };
    for (let attempt = 1; ; attempt++) {
      this.throwIfStopped(ctx);
      let yielded = false;
      let abandoned = false;
      const it = this.inner.list(type)[Symbol.asyncIterator]();
      try {
        while (true) {
          let r: IteratorResult<FileInfo>;
          try {
            r = await this.race(it.next(), ctx);
          } catch (err) {
            // A cancelled next() may still be pending, and an async generator handles return()
            // only after it: waiting for that cleanup could take forever.
            if (err instanceof RetryAbortedError) abandoned = true;
            throw err;
          }
          if (r.done) return;
          yielded = true;
          yield r.value;
        }
      } catch (err) {
        if (yielded || !isTransient(err) || attempt >= this.attempts) throw err;
        await this.backoff(ctx, attempt, err);
      } finally {
        // Lets the inner listing release what it holds when our caller stops early.
        if (abandoned) void it.return?.()?.catch(() => undefined);
        else await it.return?.()?.catch(() => undefined);
      }
    }
  }

  remove(h: Handle): Promise<void> {
    return this.run({ op: 'remove', handle: h }, () => this.inner.remove(h));
  }

  hasConfig(): Promise<boolean> {
    return this.run({ op: 'hasConfig' }, () => this.inner.hasConfig());
  }

  writeAppFile(name: string, data: Buffer): Promise<void> {
    // Replacing an app file is idempotent, so a plain retry is safe.
    return this.run({ op: 'writeAppFile', appName: name }, () => this.inner.writeAppFile(name, data));
  }

  readAppFile(name: string): Promise<Buffer | undefined> {
    return this.run({ op: 'readAppFile', appName: name }, () => this.inner.readAppFile(name));
  }

  async close(): Promise<void> {
    this.userSignal?.removeEventListener('abort', this.onUserAbort);
    if (!this.stop.signal.aborted) this.stop.abort(CLOSED);
    await this.inner.close();
  }

  private async run<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.throwIfStopped(ctx);
      try {
        return await this.race(fn(), ctx);
      } catch (err) {
        if (!isTransient(err) || attempt >= this.attempts) throw err;
        await this.backoff(ctx, attempt, err);
      }
    }
  }

  private async backoff(ctx: CallContext, attempt: number, error: BackendError): Promise<void> {
    const delayMs = backoffDelay(attempt, this.baseDelayMs, this.maxDelayMs, this.random);
    this.onRetry?.({ op: ctx.op, handle: ctx.handle, type: ctx.type, attempt, delayMs, error });
    await this.race(this.sleep(delayMs, this.stop.signal), ctx, error);
  }

  private throwIfStopped(ctx: CallContext): void {
    if (this.stop.signal.aborted) throw this.stoppedError(ctx);
  }

  /** `p`, unless the wrapper is cancelled or closed first; then reject at once. */
  private race<T>(p: Promise<T>, ctx: CallContext, lastError?: BackendError): Promise<T> {
    const signal = this.stop.signal;
    if (signal.aborted) {
      p.catch(() => undefined);
      return Promise.reject(this.stoppedError(ctx, lastError));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(this.stoppedError(ctx, lastError));
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  private stoppedError(ctx: CallContext, lastError?: BackendError): RetryAbortedError {
    const why = this.stop.signal.reason === CLOSED ? `the connection to ${this.location} was closed` : 'cancelled';
    const during = lastError
      ? `while waiting to retry ${describeCall(ctx)} on ${this.location} (last error: ${lastError.message})`
      : `while ${describeCall(ctx)} on ${this.location}`;
    return new RetryAbortedError(`${why} ${during}`, ctx.handle, { cause: lastError });
  }
}
