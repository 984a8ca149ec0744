// Restoring a snapshot (or parts of it) into a folder, producing what restic 0.14's
// `restore --target` produces, and refusing anything that would write outside the target.
//
// Three passes, as restic's restorer does it, for the same reasons:
// 1. Scan the trees: check every name, make the folders (0700 for now), create each regular file
//    empty with O_EXCL (so an existing file is reported before anything is downloaded) and note, in
//    tree order, what the third pass must do.
// 2. Download: plan the pack ranges (plan.ts), read them with a few workers, decrypt and verify each
//    blob, write it at its offsets; a file is truncated to its size and given its metadata as soon as
//    its last blob is written.
// 3. In tree order: symlinks, fifos, device nodes and further names of hard-linked files, and each
//    folder's metadata after everything inside it (creating entries changes a folder's mtime).
//
// Failures are per path: a file whose blob is missing or damaged, an unsafe name, a name already in
// the target, an unreadable folder tree are reported in `errors` and the rest is restored. A file that
// cannot be completed is removed rather than left half-written. Cancellation removes incomplete files
// and rejects with the signal's reason.
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import { BackendError } from '../storage';
import type { ID, Repository, SnapshotWithId, TreeNode } from '../repo';
import { MetadataError, applyDirMetadata } from './metadata';
import { planRestore, type PackRange, type PlannedBlob } from './plan';
import {
  childPath,
  displayName,
  displayPath,
  ensureRealDir,
  isSameOrBelow,
  normalizeSnapshotPath,
  unsafeNameReason,
} from './safe-path';
import type { RestoreError, RestoreOptions, RestoreProgress, RestoreResult } from './types';
import { MAX_TREE_DEPTH } from './walk';
import {
  SpecialNodeMaker,
  createFileExclusive,
  createHardlink,
  createSymlink,
  isAllZero,
  removePartial,
  writeAt,
} from './write';

/**
 * Pack ranges read at once. A few requests in flight hide a remote destination's latency; each
 * holds at most one range (8 MiB, see plan.ts) plus one blob's plaintext, so memory stays bounded.
 */
const RANGE_CONCURRENCY = 4;

interface FileJob {
  display: string;
  fsPath: Buffer;
  node: TreeNode;
  size: number;
  /** Blob writes not yet started. */
  remaining: number;
  /** Blob writes started and not yet finished. */
  inflight: number;
  /** Bytes counted in progress so far (to settle the total when the file fails). */
  bytesCounted: number;
  state: 'pending' | 'done' | 'failed';
}

type LaterStep =
  | { kind: 'special'; display: string; fsPath: Buffer; node: TreeNode }
  | { kind: 'hardlink'; display: string; fsPath: Buffer; first: FileJob }
  | { kind: 'dir'; display: string; fsPath: Buffer; node: TreeNode };

interface DirFrame {
  snapPath: Buffer;
  fsPath: Buffer;
  display: string;
  /** 'none' until something inside is restored (folders leading to an include are made lazily). */
  state: 'none' | 'ready' | 'failed';
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function codeOf(e: unknown): ErrorCode | undefined {
  return e instanceof MamoriError ? e.code : undefined;
}

function short(id: ID): string {
  return id.slice(0, 8);
}

class RestoreRun {
  private readonly errors: RestoreError[] = [];
  private readonly jobs: FileJob[] = [];
  private readonly later: LaterStep[] = [];
  /** (device_id, inode) -> the first restored name of a hard-linked file, as restic's HardlinkIndex. */
  private readonly hardlinks = new Map<string, FileJob>();
  private readonly includes: { path: Buffer; text: string; matched: boolean }[] | undefined;
  private readonly targetBuf: Buffer;
  private readonly specials: SpecialNodeMaker;
  private readonly progress: RestoreProgress = { filesTotal: 0, bytesTotal: 0, filesDone: 0, bytesDone: 0 };
  private filesRestored = 0;
  private dirsRestored = 0;
  private bytesRestored = 0;

