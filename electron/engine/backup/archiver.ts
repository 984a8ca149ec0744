// The backup run: walk the sources, store new file content as blobs, build restic trees bottom-up,
// then write the snapshot. The tree layout follows restic 0.14: the root tree holds the components of
// each absolute source path (/home/me/Documents -> home -> me -> Documents), intermediate folders
// carrying their real metadata, so restic and Mamori snapshots of the same folder share tree blobs.
// Files whose size, mtime, ctime and inode match the parent snapshot are not read again.
// The caller holds the repository lock; nothing is written to the snapshot list until every pack and
// index it needs is stored.
import { constants } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { hostname as osHostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import { createChunker, type Chunker } from '../chunker';
import { systemClock, type Clock } from '../ports/clock';
import { formatGoTime, parseGoTime, type ID, type Snapshot, type SnapshotWithId, type TreeNode } from '../repo';
import { nodeFromPath } from './fsnode';
import type { BackupOptions, BackupProgress, BackupResult, BackupTarget, SourceError } from './types';

const READ_BLOCK = 1024 * 1024;
const SLASH = Buffer.from('/');

interface VirtualDir {
  /** Component name -> intermediate folder, or null where a source path ends. */
  children: Map<string, VirtualDir | null>;
}

function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 1 && dir[0] === 0x2f) return Buffer.concat([SLASH, name]);
  return Buffer.concat([dir, SLASH, name]);
}

function display(p: Buffer): string {
  return p.toString('utf8');
}

/** Drops duplicates and paths that lie inside another source path (they are backed up with it). */
export function normalizeTargets(paths: string[]): string[] {
  const abs = [...new Set(paths.map((p) => resolve(p)))].sort();
  return abs.filter((p) => !abs.some((q) => q !== p && (q === '/' || p.startsWith(q + '/'))));
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');
}

/** restic's rule: a file is unchanged when type, mtime, ctime, inode and size all match. */
function unchanged(prev: TreeNode | undefined, cur: TreeNode): prev is TreeNode & { content: ID[] } {
  if (!prev || prev.type !== 'file' || cur.type !== 'file' || !prev.content) return false;
  try {
    if (parseGoTime(prev.mtime) !== parseGoTime(cur.mtime)) return false;
    if (parseGoTime(prev.ctime) !== parseGoTime(cur.ctime)) return false;
  } catch {
    return false;
  }
  return (prev.inode ?? 0) === (cur.inode ?? 0) && (prev.size ?? 0) === (cur.size ?? 0);
}

class Run {
  readonly errors: SourceError[] = [];
  readonly progress: BackupProgress = {
    phase: 'backup', filesTotal: 0, bytesTotal: 0, scanDone: false, filesDone: 0, bytesDone: 0, bytesAdded: 0,
  };
  filesNew = 0;
  filesChanged = 0;
  filesUnmodified = 0;
  dirs = 0;
  bytesRead = 0;
  blobsAdded = 0;
  private readonly chunker: Chunker;
  private readonly block = Buffer.allocUnsafe(READ_BLOCK);

  constructor(readonly repo: BackupTarget, readonly opts: BackupOptions) {
    this.chunker = createChunker(repo.config.chunkerPolynomial);
  }

  report(currentPath?: string): void {
    this.progress.currentPath = currentPath;
    this.opts.onProgress?.({ ...this.progress });
  }

  checkAbort(): void {
    if (this.opts.signal?.aborted) throw new MamoriError(ErrorCode.InvalidRequest, 'backup cancelled; no snapshot was written');
  }

  fail(path: Buffer, e: unknown): null {
    this.errors.push({ path: display(path), message: (e as Error).message ?? String(e) });
    return null;
  }

  async loadParentTree(id: ID | undefined): Promise<Map<string, TreeNode> | undefined> {
    if (!id) return undefined;
    try {
      const nodes = await this.repo.loadTree(id);
      return new Map(nodes.map((n) => [n.name.toString('hex'), n]));
    } catch {
      // A damaged parent only costs re-reading files; the new snapshot does not depend on it.
      return undefined;
    }
  }

  /** Stores one file, folder or special file; returns its node, or null when it could not be read. */
  async saveItem(path: Buffer, name: Buffer, prev: TreeNode | undefined): Promise<TreeNode | null> {
    this.checkAbort();
    let node: TreeNode;
    try {
      node = await nodeFromPath(path, name);
    } catch (e) {
      return this.fail(path, e);
    }
    if (node.type === 'file') return this.saveFile(path, node, prev);
    if (node.type === 'dir') return this.saveDir(path, node, prev);
    return node;
  }

