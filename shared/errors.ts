// Machine-readable error codes shared by the engine, the CLI, the server and the UI.
// Every error a user may see carries a code (what the UI or CLI maps to words and actions), a message
// that names the object concerned (file, pack, snapshot) and, where there is one, what to do about it.

export const ErrorCode = {
  /** The password opens none of the repository's key files. */
  WrongPassword: 'WRONG_PASSWORD',
  /** The location exists but holds no restic repository (no config file). */
  NotARepository: 'NOT_A_REPOSITORY',
  /** The location does not exist or cannot be reached. */
  RepositoryMissing: 'REPOSITORY_MISSING',
  /** init on a location that already holds a repository. */
  RepositoryExists: 'REPOSITORY_EXISTS',
  /** Repository format version we do not understand. */
  UnsupportedVersion: 'UNSUPPORTED_VERSION',
  /** A repository file failed its MAC, hash or decoding. */
  CorruptObject: 'CORRUPT_OBJECT',
  /** A pack, index or snapshot that should exist does not. */
  MissingObject: 'MISSING_OBJECT',
  /** No snapshot matches the given ID, prefix or "latest". */
  SnapshotNotFound: 'SNAPSHOT_NOT_FOUND',
  /** A snapshot prefix matches several snapshots. */
  AmbiguousSnapshot: 'AMBIGUOUS_SNAPSHOT',
  /** Another process holds a conflicting lock on the repository. */
  RepositoryLocked: 'REPOSITORY_LOCKED',
  /** A tree node would make restore write outside its target (../, /, NUL, absolute). */
  UnsafePath: 'UNSAFE_PATH',
  /** A source file or folder could not be read. */
  SourceUnreadable: 'SOURCE_UNREADABLE',
  /** A path given on the command line or in a request does not exist. */
  PathNotFound: 'PATH_NOT_FOUND',
  /** The destination has no space left. */
  NoSpace: 'NO_SPACE',
  /** Permission denied on the destination. */
  PermissionDenied: 'PERMISSION_DENIED',
  /** A network or device error that may pass; retrying may help. */
  Transient: 'TRANSIENT',
  /** The request itself is malformed (bad arguments, failed validation). */
  InvalidRequest: 'INVALID_REQUEST',
  /** Removing the only key, or a key that does not exist. */
  KeyError: 'KEY_ERROR',
  /** A bug or an unexpected condition. */
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorDetails {
  /** The file, pack, snapshot or location concerned. */
  subject?: string;
  /** What the user can do about it, in plain words. */
  hint?: string;
}

export class MamoriError extends Error {
  readonly code: ErrorCode;
  readonly subject?: string;
  readonly hint?: string;
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MamoriError';
    this.code = code;
    this.subject = details.subject;
    this.hint = details.hint;
  }
}

export function isMamoriError(e: unknown, code?: ErrorCode): e is MamoriError {
  return e instanceof MamoriError && (code === undefined || e.code === code);
}