  constructor(
    private readonly repo: Repository,
    private readonly snapshot: SnapshotWithId,
    private readonly target: string,
    private readonly opts: RestoreOptions,
  ) {
    this.targetBuf = Buffer.from(target);
    this.specials = new SpecialNodeMaker(target);
    const inc = (opts.include ?? []).map((text) => ({ path: normalizeSnapshotPath(text), text, matched: false }));
    this.includes = inc.length > 0 ? inc : undefined;
  }

  private error(path: string, message: string, code?: ErrorCode): void {
    this.errors.push(code ? { path, message, code } : { path, message });
  }

  private checkAbort(): void {
    this.opts.signal?.throwIfAborted();
  }

  private emit(currentPath?: string): void {
    if (!this.opts.onProgress) return;
    this.opts.onProgress({ ...this.progress, currentPath });
  }

  // ---- selection (restic's include semantics: the path itself, what is below it, and the folders
  // leading to it) ------------------------------------------------------------------------------

  private selected(p: Buffer): boolean {
    if (!this.includes) return true;
    let sel = false;
    for (const inc of this.includes) {
      if (isSameOrBelow(p, inc.path)) {
        sel = true;
        if (inc.path.equals(p)) inc.matched = true;
      }
    }
    return sel;
  }

  private leadsToSelected(p: Buffer): boolean {
    return !!this.includes && this.includes.some((inc) => isSameOrBelow(inc.path, p));
  }

  // ---- pass 1: scan ---------------------------------------------------------------------------

  /** Makes the folders of `frames` that do not exist yet; false if one of them cannot be used. */
  private async ensureFolders(frames: DirFrame[]): Promise<boolean> {
    for (const f of frames) {
      if (f.state === 'ready') continue;
      if (f.state === 'failed') return false;
      try {
        await ensureRealDir(f.fsPath, f.display);
        f.state = 'ready';
      } catch (e) {
        f.state = 'failed';
        this.error(f.display, `cannot restore this folder or anything in it: ${errMessage(e)}`, codeOf(e));
        return false;
      }
    }
    return true;
  }

  private async scanTree(treeId: ID, frames: DirFrame[]): Promise<void> {
    const parent = frames[frames.length - 1];
    let nodes: TreeNode[];
    try {
      nodes = await this.repo.loadTree(treeId);
    } catch (e) {
      this.error(parent.display, `cannot read the contents of this folder from the repository: ${errMessage(e)}`, codeOf(e));
      return;
    }
    for (const node of nodes) {
      this.checkAbort();
      const p = childPath(parent.snapPath, node.name);
      const sel = this.selected(p);
      if (!sel && !this.leadsToSelected(p)) continue;
      const display = displayPath(p);
      const unsafe = unsafeNameReason(node.name);
      if (unsafe) {
        this.error(display, `refusing to restore ${displayName(node.name)}: ${unsafe}, so it could write outside the target folder`, ErrorCode.UnsafePath);
        continue;
      }
      const fsPath = Buffer.concat([this.targetBuf, p]);

      if (node.type === 'dir') {
        if (!node.subtree) {
          this.error(display, 'the snapshot has no contents for this folder (no subtree): the repository is damaged', ErrorCode.CorruptObject);
          continue;
        }
        const frame: DirFrame = { snapPath: p, fsPath, display, state: 'none' };
        frames.push(frame);
        try {
          // A selected folder is restored even when empty; one merely leading to an include only
          // when something inside it is restored.
          if (sel && !(await this.ensureFolders(frames))) continue;
          if (frames.length - 1 >= MAX_TREE_DEPTH) {
            this.error(display, `folders nested deeper than ${MAX_TREE_DEPTH} levels: not restoring what is inside`);
          } else {
            await this.scanTree(node.subtree, frames);
          }
        } finally {
          frames.pop();
        }
        if (frame.state === 'ready') this.later.push({ kind: 'dir', display, fsPath, node });
        continue;
      }

      if (!sel) continue;
      // restic does not restore sockets (nothing can use one without the process that made it).
      if (node.type === 'socket') continue;
      if (!(await this.ensureFolders(frames))) continue;
      if (node.type === 'file') {
        await this.scanFile(display, fsPath, node);
      } else {
        this.progress.filesTotal++;
        this.later.push({ kind: 'special', display, fsPath, node });
      }
    }
  }

