// FaultyBackend: a test tool that wraps a real backend and makes it misbehave on purpose, the way
// destinations do in the field: calls failing with a chosen error kind (by rule), a slow destination
// (delays), an unreachable server (calls that never answer), a full disk (failAfterBytes), a lost
// acknowledgement (the file is stored but the call reports 'transient') and an unplugged drive.
// It lives in the engine, not under tests/, so fan-out tests and benchmarks can build on it.
//
// Rule semantics: every rule counts the calls it matches (op, and type when given). A call fails
// with the first rule whose `after` matching calls have passed and whose `times` is not used up.
// Faults are injected before the wrapped call (nothing reaches the inner backend), except with
// `storeThenFail`, where the inner call runs first. Every call, failed or not, is recorded in
// `calls` once it settles, so tests can count attempts and uploads.

import { setMaxListeners } from 'node:events';
import { BackendError } from './backend';
import type { Backend, BackendErrorKind, FileInfo, FileType, Handle } from './backend';
import { abortableSleep } from './retry';
import type { BackendOp, SleepFn } from './retry';

export type { BackendOp } from './retry';

export interface FaultRule {
  /** Which calls the rule matches; 'any' matches every operation. */
  op: BackendOp | 'any';
  /** Only calls about this file type (handle operations and list); other calls never match. */
  type?: FileType;
  /** The kind of the injected BackendError. */
  kind: BackendErrorKind;
  /** Let this many matching calls succeed first. Default 0. */
  after?: number;
  /** Fail this many matching calls, then let them through. Default Infinity (fail forever). */
  times?: number;
  /** The injected error's message; by default one naming the call and saying it was injected. */
  message?: string;
  /**
   * Run the inner call, then fail anyway: a lost acknowledgement (for save: the file is stored,
   * the caller is told it failed). For list: all entries are yielded, then the error.
   */
  storeThenFail?: boolean;
  /** list only: yield this many entries, then fail (a connection dropped mid-listing). */
  failAfterItems?: number;
  /** The call never answers until close() or the signal aborts; then it fails with `kind`. */
  hang?: boolean;
}

export interface FaultyOptions {
  rules?: FaultRule[];
  /** Delay before each call: one value for all operations, or per operation (a slow destination). */
  delayMs?: number | Partial<Record<BackendOp, number>>;
  /** Every call hangs until close() or abort: an unreachable server. */
  hang?: boolean;
  /**
   * A full disk: once the bytes saved through this wrapper would exceed this, saves fail with
   * 'no-space' before anything reaches the inner backend. Removes do not give space back.
   */
  failAfterBytes?: number;
  /** Aborting it releases hanging calls and delays (they reject). */
  signal?: AbortSignal;
  /** Used for delayMs; default real timers. */
  sleep?: SleepFn;
}

export interface FaultCall {
  op: BackendOp;
  handle?: Handle;
  /** list's file type. */
  type?: FileType;
  /** save: the size given; load: the size returned. */
  bytes?: number;
  ok: boolean;
  /** The error's kind when the call failed. */
  kind?: BackendErrorKind;
  /** True when the failure was made up by this wrapper (rule, unplug, full disk, hang). */
  injected?: boolean;
}

interface RuleState {
  rule: FaultRule;
  seen: number;
  failed: number;
}

function fileLabel(h: Handle): string {
  return h.type === 'config' ? 'config' : `${h.type} ${h.name}`;
}

function label(op: BackendOp, h?: Handle, type?: FileType): string {
  if (h) return `${op} ${fileLabel(h)}`;
  return type ? `${op} ${type}` : op;
}

/** Marks errors this wrapper made up, so the call record can say so. */
const injectedErrors = new WeakSet<BackendError>();

export class FaultyBackend implements Backend {
  readonly inner: Backend;
  /** Every settled call, in the order they settled. */
  readonly calls: FaultCall[] = [];
  private rules: RuleState[] = [];
  private delayMs: number | Partial<Record<BackendOp, number>>;
  private hangAll: boolean;
  private failAfterBytes: number;
  /** Bytes of successful saves plus those of saves in flight (reserved so concurrent saves cannot overshoot). */
  private usedBytes = 0;
  private unplugged = false;
  private readonly saved: Handle[] = [];
  private readonly sleep: SleepFn;
  private readonly stop = new AbortController();
  private readonly userSignal?: AbortSignal;
  private readonly onUserAbort = (): void => this.stop.abort();

