// Walking a snapshot's trees: depth-first, in tree order (restic sorts nodes by raw name bytes),
// each node with its absolute path inside the snapshot. Used by restore, ls and check.
//
// Paths here are display strings (lossy UTF-8); restore builds file system paths from the raw name
// Buffers instead, so names that are not UTF-8 restore byte-exactly.
//
// A tree that cannot be read (missing pack, damaged blob) is reported through onError and skipped,
// so one damaged folder does not hide the rest of a snapshot; without onError the walk throws.
import type { ID, SnapshotWithId, TreeNode } from '../repo';

/** The repository reads a walk needs (Repository satisfies it). */
export interface TreeLoader {
  loadTree(id: ID): Promise<TreeNode[]>;
}

/**
 * Deeper than any real file system allows (PATH_MAX 4096 bytes gives at most 2048 levels): a
 * hostile tree nested deeper is cut off and reported, not recursed into until memory runs out.
 */
export const MAX_TREE_DEPTH = 2048;

export interface WalkOptions {
  onError?: (path: string, err: Error) => void;
}

function normalizePrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

/**
 * Walks a snapshot's tree depth-first: yields each node with its absolute path inside the snapshot
 * ("/home/me/x"), a folder before its contents. Used by restore, ls and check.
 */
export async function* walkTree(
  repo: TreeLoader,
  treeId: ID,
  prefix = '',
  opts: WalkOptions = {},
): AsyncGenerator<{ path: string; node: TreeNode }> {
  yield* walkInner(repo, treeId, normalizePrefix(prefix), opts, 0);
}

function fail(opts: WalkOptions, path: string, err: Error): void {
  if (!opts.onError) throw err;
  opts.onError(path, err);
}

async function* walkInner(
  repo: TreeLoader,
  treeId: ID,
  prefix: string,
  opts: WalkOptions,
  depth: number,
): AsyncGenerator<{ path: string; node: TreeNode }> {
  let nodes: TreeNode[];
  try {
    nodes = await repo.loadTree(treeId);
  } catch (e) {
    fail(opts, prefix || '/', e as Error);
    return;
  }
  for (const node of nodes) {
    const path = `${prefix}/${node.name.toString('utf8')}`;
    yield { path, node };
    if (node.type !== 'dir') continue;
    if (!node.subtree) {
      fail(opts, path, new Error('folder without a subtree in the snapshot'));
      continue;
    }
    if (depth + 1 >= MAX_TREE_DEPTH) {
      fail(opts, path, new Error(`folders nested deeper than ${MAX_TREE_DEPTH} levels; not descending further`));
      continue;
    }
    yield* walkInner(repo, node.subtree, path, opts, depth + 1);
  }
}

/**
 * Finds the node at an absolute path inside a snapshot, or undefined. "/" (the snapshot's root,
 * which has no node of its own) gives a synthetic folder node whose subtree is the snapshot's tree,
 * so callers can list it like any folder.
 */
export async function findNode(repo: TreeLoader, snapshot: SnapshotWithId, path: string): Promise<TreeNode | undefined> {
  const parts = path.split('/').filter((c) => c !== '');
  if (parts.length === 0) {
    return {
      name: Buffer.alloc(0),
      type: 'dir',
      mode: 2 ** 31 + 0o755,
      mtime: snapshot.time,
      atime: snapshot.time,
      ctime: snapshot.time,
      uid: snapshot.uid ?? 0,
      gid: snapshot.gid ?? 0,
      content: null,
      subtree: snapshot.tree,
    };
  }
  let tree: ID | undefined = snapshot.tree;
  let found: TreeNode | undefined;
  for (const part of parts) {
    if (!tree) return undefined;
    const want = Buffer.from(part, 'utf8');
    const nodes = await repo.loadTree(tree);
    found = nodes.find((n) => n.name.equals(want));
    if (!found) return undefined;
    tree = found.type === 'dir' ? found.subtree : undefined;
  }
  return found;
}