  private async scanFile(display: string, fsPath: Buffer, node: TreeNode): Promise<void> {
    if (node.content === null) {
      this.error(display, 'the snapshot lists no contents for this file: the repository is damaged', ErrorCode.CorruptObject);
      return;
    }
    // Hard links: the first name in tree order is restored as a file, later ones link to it.
    const key = (node.links ?? 0) > 1 && node.inode ? `${node.deviceId ?? 0}:${node.inode}` : undefined;
    const first = key === undefined ? undefined : this.hardlinks.get(key);
    if (first) {
      this.progress.filesTotal++;
      this.later.push({ kind: 'hardlink', display, fsPath, first });
      return;
    }
    try {
      await createFileExclusive(fsPath);
    } catch (e) {
      this.error(display, `cannot restore this file: ${errMessage(e)}`, codeOf(e));
      return;
    }
    this.progress.filesTotal++;
    const job: FileJob = { display, fsPath, node, size: 0, remaining: 0, inflight: 0, bytesCounted: 0, state: 'pending' };
    this.jobs.push(job);
    if (key !== undefined) this.hardlinks.set(key, job);
  }

  // ---- pass 2: content ------------------------------------------------------------------------

  private async failJob(job: FileJob, message: string, code?: ErrorCode): Promise<void> {
    if (job.state !== 'pending') return;
    job.state = 'failed';
    this.progress.filesDone++;
    this.progress.bytesDone += job.size - job.bytesCounted;
    job.bytesCounted = job.size;
    let msg = message;
    try {
      await removePartial(job.fsPath);
    } catch (e) {
      msg += ` (the incomplete file could not be removed: ${errMessage(e)})`;
    }
    this.error(job.display, msg, code);
    this.emit(job.display);
  }

  /** Completes a file whose content is all written: size, then metadata. */
  private async completeJob(job: FileJob): Promise<void> {
    try {
      await writeAt(job.fsPath, null, 0, { size: job.size, node: job.node });
    } catch (e) {
      if (!(e instanceof MetadataError)) {
        await this.failJob(job, `cannot complete this file: ${errMessage(e)}`);
        return;
      }
      this.error(job.display, `restored, but ${e.message}`);
    }
    this.jobDone(job);
  }

  private jobDone(job: FileJob): void {
    job.state = 'done';
    this.filesRestored++;
    this.bytesRestored += job.size;
    this.progress.filesDone++;
    this.emit(job.display);
  }

  /**
   * Writes one blob into one file. The write that completes a file also sets its size and metadata
   * through the same descriptor, unless another write to it is still in flight: then whichever
   * write ends last completes the file, so no write can land after the mtime is set.
   */
  private async writeBlob(job: FileJob, plain: Buffer, zero: boolean, offset: number): Promise<void> {
    job.remaining--;
    job.inflight++;
    const finishNow = job.remaining === 0 && job.inflight === 1;
    let failure: unknown;
    try {
      // Zero blobs are left as holes: the final truncate sets the size, the file system reads zeros.
      if (!zero || finishNow) await writeAt(job.fsPath, zero ? null : plain, offset, finishNow ? { size: job.size, node: job.node } : undefined);
    } catch (e) {
      failure = e;
    }
    job.inflight--;
    if (failure !== undefined) {
      if (!(finishNow && failure instanceof MetadataError)) {
        await this.failJob(job, `cannot write this file: ${errMessage(failure)}`);
        return;
      }
      // The content is complete; only some metadata is missing: keep the file, say what.
      this.error(job.display, `restored, but ${failure.message}`);
    }
    if (job.state !== 'pending') return;
    job.bytesCounted += plain.length;
    this.progress.bytesDone += plain.length;
    if (finishNow) this.jobDone(job);
    else if (job.remaining === 0 && job.inflight === 0) await this.completeJob(job);
    else this.emit(job.display);
  }