  async saveFile(path: Buffer, node: TreeNode, prev: TreeNode | undefined): Promise<TreeNode | null> {
    if (unchanged(prev, node) && prev.content.every((id) => this.repo.hasBlob('data', id))) {
      node.content = prev.content;
      this.filesUnmodified++;
      this.progress.filesDone++;
      this.progress.bytesDone += node.size ?? 0;
      this.report(display(path));
      return node;
    }
    const content: ID[] = [];
    let size = 0;
    let fh;
    try {
      // O_NOFOLLOW and O_NONBLOCK: a file swapped for a symlink or a FIFO since lstat must neither be
      // followed out of the source nor block the backup forever.
      fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      return this.fail(path, e);
    }
    try {
      // Chunk straight from a reused read buffer: a chunk is at most 8 MiB, so memory stays bounded
      // whatever the file's size.
      this.chunker.reset();
      let pending: Buffer[] = [];
      let pendingLen = 0;
      for (;;) {
        const { bytesRead } = await fh.read(this.block, 0, READ_BLOCK, null);
        if (bytesRead === 0) break;
        size += bytesRead;
        this.bytesRead += bytesRead;
        let start = 0;
        while (start < bytesRead) {
          const cut = this.chunker.next(this.block, start, bytesRead);
          if (cut < 0) {
            pending.push(Buffer.from(this.block.subarray(start, bytesRead)));
            pendingLen += bytesRead - start;
            break;
          }
          pending.push(this.block.subarray(start, cut));
          const chunk = Buffer.concat(pending, pendingLen + cut - start);
          pending = [];
          pendingLen = 0;
          content.push(await this.saveData(chunk));
          start = cut;
        }
        this.progress.bytesDone += bytesRead;
        this.report(display(path));
        this.checkAbort();
      }
      if (pendingLen > 0) content.push(await this.saveData(Buffer.concat(pending, pendingLen)));
    } catch (e) {
      if (e instanceof MamoriError) throw e;
      return this.fail(path, e);
    } finally {
      await fh.close().catch(() => undefined);
    }
    // The size is what was read: a file that grew or shrank while being read is stored consistently.
    node.size = size;
    node.content = content;
    if (prev && prev.type === 'file') this.filesChanged++;
    else this.filesNew++;
    this.progress.filesDone++;
    return node;
  }

  private async saveData(chunk: Buffer): Promise<ID> {
    const r = await this.repo.saveBlob('data', chunk);
    if (!r.known) {
      this.blobsAdded++;
      this.progress.bytesAdded += r.storedSize;
    }
    return r.id;
  }

  async saveDir(path: Buffer, node: TreeNode, prev: TreeNode | undefined): Promise<TreeNode | null> {
    let names: Buffer[];
    try {
      names = await readdir(path, { encoding: 'buffer' });
    } catch (e) {
      return this.fail(path, e);
    }
    names.sort(Buffer.compare);
    const prevTree = prev?.type === 'dir' ? await this.loadParentTree(prev.subtree) : undefined;
    const nodes: TreeNode[] = [];
    for (const name of names) {
      const child = await this.saveItem(joinPath(path, name), name, prevTree?.get(name.toString('hex')));
      if (child) nodes.push(child);
    }
    node.subtree = await this.saveTree(nodes);
    node.content = null;
    this.dirs++;
    return node;
  }

  saveTree(nodes: TreeNode[]): Promise<ID> {
    return this.repo.saveTree(nodes);
  }

