// Restoring a node's metadata as restic 0.14 does (Node.restoreMetadata): owner first (chown clears
// setuid/setgid, so it must come before chmod), then the mode with setuid/setgid/sticky, then access
// and modification times. Symlinks get no chmod (Linux has none for links) and their own times.
//
// Why through file descriptors where possible: a file or folder is opened with O_NOFOLLOW and its
// metadata set with fchown/fchmod/futimes, so a path swapped for a symlink can never redirect a
// chmod to something outside the target. Only symlinks use path calls, and those (lchown, lutimes)
// do not follow links.
//
// Time precision: Node's utimes takes seconds as a double and libuv truncates to microseconds, so
// nanoseconds are lost. We aim at the middle of the wanted microsecond, so that double rounding can
// never push the result into the neighbouring microsecond.
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { unixModeFromGoFileMode } from '../backup';
import { parseGoTime } from '../repo';
import type { TreeNode } from '../repo';

const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;

function errnoOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** True when the process can restore owners and device nodes. */
export function runningAsRoot(): boolean {
  return isRoot;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/**
 * A Go RFC3339Nano time as what Node's utimes accepts, chosen so libuv lands on the right
 * microsecond. A numeric string rather than a number: Node replaces negative numbers (times
 * before 1970) by "now", but passes numeric strings through unchanged.
 */
export function utimesArg(goTime: string): string {
  const us = floorDiv(parseGoTime(goTime), 1000n);
  const sec = floorDiv(us, 1_000_000n);
  const frac = Number(us - sec * 1_000_000n);
  // libuv truncates towards zero: aim half a microsecond inwards from the wanted value.
  const v = us >= 0n ? Number(sec) + (frac + 0.5) / 1e6 : Number(sec) + (frac - 0.5) / 1e6;
  return String(v);
}

/** The chmod argument: permissions plus setuid, setgid and sticky (Go's os.Chmod does the same). */
export function chmodBits(node: TreeNode): number {
  return unixModeFromGoFileMode(node.mode) & 0o7777;
}

/**
 * chown as restic does it ("like cp -a and rsync -a"): always attempted (a normal user may still set
 * a group they belong to), but a permission error counts only when running as root.
 */
async function tryChown(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const code = errnoOf(e);
    if (!isRoot && (code === 'EPERM' || code === 'EINVAL')) return;
    throw e;
  }
}

/**
 * The content is in place but some metadata could not be set: restore keeps the file (as restic
 * does) and reports this, instead of treating the file as lost.
 */
export class MetadataError extends Error {
  override readonly name = 'MetadataError';
}

async function withStep(step: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    throw new MetadataError(`cannot restore ${step}: ${(e as Error).message}`, { cause: e });
  }
}

/** Owner, mode and times through an open file or folder descriptor. */
export async function applyMetadataToHandle(fh: FileHandle, node: TreeNode): Promise<void> {
  await withStep('the owner', () => tryChown(() => fh.chown(node.uid, node.gid)));
  await withStep('the permissions', () => fh.chmod(chmodBits(node)));
  await withStep('the times', () => fh.utimes(utimesArg(node.atime), utimesArg(node.mtime)));
}

/**
 * A folder's metadata, set after everything inside it was written (creating entries changes a
 * folder's mtime). Opened with O_DIRECTORY|O_NOFOLLOW: fails rather than follow a symlink.
 */
export async function applyDirMetadata(fsPath: Buffer, node: TreeNode): Promise<void> {
  const fh = await fsp.open(fsPath, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    await applyMetadataToHandle(fh, node);
  } finally {
    await fh.close();
  }
}

/** A symlink's owner and times, never touching what it points to. */
export async function applySymlinkMetadata(fsPath: Buffer, node: TreeNode): Promise<void> {
  await withStep('the owner', () => tryChown(() => fsp.lchown(fsPath, node.uid, node.gid)));
  await withStep('the times', () => fsp.lutimes(fsPath, utimesArg(node.atime), utimesArg(node.mtime)));
}

/**
 * Metadata of a fifo or device node at a path only restore can reach (its private staging folder):
 * such nodes cannot be opened without side effects, so path calls are used before the node is
 * linked into place.
 */
export async function applySpecialMetadata(fsPath: string, node: TreeNode): Promise<void> {
  await withStep('the owner', () => tryChown(() => fsp.lchown(fsPath, node.uid, node.gid)));
  await withStep('the permissions', () => fsp.chmod(fsPath, chmodBits(node)));
  await withStep('the times', () => fsp.lutimes(fsPath, utimesArg(node.atime), utimesArg(node.mtime)));
}