  /** A blob's plaintext: from the range already read, else from any other copy the index lists. */
  private async blobPlaintext(blob: PlannedBlob, range: PackRange, raw: Buffer | undefined, rangeError: unknown): Promise<Buffer> {
    let firstError: unknown = rangeError;
    if (raw) {
      const start = blob.loc.offset - range.offset;
      try {
        return this.repo.openBlob(raw.subarray(start, start + blob.loc.length), { type: 'data', id: blob.id, uncompressedLength: blob.loc.uncompressedLength });
      } catch (e) {
        firstError = e;
      }
    }
    if (this.repo.index.lookup('data', blob.id).length > 1) return this.repo.loadBlob('data', blob.id);
    const missing = firstError instanceof BackendError && firstError.kind === 'not-found';
    const why = missing ? `pack ${short(range.pack)} is missing` : errMessage(firstError);
    throw new MamoriError(missing ? ErrorCode.MissingObject : ErrorCode.CorruptObject, `data blob ${short(blob.id)} cannot be read: ${why}`, {
      subject: `data blob ${blob.id}`,
    });
  }

  private async processRange(range: PackRange): Promise<void> {
    const live = range.blobs.filter((b) => b.targets.some((t) => this.jobs[t.file].state === 'pending'));
    if (live.length === 0) return;
    let raw: Buffer | undefined;
    let rangeError: unknown;
    try {
      raw = await this.repo.backend.load({ type: 'data', name: range.pack }, range.offset, range.length);
    } catch (e) {
      rangeError = e;
    }
    for (const blob of live) {
      if (this.opts.signal?.aborted) return;
      let plain: Buffer;
      try {
        plain = await this.blobPlaintext(blob, range, raw, rangeError);
        if (plain.length !== blob.size) throw new Error(`data blob ${short(blob.id)} has ${plain.length} bytes but the index says ${blob.size}`);
      } catch (e) {
        for (const t of blob.targets) await this.failJob(this.jobs[t.file], `cannot restore this file: ${errMessage(e)}`, codeOf(e));
        continue;
      }
      const zero = isAllZero(plain);
      for (const t of blob.targets) {
        const job = this.jobs[t.file];
        if (job.state === 'pending') await this.writeBlob(job, plain, zero, t.offset);
      }
    }
  }

  private async restoreContents(): Promise<void> {
    const plan = planRestore(
      this.jobs.map((j) => ({ content: j.node.content ?? [] })),
      this.repo.index,
      { cryptoOverhead: this.repo.cryptoOverhead },
    );
    for (let i = 0; i < this.jobs.length; i++) {
      this.jobs[i].size = plan.files[i].size;
      this.jobs[i].remaining = plan.files[i].writes;
      this.progress.bytesTotal += plan.files[i].size;
    }
    this.emit();
    for (let i = 0; i < this.jobs.length; i++) {
      const missing = plan.files[i].missing;
      if (missing.length > 0) {
        const list = missing.slice(0, 3).map(short).join(', ') + (missing.length > 3 ? ` and ${missing.length - 3} more` : '');
        await this.failJob(this.jobs[i], `cannot restore this file: data blob(s) ${list} are in no index of the repository (run "mamori check")`, ErrorCode.MissingObject);
      } else if (this.jobs[i].remaining === 0) {
        this.checkAbort();
        await this.completeJob(this.jobs[i]);
      }
    }
    let next = 0;
    const worker = async () => {
      while (next < plan.ranges.length && !this.opts.signal?.aborted) await this.processRange(plan.ranges[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(RANGE_CONCURRENCY, plan.ranges.length) }, worker));
    this.checkAbort();
    // Only a planning bug could leave a file waiting; never leave it silently incomplete.
    for (const job of this.jobs) if (job.state === 'pending') await this.failJob(job, 'internal error: not all of its data was written');
  }

