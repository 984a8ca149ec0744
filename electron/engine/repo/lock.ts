// Repository locks, compatible with restic 0.14, so Mamori and restic (or two Mamori processes on
// different machines sharing a NAS) never prune and back up the same repository at the same time.
//
// A lock is an unpacked repository file locks/<id> whose JSON is exactly what restic writes:
//   {"time":RFC3339Nano local,"exclusive":bool,"hostname":s,"username":s,"pid":n,"uid":n,"gid":n}
// (uid/gid omitted when 0, like Go's omitempty; no trailing newline, as json.Marshal).
// Protocol, as restic: look for conflicting locks, write ours, wait (200 ms) so that a competitor
// that wrote at the same moment is visible, look again; on conflict remove ours and fail. Both sides
// of a race may fail, never both succeed. An exclusive lock (prune, forget, unlock-like work)
// conflicts with every other lock; a shared one (backup, check, restore) only with exclusive ones.
// A lock is refreshed every 5 minutes by writing a new file and removing the old one, because
// others treat a lock older than 30 minutes as stale.
//
// Deliberate difference from restic 0.14: restic refuses to run beside a stale lock until someone
// runs `restic unlock`; we ignore stale locks (older than 30 min, or from this host with a dead PID)
// and remove them best-effort, which is what `restic unlock` would do. Scheduled backups then do not
// stall for days on a lock left by a crash.

import { hostname as osHostname, userInfo } from 'node:os';
import { ErrorCode, MamoriError, isMamoriError } from '../../../shared/errors';
import { systemClock, type Clock } from '../ports/clock';
import { BackendError } from '../storage';
import { goJSONString } from './gojson';
import { formatGoTime, parseGoTime } from './gotime';

/** What locking needs from a repository; Repository implements it. */
export interface LockStore {
  /** Encrypts the JSON, stores it as locks/<id> and returns the id. */
  saveLock(json: Buffer): Promise<string>;
  /** The decrypted JSON bytes. A lock removed meanwhile throws a not-found error (BackendError or MamoriError MissingObject). */
  loadLock(id: string): Promise<Buffer>;
  /** IDs of all lock files. Skipping empty files (interrupted uploads on non-atomic backends) is welcome but not required. */
  listLocks(): AsyncIterable<string>;
  removeLock(id: string): Promise<void>;
}

export interface Lock {
  /** The current lock file's id; it changes on every refresh. */
  readonly id: string;
  /** Writes a fresh lock file, then removes the previous one. Runs on its own every refreshMs. */
  refresh(): Promise<void>;
  /** Stops refreshing and removes the lock file. Safe to call twice. */
  release(): Promise<void>;
}

export interface LockOptions {
  exclusive: boolean;
  clock?: Clock;
  /** Defaults to os.hostname(); dead-PID detection only applies to locks carrying this same name. */
  hostname?: string;
  username?: string;
  pid?: number;
  /** Defaults to the process's uid/gid; 0 (and Windows, which has none) is omitted from the JSON as restic does. */
  uid?: number;
  gid?: number;
  /** Default 5 minutes, restic's refresh interval: well inside the 30 minutes after which a lock is stale. */
  refreshMs?: number;
  /** Default 200 ms, restic's wait between writing our lock and re-checking for competitors. */
  waitCheckMs?: number;
  /**
   * Called when a background refresh fails (the timer has no caller to throw to). If refreshes keep
   * failing for 30 minutes, other processes may treat this lock as stale.
   */
  onRefreshError?: (err: unknown) => void;
}

/** restic's StaleLockTimeout. */
export const STALE_LOCK_MS = 30 * 60 * 1000;
export const DEFAULT_REFRESH_MS = 5 * 60 * 1000;
export const DEFAULT_WAIT_CHECK_MS = 200;

/** A lock file's content, as restic's Lock struct. */
export interface LockInfo {
  time: string;
  exclusive: boolean;
  hostname: string;
  username: string;
  pid: number;
  uid?: number;
  gid?: number;
}

