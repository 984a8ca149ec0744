// Fan-out: one backup run writes to several destinations at once. The archiver reads, chunks and
// hashes each file once; every destination is its own Repository (its own key, its own packs), so
// blobs are compressed and encrypted per destination and nothing written to one can damage another.
//
// Failure isolation is the point of having several copies: a destination that fails (full, gone,
// unreachable) or stalls (no progress for `stallMs`) is dropped from the rest of the run and
// reported; the others go on. The run fails only when every destination has dropped out.
// All members must share one chunker polynomial (Mamori creates its destinations that way); a
// repository made with another polynomial needs a run of its own (see groupByPolynomial).

import { createHash } from 'node:crypto';
import { ErrorCode, MamoriError, isMamoriError } from '../../../shared/errors';
import type { BackupTarget } from '../backup/types';
import { encodeTree, mapBackendError, sortSnapshots } from '../repo';
import type { Repository, SaveBlobResult } from '../repo';
import type { BlobType, ID, Snapshot, SnapshotWithId, TreeNode } from '../repo/types';
import { BackendError } from '../storage';

export type MemberState = 'active' | 'failed' | 'stalled';

export interface FanOutMember {
  /** Stable identifier of the destination (state database ID, or the location for --repo runs). */
  readonly id: string;
  readonly repo: Repository;
  state: MemberState;
  /** Why the member dropped out of the run. */
  error?: MamoriError;
  /** Its snapshot, once written. */
  snapshotId?: ID;
  /** Its own newest snapshot of the same source, the new snapshot's parent there. */
  parent?: SnapshotWithId;
  snapshots?: SnapshotWithId[];
  /** Bytes this destination stored in this run (after dedup, compression, encryption). */
  bytesAdded: number;
}

export interface FanOutOptions {
  /** A destination whose write has not progressed for this long is dropped from the run. Default 5 minutes. */
  stallMs?: number;
  /** Called when a member drops out, so progress can show it at once. */
  onMemberDropped?: (m: FanOutMember) => void;
}

export const DEFAULT_STALL_MS = 5 * 60 * 1000;

function sha256hex(b: Buffer): ID {
  return createHash('sha256').update(b).digest('hex');
}

/** Turns anything a member threw into a MamoriError that names the destination. */
function memberError(m: FanOutMember, e: unknown): MamoriError {
  const mapped = mapBackendError(e, m.repo.location);
  if (isMamoriError(mapped)) return mapped;
  if (e instanceof BackendError) return new MamoriError(ErrorCode.Internal, e.message, { subject: m.repo.location });
  return new MamoriError(ErrorCode.Internal, `${m.repo.location}: ${(e as Error)?.message ?? String(e)}`, { subject: m.repo.location });
}

class Stalled extends Error {}

export class FanOut implements BackupTarget {
  readonly members: FanOutMember[];
  readonly config: { chunkerPolynomial: string };
  private readonly stallMs: number;

  constructor(repos: { id: string; repo: Repository }[], private readonly opts: FanOutOptions = {}) {
    if (repos.length === 0) throw new MamoriError(ErrorCode.InvalidRequest, 'no destination to back up to');
    const poly = repos[0].repo.config.chunkerPolynomial;
    for (const r of repos) {
      if (r.repo.config.chunkerPolynomial !== poly) {
        throw new MamoriError(ErrorCode.Internal, `${r.repo.location} uses another chunker polynomial; back it up in a separate run`, { subject: r.repo.location });
      }
    }
    this.members = repos.map((r) => ({ id: r.id, repo: r.repo, state: 'active', bytesAdded: 0 }));
    this.config = { chunkerPolynomial: poly };
    this.stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
  }

  get active(): FanOutMember[] {
    return this.members.filter((m) => m.state === 'active');
  }

  private drop(m: FanOutMember, e: unknown): void {
    if (m.state !== 'active') return;
    m.state = e instanceof Stalled ? 'stalled' : 'failed';
    m.error = e instanceof Stalled
      ? new MamoriError(ErrorCode.Transient, `${m.repo.location} made no progress for ${Math.round(this.stallMs / 1000)} s; it was left out of this run`, {
        subject: m.repo.location,
        hint: 'A slow or unreachable destination is caught up on the next run; check its connection.',
      })
      : memberError(m, e);
    // Its background writes may still be running; they end on their own, errors ignored.
    void m.repo.settle().catch(() => undefined);
    this.opts.onMemberDropped?.(m);
  }

  /** Throws when nobody is left to write to: the first member's error says why. */
  private ensureSomeoneLeft(): void {
    if (this.active.length > 0) return;
    const first = this.members.find((m) => m.error)?.error;
    throw first ?? new MamoriError(ErrorCode.Internal, 'every destination dropped out of the run');
  }