  constructor(inner: Backend, opts: FaultyOptions = {}) {
    this.inner = inner;
    // Every call in flight listens on it (a backup may have hundreds): not a leak.
    setMaxListeners(0, this.stop.signal);
    this.setRules(opts.rules ?? []);
    this.delayMs = opts.delayMs ?? 0;
    this.hangAll = opts.hang ?? false;
    this.failAfterBytes = opts.failAfterBytes ?? Infinity;
    this.sleep = opts.sleep ?? abortableSleep;
    this.userSignal = opts.signal;
    if (opts.signal?.aborted) this.stop.abort();
    else opts.signal?.addEventListener('abort', this.onUserAbort, { once: true });
  }

  get location(): string {
    return this.inner.location;
  }

  /** Replaces the rules; counting starts afresh. */
  setRules(rules: FaultRule[]): void {
    this.rules = rules.map((rule) => ({ rule: { ...rule }, seen: 0, failed: 0 }));
  }

  /** Changes delays, hanging or the disk size while running (e.g. "the user freed some space"). */
  configure(changes: Pick<FaultyOptions, 'delayMs' | 'hang' | 'failAfterBytes'>): void {
    if (changes.delayMs !== undefined) this.delayMs = changes.delayMs;
    if (changes.hang !== undefined) this.hangAll = changes.hang;
    if (changes.failAfterBytes !== undefined) this.failAfterBytes = changes.failAfterBytes;
  }

  /** From now on every call fails 'transient' the way a disconnected drive does, until replug(). */
  unplug(): void {
    this.unplugged = true;
  }

  replug(): void {
    this.unplugged = false;
  }

  /** Bytes saved through this wrapper so far (what failAfterBytes is compared with). */
  get savedBytes(): number {
    return this.usedBytes;
  }

  /**
   * Names of files of `type` that reached the inner backend through save, in order, repeats kept:
   * a name appearing twice means the same file was uploaded twice.
   */
  savedNames(type: FileType): string[] {
    return this.saved.filter((h) => h.type === type).map((h) => h.name);
  }

  create(): Promise<void> {
    return this.call('create', undefined, undefined, () => this.inner.create());
  }

  save(h: Handle, data: Buffer): Promise<void> {
    return this.call('save', h, h.type, async () => {
      if (this.usedBytes + data.length > this.failAfterBytes) {
        throw this.injected('no-space', `no space left on ${this.location} (simulated full disk while saving `
          + `${fileLabel(h)}, ${data.length} bytes): free space on the destination or choose another one`, h);
      }
      this.usedBytes += data.length;
      try {
        await this.inner.save(h, data);
      } catch (err) {
        this.usedBytes -= data.length;
        throw err;
      }
      this.saved.push({ type: h.type, name: h.name });
    }, data.length);
  }

  load(h: Handle, offset?: number, length?: number): Promise<Buffer> {
    return this.call('load', h, h.type, async (rec) => {
      const buf = await this.inner.load(h, offset, length);
      rec.bytes = buf.length;
      return buf;
    });
  }

  stat(h: Handle): Promise<FileInfo> {
    return this.call('stat', h, h.type, () => this.inner.stat(h));
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    const rec: FaultCall = { op: 'list', type, ok: false };
    let failed = false;
    try {
      const rule = await this.before('list', undefined, type);
      const failAt = rule ? (rule.failAfterItems ?? (rule.storeThenFail ? Infinity : 0)) : Infinity;
      let n = 0;
      for await (const info of this.inner.list(type)) {
        if (n >= failAt) break;
        // A drive pulled out mid-listing.
        if (this.unplugged) throw this.unpluggedError('list', undefined, type);
        yield info;
        n++;
      }
      if (rule) throw this.ruleError(rule, 'list', undefined, type);
    } catch (err) {
      failed = true;
      this.fillError(rec, err);
      throw err;
    } finally {
      // A caller that stops reading early ends the listing without a failure.
      if (!failed) rec.ok = true;
      this.calls.push(rec);
    }
  }

  remove(h: Handle): Promise<void> {
    return this.call('remove', h, h.type, () => this.inner.remove(h));
  }

  hasConfig(): Promise<boolean> {
    return this.call('hasConfig', undefined, undefined, () => this.inner.hasConfig());
  }

  writeAppFile(name: string, data: Buffer): Promise<void> {
    return this.call('writeAppFile', undefined, undefined, () => this.inner.writeAppFile(name, data), data.length);
  }

  readAppFile(name: string): Promise<Buffer | undefined> {
    return this.call('readAppFile', undefined, undefined, () => this.inner.readAppFile(name));
  }

