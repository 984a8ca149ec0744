// The engine's single public entry. The CLI, the server and the Electron app import the engine only
// from here (and shared/); everything below electron/engine/ is free to change shape behind it.
import { ErrorCode, MamoriError } from '../../shared/errors';
import { connectLocation, type ConnectOptions } from './destinations/connect';
import { EnvSecretStore, type SecretStore } from './secrets/secret-store';
import type { Backend } from './storage';
import { LocalBackend } from './storage';
import { parseLocation } from './storage/location';

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

/**
 * Opens the storage backend for a repository location in restic's syntax: a path or `local:PATH`,
 * `sftp:user@host:/path`, `s3:https://host/bucket/prefix`, `rest:http://host:port/path/`,
 * `rclone:remote:path`. Credentials come from the secret store (environment variables for the
 * CLI: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MAMORI_SFTP_PASSWORD, ...).
 */
export async function openLocation(
  location: string,
  o: Omit<ConnectOptions, 'secrets'> & { secrets?: SecretStore } = {},
): Promise<{ backend: Backend; hostKey?: () => string | undefined }> {
  return connectLocation(parseLocation(location), { ...o, secrets: o.secrets ?? new EnvSecretStore() });
}

/** A local folder's backend (kept for callers that only ever deal with folders). */
export function openBackend(location: string): Backend {
  const loc = parseLocation(location);
  if (loc.kind !== 'local') {
    throw new MamoriError(ErrorCode.InvalidRequest, `${location} is not a local folder`, { subject: location });
  }
  return new LocalBackend(loc.path);
}

// ---- Mamori's state: sources, destinations, jobs, secrets, protection ----------------------------
export { openStateDb, mamoriHome } from './state/db';
export type { Db, OpenedDb } from './state/db';
export { StateStore } from './state/store';
export {
  SECRET,
  EnvSecretStore,
  PasswordFileStore,
  KeyringSecretStore,
  EncryptedDbSecretStore,
  SecretChain,
  envVarFor,
} from './secrets/secret-store';
export type { SecretStore, PlatformCipher } from './secrets/secret-store';
export { parseLocation } from './storage/location';
export type { Location } from './storage/location';
export { connectLocation } from './destinations/connect';
export type { ConnectOptions } from './destinations/connect';
export {
  addDestination,
  openDestination,
  backupSource,
  statusReport,
  destinationFacts,
  readMarker,
  writeMarker,
  MARKER_FILE,
} from './destinations/service';
export type { Services, AddDestinationInput, AddDestinationResult, BackupSourceOptions, StatusReport } from './destinations/service';
export { runBackupJob } from './jobs/backup-job';
export type { JobDestination, DestinationOutcome, BackupJobOptions, BackupJobProgress, BackupJobResult } from './jobs/backup-job';
export { FanOut } from './fanout/fanout';
export { destinationWarnings, protectionReport } from './health';

// ---- the app behind the UI (Electron IPC and the headless server wrap the same service) ---------
export { createAppService, MemorySecretStore } from './app/app-service';
export type { AppService, AppServiceOptions, CatalogPort } from './app/app-service';
export { restoreAction, freeSiblingName } from './app/restore-actions';
export { exportArchive } from './app/export-archive';