/** Byte-exact restic (Go json.Marshal) encoding of a lock. */
export function encodeLock(l: LockInfo): Buffer {
  let s = `{"time":${goJSONString(l.time)},"exclusive":${l.exclusive},"hostname":${goJSONString(l.hostname)},`
    + `"username":${goJSONString(l.username)},"pid":${l.pid}`;
  if (l.uid) s += `,"uid":${l.uid}`;
  if (l.gid) s += `,"gid":${l.gid}`;
  return Buffer.from(s + '}', 'utf8');
}

/** Parses a lock file's JSON; throws if it is not a lock (the caller decides what that means). */
export function decodeLock(json: Buffer): LockInfo & { timeMs: number } {
  const v = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || typeof v.time !== 'string') throw new Error('lock has no time');
  const timeMs = Number(parseGoTime(v.time) / 1_000_000n);
  return {
    time: v.time,
    timeMs,
    exclusive: v.exclusive === true,
    hostname: typeof v.hostname === 'string' ? v.hostname : '',
    username: typeof v.username === 'string' ? v.username : '',
    pid: typeof v.pid === 'number' ? v.pid : 0,
    uid: typeof v.uid === 'number' ? v.uid : undefined,
    gid: typeof v.gid === 'number' ? v.gid : undefined,
  };
}

function processAlive(pid: number): boolean {
  // Without a usable PID we cannot prove the holder dead: keep honouring the lock.
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function isNotFound(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof BackendError && e.kind === 'not-found') return true;
    if (isMamoriError(e, ErrorCode.MissingObject)) return true;
  }
  return false;
}

