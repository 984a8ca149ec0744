// Safe path handling for restore: which tree node names may become file names, how snapshot paths
// map to file system paths, and how a folder inside the target is made or checked without ever
// following a symlink.
//
// Why this exists: a repository is data from elsewhere (another machine, a cloud bucket, a stranger's
// drive). A hostile or damaged tree can carry names such as "..", "a/b" or "/etc", or a symlink
// followed by a folder of the same name, hoping restore writes through it. Every name is checked
// here, every folder component is verified with lstat to be a real directory, and files are created
// elsewhere with O_EXCL|O_NOFOLLOW, so restore never writes outside its target.
//
// Paths are Buffers end to end: Linux names need not be UTF-8, and a JS string would lose such bytes.
// Display strings (for errors and progress) are lossy UTF-8, U+FFFD for invalid bytes.
import { promises as fsp } from 'node:fs';
import { ErrorCode, MamoriError } from '../../../shared/errors';

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * Why a tree node name must not be used as a file name, or undefined when it is safe. restic 0.14
 * refuses names whose filepath.Base differs from the name; we spell the same rule out byte-wise.
 */
export function unsafeNameReason(name: Buffer): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.length === 1 && name[0] === DOT) return 'the name is "."';
  if (name.length === 2 && name[0] === DOT && name[1] === DOT) return 'the name is ".."';
  if (name.includes(SLASH)) return 'the name contains "/"';
  if (name.includes(0)) return 'the name contains a NUL byte';
  return undefined;
}

/** A name for messages: lossy UTF-8, control characters escaped so a name cannot forge a message. */
export function displayName(name: Buffer): string {
  return JSON.stringify(name.toString('utf8'));
}

/** Lossy UTF-8 text of a snapshot path, for errors and progress. */
export function displayPath(p: Buffer): string {
  return p.length === 0 ? '/' : p.toString('utf8');
}

/** Appends one (already checked) name to a snapshot path; the root is the empty Buffer. */
export function childPath(parent: Buffer, name: Buffer): Buffer {
  return Buffer.concat([parent, Buffer.from('/'), name]);
}

/** True if `p` equals `prefix` or lies below it ("/a/b" is below "/a", "/ab" is not). */
export function isSameOrBelow(p: Buffer, prefix: Buffer): boolean {
  if (prefix.length === 0) return true;
  if (p.length < prefix.length) return false;
  if (p.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) return false;
  return p.length === prefix.length || p[prefix.length] === SLASH;
}

/**
 * An include path as given by a user ("/home/me/x", "/home/me/x/", "//home/me") to the canonical
 * snapshot path Buffer: no empty components, no trailing slash, root = empty Buffer.
 * "." and ".." components are refused rather than resolved: the user means a path as ls shows it.
 */
export function normalizeSnapshotPath(p: string): Buffer {
  if (!p.startsWith('/')) {
    throw new MamoriError(ErrorCode.InvalidRequest, `include path ${JSON.stringify(p)} must be absolute, as ls shows it (e.g. /home/me/Documents)`);
  }
  const parts = p.split('/').filter((c) => c !== '');
  if (parts.some((c) => c === '.' || c === '..')) {
    throw new MamoriError(ErrorCode.InvalidRequest, `include path ${JSON.stringify(p)} must not contain "." or ".." components`);
  }
  return Buffer.from(parts.map((c) => '/' + c).join(''), 'utf8');
}

function errnoOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Thrown when something in the target would make restore follow a symlink or replace a non-folder. */
export class UnsafePathError extends MamoriError {
  constructor(message: string, subject: string) {
    super(ErrorCode.UnsafePath, message, { subject, hint: 'Restore into a new, empty folder.' });
  }
}

/**
 * Makes `fsPath` a directory (mode 0700 as restic: the real mode is set after its contents) or
 * checks that what is already there is a real directory and not a symlink to one. The parent must
 * already have been verified the same way; that chain of checks from the target down is what keeps
 * every write inside the target.
 * Returns true when the folder was created, false when an existing folder was reused.
 */
export async function ensureRealDir(fsPath: Buffer, display: string): Promise<boolean> {
  try {
    await fsp.mkdir(fsPath, { mode: 0o700 });
    // Verified anyway: mkdir succeeded, but we trust lstat, not assumptions about races.
    const st = await fsp.lstat(fsPath);
    if (!st.isDirectory()) throw new UnsafePathError(`${display}: the folder just created is not a folder any more`, display);
    return true;
  } catch (e) {
    if (errnoOf(e) !== 'EEXIST') throw e;
  }
  const st = await fsp.lstat(fsPath);
  if (st.isSymbolicLink()) {
    throw new UnsafePathError(`${display}: the target holds a symlink where this folder goes; refusing to restore through it (restore into a new folder)`, display);
  }
  if (!st.isDirectory()) {
    throw new UnsafePathError(`${display}: the target already holds something that is not a folder here (restore into a new folder)`, display);
  }
  return false;
}
