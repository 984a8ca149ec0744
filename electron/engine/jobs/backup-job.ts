// One backup job: a source backed up to all of its destinations. Each destination is opened and
// locked on its own; those that cannot be reached are reported as pending and never hold up the
// others. Destinations sharing a chunker polynomial share one read of the source (FanOut);
// a repository restic made with another polynomial gets a run of its own.
// Destinations that drop out with a transient error (unreachable, stalled) are retried after a
// back-off, re-reading only what they lack; the outcome of each destination is returned so the
// caller can record it in the job history.

import { ErrorCode, MamoriError, isMamoriError } from '../../../shared/errors';
import { hostname as osHostname } from 'node:os';
import { backup } from '../backup';
import { normalizeTargets } from '../backup/archiver';
import type { BackupProgress, BackupResult, SourceError } from '../backup/types';
import { FanOut, groupByPolynomial } from '../fanout/fanout';
import type { FanOutMember } from '../fanout/fanout';
import type { Clock } from '../ports/clock';
import type { Lock, Repository } from '../repo';
import type { ID } from '../repo/types';

export interface JobDestination {
  readonly id: string;
  /** A human name for messages ("USB drive"), never a secret. */
  readonly name: string;
  /** Opens (and, for a fresh destination, does not create) the repository; throws when unreachable. */
  open(): Promise<Repository>;
  /** Called when the job is done with the repository (close the backend). */
  close?(repo: Repository): Promise<void>;
}

export type DestinationStatus = 'ok' | 'failed' | 'pending';

export interface DestinationOutcome {
  destinationId: string;
  name: string;
  /** ok: a snapshot was written; pending: unreachable or too slow, try again later; failed: needs the user. */
  status: DestinationStatus;
  snapshotId?: ID;
  bytesAdded: number;
  /** Packs earlier interrupted runs had left unindexed, now adopted instead of uploaded again. */
  adoptedPacks: number;
  error?: { code: string; message: string; hint?: string };
  attempts: number;
}

export interface BackupJobProgress extends BackupProgress {
  /** Destinations still being written in the current pass. */
  destinations: { id: string; name: string; state: 'active' | 'dropped' | 'done' }[];
  attempt: number;
}

export interface BackupJobOptions {
  paths: string[];
  tags?: string[];
  hostname?: string;
  clock?: Clock;
  signal?: AbortSignal;
  onProgress?: (p: BackupJobProgress) => void;
  /** Called when a destination drops out or finishes, as it happens. */
  onDestination?: (o: DestinationOutcome) => void;
  /** Extra passes for destinations that dropped out with a transient error. Default 2. */
  retries?: number;
  /** Back-off before retry n (1-based). Default 30 s, 2 min. */
  retryDelayMs?: (attempt: number) => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  stallMs?: number;
  /** Look for packs that earlier interrupted runs left unindexed. Default true. */
  adoptUnindexedPacks?: boolean;
}

export interface BackupJobResult {
  destinations: DestinationOutcome[];
  /** The source side of the run: files that could not be read, counts. From the last pass. */
  source?: Pick<BackupResult, 'filesNew' | 'filesChanged' | 'filesUnmodified' | 'dirs' | 'bytesRead'>;
  sourceErrors: SourceError[];
}

const DEFAULT_DELAYS = [30_000, 120_000];

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new MamoriError(ErrorCode.InvalidRequest, 'backup cancelled'));
    }, { once: true });
  });
}

function describe(e: unknown): { code: string; message: string; hint?: string } {
  if (isMamoriError(e)) return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  return { code: ErrorCode.Internal, message: (e as Error)?.message ?? String(e) };
}

/**
 * Errors worth waiting out: the destination may come back (network, unplugged drive, slowness).
 * A known destination that shows no repository at all is an unplugged drive (its mount point is an
 * empty folder) or an unmounted share, not a reason to give up on it.
 */
function isTransient(e: unknown): boolean {
  return isMamoriError(e) && ([ErrorCode.Transient, ErrorCode.RepositoryMissing, ErrorCode.RepositoryLocked, ErrorCode.NotARepository] as string[]).includes(e.code);
}

interface Opened {
  dest: JobDestination;
  repo: Repository;
  lock: Lock;
}

export async function runBackupJob(destinations: JobDestination[], opts: BackupJobOptions): Promise<BackupJobResult> {
  if (destinations.length === 0) {
    throw new MamoriError(ErrorCode.InvalidRequest, 'this source has no destination', { hint: 'Add a destination first (mamori destination add).' });
  }
  const outcomes = new Map<string, DestinationOutcome>();
  for (const d of destinations) {
    outcomes.set(d.id, { destinationId: d.id, name: d.name, status: 'pending', bytesAdded: 0, adoptedPacks: 0, attempts: 0 });
  }
  const retries = opts.retries ?? 2;
  const delay = opts.retryDelayMs ?? ((n: number) => DEFAULT_DELAYS[Math.min(n - 1, DEFAULT_DELAYS.length - 1)]);
  const sleep = opts.sleep ?? defaultSleep;
  let last: BackupJobResult['source'];
  let sourceErrors: SourceError[] = [];
  /** A source-side failure (e.g. the source folder vanished) ends the job: retrying cannot help. */
  let fatal: unknown;

  let todo = destinations;
  const absent = new Set<string>();
  for (let attempt = 1; attempt <= 1 + retries && todo.length > 0; attempt++) {
    if (attempt > 1) await sleep(delay(attempt - 1), opts.signal);
    const pass = await runPass(todo, attempt, opts, outcomes, absent);
    if (pass.result) {
      last = {
        filesNew: pass.result.filesNew,
        filesChanged: pass.result.filesChanged,
        filesUnmodified: pass.result.filesUnmodified,
        dirs: pass.result.dirs,
        bytesRead: pass.result.bytesRead,
      };
      sourceErrors = pass.result.errors;
    }
    if (pass.fatal) {
      fatal = pass.fatal;
      break;
    }
    // A destination that is simply not there (drive unplugged, share not mounted) waits for its
    // return rather than for a timer; one that dropped out mid-run (network) is tried again.
    todo = todo.filter((d) => outcomes.get(d.id)!.status === 'pending' && !absent.has(d.id));
    if (opts.signal?.aborted) break;
  }
  if (fatal) throw fatal;
  return { destinations: destinations.map((d) => outcomes.get(d.id)!), source: last, sourceErrors };
}

