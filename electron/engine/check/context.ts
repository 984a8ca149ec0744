// The state one check run shares between its phases. Besides collecting problems it remembers which
// stored copies of blobs are known bad, because "damaged" is not "lost": a blob stored twice (legal,
// see repo-duplicates) survives one bad copy, and only lost blobs make files unrestorable.
import type { BlobType, ID, PackedBlob, Repository, SnapshotWithId } from '../repo';
import type { CheckOptions, CheckProblem, CheckProgress } from './types';

export interface BlobRef {
  type: BlobType;
  id: ID;
}

/** What a problem puts at risk, resolved into lost blobs only once every phase has run. */
export type ProblemScope = { pack: ID } | { blobs: BlobRef[] } | null;

export class CheckRun {
  readonly errors: CheckProblem[] = [];
  readonly hints: string[] = [];
  /** Scope of each error, for the closing sentence that says whether files are affected. */
  readonly scopes = new Map<CheckProblem, ProblemScope>();
  /** Index entries per pack, deduplicated: an obsolete index may list the same pack again. */
  readonly packs = new Map<ID, PackedBlob[]>();
  /** Packs in storage that no index lists; their size, for the hint. */
  readonly unindexedPacks = new Map<ID, number>();
  readonly missingPacks = new Set<ID>();
  /** Packs whose size differs from what the index requires (already reported: read-data stays quiet about the consequences). */
  readonly resizedPacks = new Set<ID>();
  /** Trees missing from the index or failing to load or decode. */
  readonly badTrees = new Set<ID>();
  /** Trees holding a node restic's check rejects (file without content, dir without subtree). */
  readonly invalidTrees = new Set<ID>();
  snapshots: SnapshotWithId[] = [];
  treesChecked = 0;
  bytesRead = 0;
  /** Bad stored copies, as `${pack}@${offset}`. */
  private readonly badCopies = new Set<string>();

  constructor(
    readonly repo: Repository,
    readonly opts: CheckOptions,
  ) {}

  progress(phase: CheckProgress['phase'], done: number, total: number): void {
    this.opts.onProgress?.({ phase, done, total });
  }

  throwIfAborted(): void {
    this.opts.signal?.throwIfAborted();
  }

  error(p: CheckProblem, scope: ProblemScope = null): void {
    this.errors.push(p);
    this.scopes.set(p, scope);
  }

  markBadCopy(b: { pack: ID; offset: number }): void {
    this.badCopies.add(`${b.pack}@${b.offset}`);
  }

  isCopyBad(b: { pack: ID; offset: number }): boolean {
    return this.missingPacks.has(b.pack) || this.badCopies.has(`${b.pack}@${b.offset}`);
  }

  /** True when no intact copy is known: not indexed at all, or every indexed copy is bad. */
  isLost(type: BlobType, id: ID): boolean {
    if (type === 'tree' && this.badTrees.has(id)) return true;
    return this.repo.index.lookup(type, id).every((b) => this.isCopyBad(b));
  }

  /** Whether anything was found that can make a file unrestorable, i.e. whether to map the damage. */
  get hasDamage(): boolean {
    return this.missingPacks.size > 0 || this.badCopies.size > 0 || this.badTrees.size > 0 || this.invalidTrees.size > 0 || this.errors.some((e) => e.kind === 'blob-missing');
  }
}

/** Absolute path of a child inside a snapshot. Non-UTF-8 bytes show as U+FFFD, as restic ls prints them. */
export function childPath(parent: string, name: Buffer): string {
  return (parent === '/' ? '/' : parent + '/') + name.toString('utf8');
}

export function short(id: ID): string {
  return id.slice(0, 8);
}

/** "1 data blob", "2 tree blobs", "1 data blob and 3 tree blobs". */
export function describeBlobs(data: number, trees: number): string {
  const parts: string[] = [];
  if (data > 0 || trees === 0) parts.push(plural(data, 'data blob'));
  if (trees > 0) parts.push(plural(trees, 'tree blob'));
  return parts.join(' and ');
}

export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}
