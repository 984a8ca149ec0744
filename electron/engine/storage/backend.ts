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
  close(): Promise<void>;
}
