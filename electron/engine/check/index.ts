// Repository check, matching restic 0.14's `check` (and `check --read-data` with opts.readData):
//
//   1. structure: indexes load; every indexed pack exists with exactly the size its entries require
//      (packs no index lists are only a hint: prune deletes them); every snapshot loads; every tree
//      reachable from a snapshot loads and decodes, file content is indexed, folders have subtrees.
//   2. read-data: every indexed pack is downloaded and verified (hash, header == index, every blob).
//   3. affected: when anything is lost, the damage is mapped to snapshots and the paths inside them,
//      and each problem ends with what it means for the user's files and what to do.
//
// The verdict follows restic's: anything restic's check reports as an error is an error here, even
// when no snapshot needs the lost data (repo-unused-data-missing), because the repository is not
// what its index says; the message then says that no file is affected.
import { checkIndex, checkPacks, checkSnapshots, checkTrees, unindexedPackHints } from './structure';
import { readAllData } from './read-data';
import { blobKey, findAffected } from './affected';
import { CheckRun, plural, type BlobRef, type ProblemScope } from './context';
import type { Repository } from '../repo';
import type { AffectedSnapshot, CheckOptions, CheckProblem, CheckResult } from './types';

export type { AffectedSnapshot, CheckOptions, CheckProblem, CheckProblemKind, CheckProgress, CheckResult } from './types';

/**
 * Checks a repository opened with Repository.open. Reads only, takes no lock (the caller decides:
 * restic takes an exclusive one so a concurrent prune cannot make packs vanish mid-check).
 * Loads the index itself, so it may be given a repository whose index is already loaded.
 * Throws only when the check cannot run (destination unreachable, aborted through opts.signal);
 * damage is reported in the result.
 */
export async function checkRepository(repo: Repository, opts: CheckOptions = {}): Promise<CheckResult> {
  const run = new CheckRun(repo, opts);
  run.throwIfAborted();
  await checkIndex(run);
  run.throwIfAborted();
  await checkPacks(run);
  run.throwIfAborted();
  await checkSnapshots(run);
  run.throwIfAborted();
  await checkTrees(run);
  unindexedPackHints(run);
  if (opts.readData) {
    run.throwIfAborted();
    await readAllData(run);
  }

  let affected: AffectedSnapshot[] = [];
  let neededBy = new Map<string, Set<string>>();
  if (run.hasDamage) {
    run.throwIfAborted();
    ({ affected, neededBy } = await findAffected(run));
  }
  for (const p of run.errors) p.message += consequence(run, p, run.scopes.get(p) ?? null, neededBy);

  return {
    ok: run.errors.length === 0,
    errors: run.errors,
    hints: run.hints,
    affected,
    stats: { snapshots: run.snapshots.length, packs: run.packs.size, blobs: repo.index.blobCount, trees: run.treesChecked, bytesRead: run.bytesRead },
  };
}

const RESTORE_ADVICE = 'Restore these files from another destination; run a new backup to store them again.';

/** The closing sentence of a problem: which files it costs, if any, and what to do. */
function consequence(run: CheckRun, p: CheckProblem, scope: ProblemScope, neededBy: Map<string, Set<string>>): string {
  if (p.kind === 'node-invalid') return ` ${RESTORE_ADVICE}`;
  if (!scope) return '';
  const refs = dedupe('pack' in scope ? (run.packs.get(scope.pack) ?? []).map((b) => ({ type: b.type, id: b.id })) : scope.blobs);
  if (refs.length === 0) return '';
  const lost = refs.filter((r) => run.isLost(r.type, r.id));
  const snapshots = new Set<string>();
  for (const r of lost) for (const s of neededBy.get(blobKey(r)) ?? []) snapshots.add(s);
  const single = !('pack' in scope) && refs.length === 1;
  if (snapshots.size > 0) {
    return ` ${plural(snapshots.size, 'snapshot')} ${snapshots.size === 1 ? 'needs' : 'need'} ${single ? 'it' : 'what was lost'}: the files listed under "affected" cannot be restored from this destination. ${RESTORE_ADVICE}`;
  }
  if (lost.length > 0) {
    const what = single ? 'it' : lost.length === 1 ? 'the blob lost with it' : `the ${lost.length} blobs lost with it`;
    return ` No snapshot uses ${what}, so no file is affected; pruning the repository removes the stale index entries.`;
  }
  if (!run.opts.readData) return ' Run the check with read-data to learn whether the blobs it holds are intact.';
  return single
    ? ' Another copy of this blob is intact, so no file is affected; pruning the repository drops the damaged copy.'
    : ' Every blob the index places in it is intact or has an intact copy elsewhere, so no file is affected; pruning the repository rewrites it.';
}

function dedupe(refs: BlobRef[]): BlobRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = blobKey(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
