// The engine's single public entry. The CLI, the server and the Electron app import the engine only
// from here (and shared/); everything below electron/engine/ is free to change shape behind it.
import { ErrorCode, MamoriError } from '../../shared/errors';
import type { Backend } from './storage';
import { LocalBackend } from './storage';

// ---- repository format -------------------------------------------------------------------------
export { Repository, DEFAULT_KDF, DEFAULT_PACK_SIZE, formatGoTime, parseGoTime } from './repo';
export type {
  RepositoryOptions,
  InitOptions,
  KeyInfo,
  KdfParams,
  IndexLoadProblem,
  ID,
  BlobType,
  NodeType,
  RepoConfig,
  TreeNode,
  Snapshot,
  SnapshotWithId,
} from './repo';

// ---- storage -----------------------------------------------------------------------------------
export { LocalBackend, BackendError } from './storage';
export type { Backend, BackendErrorKind, FileInfo, FileType, Handle } from './storage';

// ---- operations --------------------------------------------------------------------------------
export { backup } from './backup';
export type { BackupOptions, BackupProgress, BackupResult, SourceError } from './backup/types';
export { restoreSnapshot, walkTree, findNode } from './restore';
export type { RestoreOptions, RestoreProgress, RestoreError, RestoreResult } from './restore/types';
export { checkRepository } from './check';
export type { CheckOptions, CheckProgress, CheckProblem, CheckProblemKind, CheckResult, AffectedSnapshot } from './check/types';

/** Location schemes restic knows that Mamori does not open yet. */
const UNSUPPORTED_SCHEMES = ['sftp', 's3', 'rest', 'rclone', 'b2', 'azure', 'gs', 'swift'];

/**
 * Opens the storage backend for a repository location as restic spells it:
 * - a plain path (relative paths are resolved against the working directory), or `local:PATH`;
 * - `sftp:`, `s3:`, `rest:`, `rclone:` (and restic's other remote schemes) are not supported yet
 *   and throw MamoriError(InvalidRequest).
 */
export function openBackend(location: string): Backend {
  if (!location) {
    throw new MamoriError(ErrorCode.InvalidRequest, 'no repository location given', {
      hint: 'Give a folder, e.g. --repo /media/usb/backup.',
    });
  }
  if (location.startsWith('local:')) {
    const path = location.slice('local:'.length);
    if (!path) throw new MamoriError(ErrorCode.InvalidRequest, `"${location}" names no folder`, { subject: location });
    return new LocalBackend(path);
  }
  const scheme = /^([a-z0-9]+):/.exec(location)?.[1];
  if (scheme && UNSUPPORTED_SCHEMES.includes(scheme)) {
    throw new MamoriError(ErrorCode.InvalidRequest, `${scheme}: repositories are not supported yet (${location})`, {
      subject: location,
      hint: 'Use a local folder or a mounted drive for now.',
    });
  }
  return new LocalBackend(location);
}