async function runPass(
  todo: JobDestination[],
  attempt: number,
  opts: BackupJobOptions,
  outcomes: Map<string, DestinationOutcome>,
  absent: Set<string>,
): Promise<{ result?: BackupResult; fatal?: unknown }> {
  const settle = (id: string, patch: Partial<DestinationOutcome>): void => {
    const o = outcomes.get(id)!;
    Object.assign(o, patch, { attempts: attempt });
    if (o.status !== 'pending' || patch.error) opts.onDestination?.({ ...o });
  };

  // Open and lock every destination in parallel; one that cannot be reached waits for a later pass.
  const opened: Opened[] = [];
  await Promise.all(todo.map(async (dest) => {
    let repo: Repository | undefined;
    try {
      repo = await dest.open();
      const lock = await repo.lock(false);
      opened.push({ dest, repo, lock });
    } catch (e) {
      if (repo) await dest.close?.(repo).catch(() => undefined);
      if (isMamoriError(e) && (e.code === ErrorCode.NotARepository || e.code === ErrorCode.RepositoryMissing)) absent.add(dest.id);
      settle(dest.id, { status: isTransient(e) ? 'pending' : 'failed', error: describe(e) });
    }
  }));
  // Same order as given, so progress and results read predictably.
  opened.sort((a, b) => todo.indexOf(a.dest) - todo.indexOf(b.dest));

  let lastResult: BackupResult | undefined;
  let fatal: unknown;
  try {
    for (const group of groupByPolynomial(opened)) {
      const fan = new FanOut(group.map((o) => ({ id: o.dest.id, repo: o.repo })), {
        ...(opts.stallMs !== undefined ? { stallMs: opts.stallMs } : {}),
        onMemberDropped: (m) => settle(m.id, { status: dropStatus(m), error: describe(m.error) }),
      });
      const names = new Map(group.map((o) => [o.dest.id, o.dest.name]));
      const report = (p: BackupProgress): void => {
        opts.onProgress?.({
          ...p,
          attempt,
          destinations: fan.members.map((m) => ({ id: m.id, name: names.get(m.id) ?? m.id, state: m.state === 'active' ? 'active' : 'dropped' })),
        });
      };
      try {
        await fan.loadIndex();
        if (opts.adoptUnindexedPacks !== false) {
          const perMember = await Promise.all(fan.active.map(async (m) => ({ m, r: await m.repo.adoptUnindexedPacks().catch(() => ({ packs: 0, blobs: 0 })) })));
          for (const { m, r } of perMember) outcomes.get(m.id)!.adoptedPacks += r.packs;
        }
        // Each member's own snapshot list gives it its own parent; the newest across all of them
        // drives change detection.
        const all = await fan.listSnapshots();
        const targets = normalizeTargets(opts.paths);
        const host = opts.hostname ?? osHostname();
        const parent = all.filter((s) => s.hostname === host && sameSet(s.paths, targets)).pop() ?? null;
        lastResult = await backup(fan, {
          paths: opts.paths,
          parent,
          ...(opts.tags ? { tags: opts.tags } : {}),
          ...(opts.hostname ? { hostname: opts.hostname } : {}),
          ...(opts.clock ? { clock: opts.clock } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
          onProgress: report,
        });
        for (const m of fan.members) {
          if (m.state === 'active' && m.snapshotId) {
            settle(m.id, { status: 'ok', snapshotId: m.snapshotId, bytesAdded: outcomes.get(m.id)!.bytesAdded + m.bytesAdded, error: undefined });
          }
        }
      } catch (e) {
        await fan.settle();
        // Every member dropped out: their own errors are already recorded. Anything else (the source
        // vanished, cancelled) is the job's failure, not a destination's.
        const everyoneDropped = fan.members.every((m) => m.state !== 'active');
        if (!everyoneDropped) {
          fatal = e;
          for (const m of fan.members) if (m.state === 'active') settle(m.id, { status: 'pending', error: describe(e) });
          break;
        }
      }
    }
  } finally {
    await Promise.all(opened.map(async (o) => {
      await o.repo.settle().catch(() => undefined);
      await o.lock.release().catch(() => undefined);
      await o.dest.close?.(o.repo).catch(() => undefined);
    }));
  }
  return { result: lastResult, fatal };
}

function dropStatus(m: FanOutMember): DestinationStatus {
  if (m.state === 'stalled') return 'pending';
  return m.error && isTransient(m.error) ? 'pending' : 'failed';
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
