// What a restore run takes and reports.
import type { ErrorCode } from '../../../shared/errors';

export interface RestoreOptions {
  /** Folder to restore into; the snapshot's absolute paths are recreated below it (as restic 0.14). */
  target: string;
  /**
   * Restore only these paths of the snapshot (absolute, as listed by ls, e.g. /home/me/Documents/a.txt)
   * and everything below them. Default: everything.
   */
  include?: string[];
  onProgress?: (p: RestoreProgress) => void;
  signal?: AbortSignal;
}

export interface RestoreProgress {
  filesTotal: number;
  bytesTotal: number;
  filesDone: number;
  bytesDone: number;
  currentPath?: string;
}

export interface RestoreError {
  /** Path inside the snapshot (absolute, as in ls). */
  path: string;
  message: string;
  /** Machine-readable kind where there is one (UNSAFE_PATH for a refused name or a symlink in the way). */
  code?: ErrorCode;
}

export interface RestoreResult {
  filesRestored: number;
  dirsRestored: number;
  bytesRestored: number;
  /** What could not be restored, by path; the rest was restored. */
  errors: RestoreError[];
}