  /** Saves the folders leading to the sources (the virtual part of the tree) and the sources. */
  async saveVirtual(dir: VirtualDir, fsPath: Buffer, prevTreeId: ID | undefined): Promise<ID> {
    const prevTree = await this.loadParentTree(prevTreeId);
    const names = [...dir.children.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const nodes: TreeNode[] = [];
    for (const name of names) {
      const child = dir.children.get(name);
      const nameBuf = Buffer.from(name);
      const path = joinPath(fsPath, nameBuf);
      const prev = prevTree?.get(nameBuf.toString('hex'));
      if (child === null || child === undefined) {
        const n = await this.saveItem(path, nameBuf, prev);
        if (n) nodes.push(n);
        continue;
      }
      let n: TreeNode;
      try {
        n = await nodeFromPath(path, nameBuf);
      } catch (e) {
        this.fail(path, e);
        continue;
      }
      n.subtree = await this.saveVirtual(child, path, prev?.type === 'dir' ? prev.subtree : undefined);
      n.content = null;
      nodes.push(n);
    }
    return this.saveTree(nodes);
  }
}

/** Counts files and bytes ahead of the backup so progress can show totals and an ETA. */
async function scan(paths: string[], progress: BackupProgress, stop: { stopped: boolean }): Promise<void> {
  const walk = async (p: Buffer): Promise<void> => {
    if (stop.stopped) return;
    let st;
    try {
      st = await lstat(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      let names: Buffer[];
      try {
        names = await readdir(p, { encoding: 'buffer' });
      } catch {
        return;
      }
      for (const n of names) await walk(joinPath(p, n));
    } else if (st.isFile()) {
      progress.filesTotal++;
      progress.bytesTotal += st.size;
    }
  };
  for (const p of paths) await walk(Buffer.from(p));
  progress.scanDone = true;
}

export async function backup(repo: BackupTarget, opts: BackupOptions & { clock?: Clock }): Promise<BackupResult> {
  if (opts.paths.length === 0) throw new MamoriError(ErrorCode.InvalidRequest, 'nothing to back up: give at least one folder or file');
  const targets = normalizeTargets(opts.paths);
  for (const t of targets) {
    try {
      await lstat(t);
    } catch (e) {
      throw new MamoriError(ErrorCode.PathNotFound, `cannot back up ${t}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`, {
        subject: t,
        hint: 'Check the path and try again.',
      });
    }
  }
  await repo.loadIndex();
  const host = opts.hostname ?? osHostname();
  let parent: SnapshotWithId | undefined = opts.parent ?? undefined;
  if (opts.parent === undefined) {
    const all = (await repo.listSnapshots()).filter((s) => s.hostname === host && sameSet(s.paths, targets));
    parent = all[all.length - 1];
  }

  const root: VirtualDir = { children: new Map() };
  for (const t of targets) {
    const parts = t.split('/').filter(Boolean);
    let d = root;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      if (last) {
        d.children.set(parts[i], null);
      } else {
        let next = d.children.get(parts[i]);
        if (!next) {
          next = { children: new Map() };
          d.children.set(parts[i], next);
        }
        d = next;
      }
    }
  }

  const run = new Run(repo, opts);
  const stop = { stopped: false };
  const scanning = scan(targets, run.progress, stop);
  let treeId: ID;
  try {
    if (targets.length === 1 && targets[0] === '/') {
      // Backing up "/" itself: its contents form the root tree.
      const n = await run.saveItem(Buffer.from('/'), Buffer.from('/'), undefined);
      if (!n?.subtree) throw new MamoriError(ErrorCode.SourceUnreadable, 'cannot read /');
      treeId = n.subtree;
    } else {
      treeId = await run.saveVirtual(root, Buffer.from('/'), parent?.tree);
    }
  } catch (e) {
    await repo.settle();
    throw e;
  } finally {
    stop.stopped = true;
    await scanning;
  }
  run.progress.phase = 'finish';
  run.report();
  await repo.flush();

  const clock = opts.clock ?? systemClock;
  let uid: number | undefined;
  let gid: number | undefined;
  let username: string | undefined;
  try {
    const u = userInfo();
    uid = u.uid >= 0 ? u.uid : undefined;
    gid = u.gid >= 0 ? u.gid : undefined;
    username = u.username;
  } catch {
    // No passwd entry (containers): restic leaves the fields empty too.
  }
  const sn: Snapshot = {
    time: formatGoTime(BigInt(clock.now().getTime()) * 1_000_000n),
    tree: treeId,
    paths: targets,
    hostname: host,
    username,
    uid,
    gid,
  };
  if (parent) sn.parent = parent.id;
  if (opts.tags?.length) sn.tags = opts.tags;
  const snapshotId = await repo.saveSnapshot(sn);
  return {
    snapshotId,
    snapshot: { ...sn, id: snapshotId },
    filesNew: run.filesNew,
    filesChanged: run.filesChanged,
    filesUnmodified: run.filesUnmodified,
    dirs: run.dirs,
    bytesRead: run.bytesRead,
    bytesAdded: run.progress.bytesAdded,
    blobsAdded: run.blobsAdded,
    errors: run.errors,
  };
}