function formatAge(ms: number): string {
  if (ms < 0) return 'in the future (are the clocks of both computers right?)';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min ago`;
  return `${Math.floor(h / 24)} days ago`;
}

function formatLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function defaultUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Resolved {
  exclusive: boolean;
  clock: Clock;
  hostname: string;
  username: string;
  pid: number;
  uid: number;
  gid: number;
}

/**
 * Throws RepositoryLocked if another non-stale lock conflicts with ours. Stale locks are ignored and
 * removed best-effort; lock files that cannot be decoded are ignored, as restic 0.14 does (an empty
 * or half-written file must not block forever). A lock that cannot be *read* (drive gone, no
 * permission) is not ignored: we cannot know it is harmless.
 */
async function checkOthers(store: LockStore, me: Resolved, ownId: string | null): Promise<void> {
  const ids: string[] = [];
  for await (const id of store.listLocks()) if (id !== ownId) ids.push(id);
  for (const id of ids) {
    let json: Buffer;
    try {
      json = await store.loadLock(id);
    } catch (err) {
      if (isNotFound(err)) continue; // released or refreshed meanwhile
      if (isMamoriError(err, ErrorCode.CorruptObject)) continue;
      throw err;
    }
    let other: ReturnType<typeof decodeLock>;
    try {
      other = decodeLock(json);
    } catch {
      continue;
    }
    const age = me.clock.now().getTime() - other.timeMs;
    const stale = age > STALE_LOCK_MS || (other.hostname === me.hostname && !processAlive(other.pid));
    if (stale) {
      await store.removeLock(id).catch(() => undefined);
      continue;
    }
    if (!me.exclusive && !other.exclusive) continue;
    const how = other.exclusive ? 'exclusively ' : '';
    const holder = `PID ${other.pid} on ${other.hostname || 'an unknown host'}${other.username ? ` by ${other.username}` : ''}`;
    throw new MamoriError(
      ErrorCode.RepositoryLocked,
      `the repository is already locked ${how}by ${holder}, since ${formatLocal(other.timeMs)} (${formatAge(age)}): `
        + 'wait for that operation to finish, or if that process is gone run `mamori unlock` (or `restic unlock`)',
      {
        subject: `lock ${id}`,
        hint: 'Wait for the other backup, check or prune to finish and try again. If that process no longer runs, '
          + 'run `mamori unlock` (or `restic unlock`); the lock also stops counting 30 minutes after it was last refreshed.',
      },
    );
  }
}

class RepoLock implements Lock {
  private currentId: string;
  private released = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: LockStore,
    private readonly me: Resolved,
    id: string,
    refreshMs: number,
    onRefreshError: ((err: unknown) => void) | undefined,
  ) {
    this.currentId = id;
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => onRefreshError?.(err));
    }, refreshMs);
    // A forgotten lock must not keep the process alive; release() is the way out.
    this.timer.unref();
  }

  get id(): string {
    return this.currentId;
  }

  refresh(): Promise<void> {
    // Serialised so a timer tick and an explicit call never both replace the same old file.
    const run = this.chain.then(async () => {
      if (this.released) throw new MamoriError(ErrorCode.Internal, 'refresh of a released lock');
      const json = encodeLock(lockInfo(this.me));
      const newId = await this.store.saveLock(json);
      const oldId = this.currentId;
      this.currentId = newId;
      // The new file is in place first, so we are never without a lock; a missing old file means
      // someone ran unlock, which our fresh file now answers.
      await this.store.removeLock(oldId).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  release(): Promise<void> {
    clearInterval(this.timer);
    const run = this.chain.then(async () => {
      if (this.released) return;
      this.released = true;
      await this.store.removeLock(this.currentId).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function lockInfo(me: Resolved): LockInfo {
  return {
    time: formatGoTime(BigInt(me.clock.now().getTime()) * 1_000_000n),
    exclusive: me.exclusive,
    hostname: me.hostname,
    username: me.username,
    pid: me.pid,
    uid: me.uid,
    gid: me.gid,
  };
}

/** Takes a shared or exclusive lock, or throws MamoriError(RepositoryLocked) naming the holder. */
export async function acquireLock(store: LockStore, opts: LockOptions): Promise<Lock> {
  const me: Resolved = {
    exclusive: opts.exclusive,
    clock: opts.clock ?? systemClock,
    hostname: opts.hostname ?? osHostname(),
    username: opts.username ?? defaultUsername(),
    pid: opts.pid ?? process.pid,
    // Windows has no getuid; restic writes nothing there either. Negative ids cannot be Go uint32s.
    uid: Math.max(0, opts.uid ?? process.getuid?.() ?? 0),
    gid: Math.max(0, opts.gid ?? process.getgid?.() ?? 0),
  };
  // Checking first avoids writing a lock that would make a running competitor fail its own re-check.
  await checkOthers(store, me, null);
  const id = await store.saveLock(encodeLock(lockInfo(me)));
  try {
    await sleep(opts.waitCheckMs ?? DEFAULT_WAIT_CHECK_MS);
    await checkOthers(store, me, id);
  } catch (err) {
    await store.removeLock(id).catch(() => undefined);
    throw err;
  }
  return new RepoLock(store, me, id, opts.refreshMs ?? DEFAULT_REFRESH_MS, opts.onRefreshError);
}

/**
 * `unlock`: removes the locks whose holder is gone (older than 30 minutes, or on this host with a
 * dead PID), or every lock with removeAll (only when the user knows no other process is running).
 * Returns the IDs removed.
 */
export async function removeStaleLocks(store: LockStore, opts: { clock: Clock; hostname: string; removeAll?: boolean }): Promise<string[]> {
  const removed: string[] = [];
  for await (const id of store.listLocks()) {
    let stale = opts.removeAll === true;
    if (!stale) {
      try {
        const other = decodeLock(await store.loadLock(id));
        const age = opts.clock.now().getTime() - other.timeMs;
        stale = age > STALE_LOCK_MS || (other.hostname === opts.hostname && !processAlive(other.pid));
      } catch (err) {
        if (isNotFound(err)) continue;
        // An undecodable lock blocks nobody (it is ignored when locking), but unlock clears it.
        stale = true;
      }
    }
    if (stale) {
      await store.removeLock(id);
      removed.push(id);
    }
  }
  return removed;
}
