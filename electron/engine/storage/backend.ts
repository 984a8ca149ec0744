// The storage interface every destination implements. It knows files, not repositories: a handle is
// a restic file type plus a name, and each backend maps it to its own layout (restic's default layout:
// data/<2 hex>/<id>, keys/<id>, snapshots/<id>, index/<id>, locks/<id>, config).
// Wrappers (retry, read-only, throttle, fault injection) implement the same interface around a backend.

export type FileType = 'config' | 'key' | 'snapshot' | 'index' | 'lock' | 'data';

export interface Handle {
  type: FileType;
  /** The file's name: its ID, or "" for config. */
  name: string;
}

export interface FileInfo {
  name: string;
  size: number;
}

export type BackendErrorKind = 'not-found' | 'permission' | 'transient' | 'no-space' | 'other';

/** Errors thrown by a backend are classified so callers can decide to retry, wait or give up. */
export class BackendError extends Error {
  readonly kind: BackendErrorKind;
  readonly handle?: Handle;
  constructor(kind: BackendErrorKind, message: string, handle?: Handle, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendError';
    this.kind = kind;
    this.handle = handle;
  }
}

/** Names allowed for files in the app/ folder: no separators, no dot files, nothing that can escape. */
export const APP_FILE_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function checkAppFileName(name: string): void {
  if (!APP_FILE_NAME_RE.test(name) || name.includes('..')) {
    throw new BackendError('other', `invalid app file name "${name}"`);
  }
}

export interface Backend {
  /** Human-readable location, e.g. a path or sftp:user@host:/path; never contains secrets. */
  readonly location: string;
  /** Create the repository layout (folders). Fails if a config already exists. */
  create(): Promise<void>;
  /**
   * Store a file atomically and durably: readers see either nothing or all of it, and once this
   * resolves the data survives a crash. Saving over an existing file (config included) is an error:
   * files are content-addressed, so an existing name holds either the same bytes or damage.
   */
  save(h: Handle, data: Buffer): Promise<void>;
  /**
   * Read a whole file, or from `offset` to the end, or exactly `length` bytes from `offset`.
   * Throws BackendError('not-found') if absent; a range beyond the end of the file (a short read)
   * is an error naming the file, never a silently shorter buffer.
   */
  load(h: Handle, offset?: number, length?: number): Promise<Buffer>;
  /** Size of a file; throws BackendError('not-found') if absent. */
  stat(h: Handle): Promise<FileInfo>;
  /**
   * All files of a type (names are 64 lowercase hex; for config, one entry named "" if it exists).
   * Temporary and foreign files are skipped, never removed. An empty or missing type folder yields nothing.
   */
  list(type: FileType): AsyncIterable<FileInfo>;
  /** Delete a file (read-only files included). Throws BackendError('not-found') if absent. */
  remove(h: Handle): Promise<void>;
  /** True if the location exists and holds a config file. */
  hasConfig(): Promise<boolean>;
  /**
   * Mamori's own small files in the repository's `app/` folder (restic ignores it): the destination
   * marker with its ID and media facts, so a drive is recognised and its facts survive a reinstall.
   * Unlike repository files these are replaced atomically. Names match APP_FILE_NAME_RE.
   * Backends whose protocol has no room for them (restic's REST protocol) throw
   * BackendError('other') from writeAppFile and return undefined from readAppFile.
   */
  writeAppFile(name: string, data: Buffer): Promise<void>;
  /** The app file's bytes, or undefined if it does not exist. */
  readAppFile(name: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}