  /** Releases hanging calls and delays (they reject), then closes the inner backend. */
  async close(): Promise<void> {
    this.userSignal?.removeEventListener('abort', this.onUserAbort);
    this.stop.abort();
    await this.inner.close();
  }

  private async call<T>(op: BackendOp, h: Handle | undefined, type: FileType | undefined, fn: (rec: FaultCall) => Promise<T>, bytes?: number): Promise<T> {
    const rec: FaultCall = h ? { op, handle: { type: h.type, name: h.name }, ok: false } : { op, ok: false };
    if (bytes !== undefined) rec.bytes = bytes;
    try {
      const rule = await this.before(op, h, type);
      const result = await fn(rec);
      if (rule) throw this.ruleError(rule, op, h, type);
      rec.ok = true;
      return result;
    } catch (err) {
      this.fillError(rec, err);
      throw err;
    } finally {
      this.calls.push(rec);
    }
  }

  /**
   * Everything that happens before the inner call: unplugged drive, delay, hang, rules. Throws an
   * injected fault, or returns the rule whose fault comes after the inner call (storeThenFail, and
   * list's mid-listing failures).
   */
  private async before(op: BackendOp, h: Handle | undefined, type: FileType | undefined): Promise<FaultRule | undefined> {
    if (this.unplugged) throw this.unpluggedError(op, h, type);
    const delay = typeof this.delayMs === 'number' ? this.delayMs : (this.delayMs[op] ?? 0);
    if (delay > 0) await this.wait(this.sleep(delay, this.stop.signal), op, h, type, 'transient');
    if (this.hangAll) await this.hang(op, h, type, 'transient');
    const rule = this.match(op, type);
    if (!rule) return undefined;
    if (rule.hang) await this.hang(op, h, type, rule.kind);
    const after = rule.storeThenFail || (op === 'list' && rule.failAfterItems !== undefined);
    if (!after) throw this.ruleError(rule, op, h, type);
    return rule;
  }

  /** The first rule that fires for this call; every matching rule counts the call. */
  private match(op: BackendOp, type: FileType | undefined): FaultRule | undefined {
    let fired: FaultRule | undefined;
    for (const st of this.rules) {
      const { rule } = st;
      if (rule.op !== 'any' && rule.op !== op) continue;
      if (rule.type !== undefined && rule.type !== type) continue;
      st.seen++;
      if (fired || st.seen <= (rule.after ?? 0) || st.failed >= (rule.times ?? Infinity)) continue;
      st.failed++;
      fired = rule;
    }
    return fired;
  }

  /** Never settles on its own: rejects once the wrapper is closed or its signal aborts. */
  private hang(op: BackendOp, h: Handle | undefined, type: FileType | undefined, kind: BackendErrorKind): Promise<never> {
    return this.wait(new Promise<never>(() => undefined), op, h, type, kind);
  }

  private wait<T>(p: Promise<T>, op: BackendOp, h: Handle | undefined, type: FileType | undefined, kind: BackendErrorKind): Promise<T> {
    const fail = (): BackendError => this.injected(kind, `no answer from ${this.location} (simulated unreachable or slow `
      + `destination during ${label(op, h, type)}); the wrapper was closed or cancelled while waiting`, h);
    const signal = this.stop.signal;
    if (signal.aborted) {
      p.catch(() => undefined);
      return Promise.reject(fail());
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(fail());
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

  private ruleError(rule: FaultRule, op: BackendOp, h: Handle | undefined, type: FileType | undefined): BackendError {
    const when = rule.storeThenFail ? ' after the call went through (lost acknowledgement)' : '';
    return this.injected(rule.kind, rule.message ?? `injected ${rule.kind} fault: ${label(op, h, type)} on ${this.location}${when}`, h);
  }

  private unpluggedError(op: BackendOp, h: Handle | undefined, type: FileType | undefined): BackendError {
    return this.injected('transient', `I/O error on ${this.location} (ENODEV, while ${label(op, h, type)}): the drive is not `
      + 'connected (simulated unplug); reconnect it and try again', h);
  }

  private injected(kind: BackendErrorKind, message: string, h?: Handle): BackendError {
    const err = new BackendError(kind, message, h);
    injectedErrors.add(err);
    return err;
  }

  private fillError(rec: FaultCall, err: unknown): void {
    rec.ok = false;
    if (err instanceof BackendError) {
      rec.kind = err.kind;
      rec.injected = injectedErrors.has(err);
    }
  }
}
