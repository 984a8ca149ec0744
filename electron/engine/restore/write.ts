// Writing restored files and creating the other node types (symlinks, hard links, fifos, device
// nodes) without ever following a symlink in the target.
//
// Files are created once with O_CREAT|O_EXCL|O_NOFOLLOW (which fails on anything already there,
// a dangling symlink included) and reopened for each blob with O_NOFOLLOW and without O_CREAT, so a
// write can only land in the file restore itself created. Blobs are written at their final offset
// (pwrite), which lets packs be processed in any order and in parallel. All-zero blobs are not
// written at all: the file is truncated to its final size at the end, so zero regions stay holes and
// a sparse disk image restores sparse.
//
// Fifos and device nodes need mkfifo/mknod, which Node lacks; the tools take string paths, and
// restored names need not be valid UTF-8. So the node is made under an ASCII name in a private
// staging folder, given its metadata there, and hard-linked into place by Buffer path (link fails if
// the name exists, never replaces it).
import { execFile } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TreeNode } from '../repo';
import { applyMetadataToHandle, applySpecialMetadata, applySymlinkMetadata, runningAsRoot } from './metadata';

const execFileP = promisify(execFile);

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const REOPEN_FLAGS = constants.O_WRONLY | constants.O_NOFOLLOW;

export function errnoOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** The message for a name that already exists in the target (we never overwrite). */
export const EXISTS_MESSAGE = 'already exists in the target; restore into a new folder';

/** Creates an empty file (mode 0600 until its metadata is restored); refuses anything existing. */
export async function createFileExclusive(fsPath: Buffer): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(fsPath, CREATE_FLAGS, 0o600);
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') throw new Error(EXISTS_MESSAGE, { cause: e });
    throw e;
  }
  await fh.close();
}

const ZERO = Buffer.alloc(64 * 1024);

/** True if every byte is 0 (compared in native slices, not byte by byte in JS). */
export function isAllZero(b: Buffer): boolean {
  for (let off = 0; off < b.length; off += ZERO.length) {
    const n = Math.min(ZERO.length, b.length - off);
    if (!b.subarray(off, off + n).equals(n === ZERO.length ? ZERO : ZERO.subarray(0, n))) return false;
  }
  return true;
}

/**
 * Writes `data` at `offset` of a file restore created; never creates or follows anything. With
 * `finish`, this is the file's last write: it is completed through the same descriptor (size, then
 * owner, mode and times, last so no later write changes the mtime), which saves an open per file.
 * `data` may be null to only complete the file (its last blob was all zeros, or it has none).
 */
export async function writeAt(fsPath: Buffer, data: Buffer | null, offset: number, finish?: { size: number; node: TreeNode }): Promise<void> {
  const fh = await fsp.open(fsPath, REOPEN_FLAGS);
  try {
    let done = 0;
    while (data && done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
      if (bytesWritten <= 0) throw new Error('short write');
      done += bytesWritten;
    }
    if (finish) {
      // Sets the size even where the tail was never written: skipped zero blobs stay holes.
      await fh.truncate(finish.size);
      await applyMetadataToHandle(fh, finish.node);
    }
  } finally {
    await fh.close();
  }
}

/** Removes a partly restored file; a file already gone is fine. */
export async function removePartial(fsPath: Buffer): Promise<void> {
  try {
    await fsp.unlink(fsPath);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}

/** Creates a symlink (never overwriting) and restores its owner and times. */
export async function createSymlink(fsPath: Buffer, node: TreeNode): Promise<void> {
  try {
    await fsp.symlink(node.linktarget ?? Buffer.alloc(0), fsPath);
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') throw new Error(EXISTS_MESSAGE, { cause: e });
    throw e;
  }
  await applySymlinkMetadata(fsPath, node);
}

/** A second name for a file restore already completed (restic's restoreHardlinkAt). */
export async function createHardlink(existing: Buffer, fsPath: Buffer): Promise<void> {
  try {
    await fsp.link(existing, fsPath);
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') throw new Error(EXISTS_MESSAGE, { cause: e });
    throw e;
  }
}

/** Linux st_rdev encoding (glibc's gnu_dev_major/minor). */
export function splitDevice(rdev: number): { major: number; minor: number } {
  const d = BigInt(rdev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * Makes fifos and device nodes via a private staging folder inside the target. The folder is made
 * on first use (mkdtemp: 0700, unique) and removed by cleanup().
 */
export class SpecialNodeMaker {
  private staging: Promise<string> | undefined;
  private counter = 0;

  constructor(private readonly targetRoot: string) {}

  async create(fsPath: Buffer, node: TreeNode): Promise<void> {
    if ((node.type === 'dev' || node.type === 'chardev') && !runningAsRoot()) {
      throw new Error('device nodes can be restored only when running as root');
    }
    this.staging ??= fsp.mkdtemp(join(this.targetRoot, '.mamori-restore-'));
    const dir = await this.staging;
    const tmp = join(dir, String(this.counter++));
    try {
      if (node.type === 'fifo') {
        await execFileP('mkfifo', ['-m', '600', tmp]);
      } else {
        const { major, minor } = splitDevice(node.device ?? 0);
        await execFileP('mknod', ['-m', '600', tmp, node.type === 'chardev' ? 'c' : 'b', String(major), String(minor)]);
      }
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new Error(`cannot create the ${node.type === 'fifo' ? 'fifo' : 'device node'}: ${(err.stderr || err.message).trim()}`, { cause: e });
    }
    try {
      await applySpecialMetadata(tmp, node);
      await createHardlink(Buffer.from(tmp), fsPath);
    } finally {
      await fsp.unlink(tmp).catch(() => undefined);
    }
  }

  async cleanup(): Promise<void> {
    if (!this.staging) return;
    const dir = await this.staging.catch(() => undefined);
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  }
}