  // ---- pass 3: links, special files, folder metadata ------------------------------------------

  private async finishTree(): Promise<void> {
    for (const step of this.later) {
      this.checkAbort();
      try {
        if (step.kind === 'dir') {
          this.dirsRestored++;
          await applyDirMetadata(step.fsPath, step.node);
          continue;
        }
        if (step.kind === 'hardlink') {
          if (step.first.state !== 'done') {
            this.error(step.display, `not restored: it is a hard link of ${step.first.display}, which could not be restored`);
            this.progress.filesDone++;
            continue;
          }
          await createHardlink(step.first.fsPath, step.fsPath);
        } else if (step.node.type === 'symlink') {
          await createSymlink(step.fsPath, step.node);
        } else {
          await this.specials.create(step.fsPath, step.node);
        }
        this.filesRestored++;
        this.progress.filesDone++;
      } catch (e) {
        if (e instanceof MetadataError) {
          this.error(step.display, `restored, but ${e.message}`);
          if (step.kind !== 'dir') {
            this.filesRestored++;
            this.progress.filesDone++;
          }
        } else {
          if (step.kind !== 'dir') this.progress.filesDone++;
          const what = step.kind === 'dir' ? 'cannot restore the folder\'s metadata' : 'cannot restore this entry';
          this.error(step.display, `${what}: ${errMessage(e)}`, codeOf(e));
        }
      }
      this.emit(step.display);
    }
  }

  async run(): Promise<RestoreResult> {
    try {
      // 0700 like restic's MkdirAll(target, 0700): restored content may be private until the user
      // decides where it goes. An existing target keeps its mode.
      await fsp.mkdir(this.target, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new MamoriError(ErrorCode.PermissionDenied, `cannot create the restore folder ${this.target}: ${errMessage(e)}`, { subject: this.target }, { cause: e });
    }
    // The target itself was chosen by the user and may be reached through a symlink; below it,
    // nothing is followed.
    const st = await fsp.stat(this.target);
    if (!st.isDirectory()) throw new MamoriError(ErrorCode.InvalidRequest, `the restore target ${this.target} is not a folder`, { subject: this.target });

    const root: DirFrame = { snapPath: Buffer.alloc(0), fsPath: this.targetBuf, display: '/', state: 'ready' };
    try {
      this.checkAbort();
      await this.scanTree(this.snapshot.tree, [root]);
      for (const inc of this.includes ?? []) {
        if (inc.matched || inc.path.length === 0) continue;
        const why = this.errors.length > 0 ? 'not found in this snapshot (or in a part of it that could not be read, see the other errors)' : 'not found in this snapshot';
        this.error(inc.text, why, ErrorCode.PathNotFound);
      }
      await this.restoreContents();
      await this.finishTree();
    } catch (e) {
      // Cancelled (or an unexpected failure): leave no half-written files behind.
      for (const job of this.jobs) if (job.state === 'pending') await removePartial(job.fsPath).catch(() => undefined);
      throw e;
    } finally {
      await this.specials.cleanup().catch(() => undefined);
    }
    return { filesRestored: this.filesRestored, dirsRestored: this.dirsRestored, bytesRestored: this.bytesRestored, errors: this.errors };
  }
}

/**
 * Restores `snapshot` (or its `include` paths) below `opts.target`, recreating the snapshot's
 * absolute paths there as restic 0.14 does. Per-path failures are returned in `errors`; only a
 * target that cannot be used, or cancellation, rejects.
 */
export async function restoreSnapshot(repo: Repository, snapshot: SnapshotWithId, opts: RestoreOptions): Promise<RestoreResult> {
  const run = new RestoreRun(repo, snapshot, resolve(opts.target), opts);
  return run.run();
}
