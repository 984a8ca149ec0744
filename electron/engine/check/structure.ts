// The structure check, as restic 0.14's `check` without --read-data: indexes load, every indexed pack
// exists with exactly the size its index entries require, every snapshot loads, and every tree
// reachable from a snapshot loads and decodes, with file content and subtrees present in the index.
// Pack contents are not read here beyond tree blobs (which loading verifies anyway).
import { expectedPackSize, mapBackendError, mapLimit, sortSnapshots, type ID, type SnapshotWithId, type TreeNode } from '../repo';
import { childPath, describeBlobs, plural, short, type CheckRun } from './context';

/** Trees loaded in parallel: each is a small ranged read, so latency, not bandwidth, is the limit. */
const TREE_LOADERS = 8;
const SNAPSHOT_LOADERS = 8;

export async function checkIndex(run: CheckRun): Promise<void> {
  run.progress('index', 0, 1);
  // Loading again on a repository whose index is already loaded is harmless (entries are merged by
  // pack and offset), and it is the only way to learn which index files are unreadable.
  const problems = await run.repo.loadIndex();
  for (const p of problems) {
    run.error({
      kind: 'index-unreadable',
      subject: `index ${p.index}`,
      message:
        `index ${p.index} cannot be read (${p.error}). Blobs it alone listed now count as missing: ` +
        'rebuild the index ("restic rebuild-index") from the packs before pruning, or that data may be deleted.',
    });
  }
  for (const b of run.repo.index.all()) {
    let list = run.packs.get(b.pack);
    if (!list) run.packs.set(b.pack, (list = []));
    list.push(b);
  }
  for (const list of run.packs.values()) list.sort((a, b) => a.offset - b.offset);
  run.progress('index', 1, 1);
}

export async function checkPacks(run: CheckRun): Promise<void> {
  const { repo } = run;
  const stored = new Map<ID, number>();
  try {
    for await (const f of repo.backend.list('data')) stored.set(f.name, f.size);
  } catch (e) {
    throw mapBackendError(e, repo.location);
  }
  run.throwIfAborted();
  const total = run.packs.size;
  let done = 0;
  for (const [pack, entries] of run.packs) {
    const size = stored.get(pack);
    const data = entries.filter((e) => e.type === 'data').length;
    const trees = entries.length - data;
    const held = describeBlobs(data, trees);
    if (size === undefined) {
      run.missingPacks.add(pack);
      run.error(
        { kind: 'pack-missing', subject: `pack ${pack}`, pack, message: `pack ${pack} is listed in the index but missing from the destination: the ${held} it held cannot be read.` },
        { pack },
      );
    } else {
      const want = expectedPackSize(entries);
      if (size !== want) {
        // Blobs reaching past the end are certainly gone; the others may be intact (read-data tells).
        run.resizedPacks.add(pack);
        for (const e of entries) if (e.offset + e.length > size) run.markBadCopy(e);
        const how = size < want ? 'it was cut short' : 'it holds bytes its index does not account for';
        run.error(
          { kind: 'pack-size-mismatch', subject: `pack ${pack}`, pack, message: `pack ${pack} has ${size} bytes, but its index entries (${held}) require ${want}: ${how}.` },
          { pack },
        );
      }
      if (data > 0 && trees > 0) {
        run.hints.push(`pack ${pack} mixes data and tree blobs: legal in repository format 1, and pruning the repository repacks it.`);
      }
    }
    run.progress('packs', ++done, total);
  }
  for (const [pack, size] of stored) if (!run.packs.has(pack)) run.unindexedPacks.set(pack, size);
}

/**
 * Hints for packs no index lists. Usually leftovers of an interrupted backup; but when index entries
 * are missing (a lost index file), these packs may be the only copy of that data, and pruning them
 * first would make the loss permanent.
 */
export function unindexedPackHints(run: CheckRun): void {
  const indexGap = run.errors.some((e) => e.kind === 'index-unreadable' || e.kind === 'tree-missing' || e.kind === 'blob-missing');
  for (const [pack, size] of run.unindexedPacks) {
    run.hints.push(
      indexGap
        ? `pack ${pack} (${size} bytes) is not listed in any index and may hold data reported missing above: rebuild the index ("restic rebuild-index") before pruning, which would delete it.`
        : `pack ${pack} (${size} bytes) is not listed in any index: harmless (usually left by an interrupted backup); pruning the repository deletes it.`,
    );
  }
}

export async function checkSnapshots(run: CheckRun): Promise<void> {
  const ids = await run.repo.listIds('snapshot');
  const out: SnapshotWithId[] = [];
  let done = 0;
  await mapLimit(ids, SNAPSHOT_LOADERS, async (id) => {
    run.throwIfAborted();
    try {
      out.push(await run.repo.loadSnapshot(id));
    } catch (e) {
      run.error({
        kind: 'snapshot-unreadable',
        subject: `snapshot ${id}`,
        message: `snapshot ${id} cannot be read (${(e as Error).message}): its files cannot be listed or restored from this destination. Restore them from another destination if you need them.`,
      });
    }
    run.progress('snapshots', ++done, ids.length);
  });
  run.snapshots = sortSnapshots(out);
}

