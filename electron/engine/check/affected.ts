// Maps damage back to what a user recognises: which snapshots, and which files and folders in them,
// can no longer be restored from this destination. Runs only when something is lost.
//
// The structure check visits each tree once, so it knows only the first path under which a tree was
// met; the same tree usually appears in many snapshots (every unchanged folder). Here each distinct
// tree is loaded once more and summarised as the affected paths relative to it plus the lost blobs
// it needs; a summary is reused under every path and snapshot that includes the tree. Clean trees
// share one empty summary, so memory stays proportional to the damage plus one entry per tree.
import type { ID, TreeNode } from '../repo';
import { type BlobRef, type CheckRun } from './context';
import { nodeProblem } from './structure';
import type { AffectedSnapshot } from './types';

/** Tree loads in flight; as in the structure check, small reads where latency dominates. */
const TREE_LOADERS = 8;

interface Taint {
  /** Affected paths relative to the tree; '' is the tree's own folder (it cannot be read at all). */
  files: string[];
  /** Lost blobs this tree needs, keyed by blobKey(). */
  lost: Set<string>;
}

const CLEAN: Taint = { files: [], lost: new Set() };

export function blobKey(b: BlobRef): string {
  return `${b.type}:${b.id}`;
}

export interface AffectedResult {
  affected: AffectedSnapshot[];
  /** For each lost blob some snapshot needs (blobKey), the snapshots needing it. */
  neededBy: Map<string, Set<ID>>;
}

export async function findAffected(run: CheckRun): Promise<AffectedResult> {
  const memo = new Map<ID, Promise<Taint>>();
  const limit = semaphore(TREE_LOADERS);

  const loadTree = async (id: ID): Promise<TreeNode[] | null> => {
    if (run.isLost('tree', id)) return null;
    try {
      return await limit(() => run.repo.loadTree(id));
    } catch {
      // Already reported by the structure check, or a copy read-data found bad; either way the
      // folder cannot be listed.
      return null;
    }
  };

  const taintOf = (id: ID): Promise<Taint> => {
    let p = memo.get(id);
    if (!p) {
      p = compute(id);
      memo.set(id, p);
    }
    return p;
  };

  const compute = async (id: ID): Promise<Taint> => {
    run.throwIfAborted();
    const nodes = await loadTree(id);
    if (!nodes) return { files: [''], lost: new Set([blobKey({ type: 'tree', id })]) };
    const files: string[] = [];
    const lost = new Set<string>();
    const subtrees: [string, Promise<Taint>][] = [];
    for (const node of nodes) {
      const name = node.name.toString('utf8');
      if (nodeProblem(node)) {
        files.push(name);
      } else if (node.type === 'file') {
        let bad = false;
        for (const b of node.content ?? []) {
          if (!run.isLost('data', b)) continue;
          bad = true;
          lost.add(blobKey({ type: 'data', id: b }));
        }
        if (bad) files.push(name);
      } else if (node.type === 'dir' && node.subtree) {
        subtrees.push([name, taintOf(node.subtree)]);
      }
    }
    for (const [name, p] of subtrees) {
      const t = await p;
      for (const f of t.files) files.push(f === '' ? name : `${name}/${f}`);
      for (const l of t.lost) lost.add(l);
    }
    return files.length === 0 && lost.size === 0 ? CLEAN : { files, lost };
  };

  const affected: AffectedSnapshot[] = [];
  const neededBy = new Map<string, Set<ID>>();
  let done = 0;
  run.progress('affected', 0, run.snapshots.length);
  for (const sn of run.snapshots) {
    const t = await taintOf(sn.tree);
    for (const l of t.lost) {
      let s = neededBy.get(l);
      if (!s) neededBy.set(l, (s = new Set()));
      s.add(sn.id);
    }
    if (t.files.length > 0) {
      const files = [...new Set(t.files.map((f) => '/' + f))].sort();
      affected.push({ snapshot: sn.id, time: sn.time, paths: sn.paths, files });
    }
    run.progress('affected', ++done, run.snapshots.length);
  }
  return { affected, neededBy };
}

/** Limits how many calls of the wrapped functions run at once. Only leaf work is wrapped, so a
 * recursion waiting for its children never holds a slot (no deadlock). */
function semaphore(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let free = n;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}