  /** Runs `fn` on every active member in parallel; a member that throws or stalls drops out. */
  private async each<T>(fn: (m: FanOutMember) => Promise<T>, stallGuard = true): Promise<Map<FanOutMember, T>> {
    const out = new Map<FanOutMember, T>();
    await Promise.all(this.active.map(async (m) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const work = fn(m);
        const value = stallGuard
          ? await Promise.race([
            work,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Stalled()), this.stallMs);
              timer.unref?.();
            }),
          ])
          : await work;
        out.set(m, value);
      } catch (e) {
        this.drop(m, e);
      } finally {
        if (timer) clearTimeout(timer);
      }
    }));
    this.ensureSomeoneLeft();
    return out;
  }

  async loadIndex(): Promise<void> {
    await this.each((m) => m.repo.loadIndex(), false);
  }

  /** Adopts packs that earlier interrupted runs left unindexed, on every member. */
  async adoptUnindexedPacks(): Promise<{ packs: number; blobs: number }> {
    const r = await this.each((m) => m.repo.adoptUnindexedPacks(), false);
    let packs = 0;
    let blobs = 0;
    for (const v of r.values()) {
      packs += v.packs;
      blobs += v.blobs;
    }
    return { packs, blobs };
  }

  /** Every member's snapshots, merged; one snapshot held by several members is listed once. */
  async listSnapshots(): Promise<SnapshotWithId[]> {
    const lists = await this.each(async (m) => {
      m.snapshots = await m.repo.listSnapshots();
      return m.snapshots;
    }, false);
    const byId = new Map<ID, SnapshotWithId>();
    for (const l of lists.values()) for (const s of l) byId.set(s.id, s);
    return sortSnapshots([...byId.values()]);
  }

  hasBlob(type: BlobType, id: ID): boolean {
    return this.active.every((m) => m.repo.hasBlob(type, id));
  }

  async saveBlob(type: BlobType, plaintext: Buffer, knownId?: ID): Promise<SaveBlobResult> {
    const id = knownId ?? sha256hex(plaintext);
    const missing = this.active.filter((m) => !m.repo.hasBlob(type, id));
    if (missing.length === 0) return { id, known: true, storedSize: 0 };
    let storedSize = 0;
    let anyNew = false;
    await Promise.all(missing.map(async (m) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const r = await Promise.race([
          m.repo.saveBlob(type, plaintext, id),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Stalled()), this.stallMs);
            timer.unref?.();
          }),
        ]);
        if (!r.known) {
          anyNew = true;
          m.bytesAdded += r.storedSize;
          storedSize = Math.max(storedSize, r.storedSize);
        }
      } catch (e) {
        this.drop(m, e);
      } finally {
        if (timer) clearTimeout(timer);
      }
    }));
    this.ensureSomeoneLeft();
    return { id, known: !anyNew, storedSize };
  }

  /** Reads a parent tree from whichever member has it (a damaged copy falls through to the next). */
  async loadTree(id: ID): Promise<TreeNode[]> {
    const holders = this.members.filter((m) => m.state === 'active' && m.repo.index.has('tree', id));
    let last: unknown = new MamoriError(ErrorCode.MissingObject, `tree ${id} is on no destination`, { subject: `tree ${id}` });
    for (const m of holders) {
      try {
        return await m.repo.loadTree(id);
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  async saveTree(nodes: TreeNode[]): Promise<ID> {
    return (await this.saveBlob('tree', encodeTree(nodes))).id;
  }

  async settle(): Promise<void> {
    await Promise.all(this.members.map((m) => m.repo.settle().catch(() => undefined)));
  }

  async flush(): Promise<void> {
    await this.each((m) => m.repo.flush());
  }

  /**
   * Writes the snapshot to every member still in the run, each with its own parent (members may
   * have missed earlier runs). Returns the first member's snapshot ID; each member keeps its own.
   */
  async saveSnapshot(sn: Snapshot): Promise<ID> {
    const saved = await this.each(async (m) => {
      m.snapshots ??= await m.repo.listSnapshots();
      const parent = newestMatching(m.snapshots, sn);
      m.parent = parent;
      const own: Snapshot = { ...sn };
      if (parent) own.parent = parent.id;
      else delete own.parent;
      m.snapshotId = await m.repo.saveSnapshot(own);
      return m.snapshotId;
    });
    return [...saved.values()][0];
  }
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

function newestMatching(list: SnapshotWithId[], sn: Snapshot): SnapshotWithId | undefined {
  const m = list.filter((s) => s.hostname === sn.hostname && sameSet(s.paths, sn.paths));
  return m[m.length - 1];
}

/** Groups repositories by chunker polynomial: each group can share one read of the source. */
export function groupByPolynomial<T extends { repo: Repository }>(items: T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = it.repo.config.chunkerPolynomial;
    const g = groups.get(k);
    if (g) g.push(it);
    else groups.set(k, [it]);
  }
  return [...groups.values()];
}