/** Why restic's check would reject this node, or null. decodeTree already refuses bad types and empty names. */
export function nodeProblem(n: TreeNode): string | null {
  if (n.type === 'file' && n.content === null) return 'a file without a content list';
  if (n.type === 'dir' && !n.subtree) return 'a folder without a subtree';
  return null;
}

interface TreeTask {
  id: ID;
  /** Folder path under which the tree was first met (for messages only: trees are checked once). */
  path: string;
}

export async function checkTrees(run: CheckRun): Promise<void> {
  const seen = new Set<ID>();
  const queue: TreeTask[] = [];
  for (const sn of run.snapshots) {
    if (seen.has(sn.tree)) continue;
    seen.add(sn.tree);
    queue.push({ id: sn.tree, path: '/' });
  }
  const reportedBlobs = new Set<ID>();
  const hasStrayPacks = run.unindexedPacks.size > 0;
  const strayHint = hasStrayPacks
    ? ` ${plural(run.unindexedPacks.size, 'pack')} that no index lists ${run.unindexedPacks.size === 1 ? 'is' : 'are'} present (see hints) and may hold it: rebuild the index ("restic rebuild-index") before pruning, which would delete them.`
    : '';
  const index = run.repo.index;

  await drain(queue, TREE_LOADERS, async ({ id, path }) => {
    run.throwIfAborted();
    const folder = path === '/' ? 'the root folder' : `folder ${path}`;
    let nodes: TreeNode[];
    if (!index.has('tree', id)) {
      run.badTrees.add(id);
      run.error(
        { kind: 'tree-missing', subject: `tree ${id}`, blob: id, blobType: 'tree', path, message: `tree ${id} (${folder}) is not in any index: what that folder held cannot be listed or restored.${strayHint}` },
        { blobs: [{ type: 'tree', id }] },
      );
      return [];
    }
    try {
      nodes = await run.repo.loadTree(id);
    } catch (e) {
      run.badTrees.add(id);
      const packs = [...new Set(index.lookup('tree', id).map((b) => b.pack))];
      run.error(
        { kind: 'tree-unreadable', subject: `tree ${id}`, blob: id, blobType: 'tree', pack: packs.length === 1 ? packs[0] : undefined, path, message: `tree ${id} (${folder}) cannot be read: ${(e as Error).message}` },
        { blobs: [{ type: 'tree', id }] },
      );
      return [];
    }
    run.treesChecked++;
    const children: TreeTask[] = [];
    for (const node of nodes) {
      const p = childPath(path, node.name);
      const problem = nodeProblem(node);
      if (problem) {
        run.invalidTrees.add(id);
        run.error({ kind: 'node-invalid', subject: `tree ${id}`, blob: id, blobType: 'tree', path: p, message: `${p} (in tree ${short(id)}) is ${problem}: its content is unknown.` });
        continue;
      }
      if (node.type === 'file') {
        for (const blob of node.content ?? []) {
          if (index.has('data', blob) || reportedBlobs.has(blob)) continue;
          reportedBlobs.add(blob);
          run.error(
            { kind: 'blob-missing', subject: `data blob ${blob}`, blob, blobType: 'data', path: p, message: `data blob ${blob} of file ${p} (in tree ${short(id)}) is not in any index.${strayHint}` },
            { blobs: [{ type: 'data', id: blob }] },
          );
        }
      } else if (node.type === 'dir' && node.subtree && !seen.has(node.subtree)) {
        seen.add(node.subtree);
        children.push({ id: node.subtree, path: p });
      }
    }
    run.progress('trees', run.treesChecked, seen.size);
    return children;
  });
}

/**
 * Runs `visit` over a work list that grows as it goes (each visit returns more work), with at most
 * `limit` visits in flight. Rejects on the first visit that throws (an abort, or a backend failure).
 */
function drain<T>(queue: T[], limit: number, visit: (t: T) => Promise<T[]>): Promise<void> {
  return new Promise((resolve, reject) => {
    let active = 0;
    let failed = false;
    const pump = (): void => {
      while (!failed && active < limit && queue.length > 0) {
        const task = queue.pop() as T;
        active++;
        visit(task).then(
          (more) => {
            active--;
            for (const m of more) queue.push(m);
            pump();
          },
          (e: unknown) => {
            failed = true;
            reject(e);
          },
        );
      }
      if (!failed && active === 0 && queue.length === 0) resolve();
    };
    pump();
  });
}
