// What a repository check takes and reports.
import type { BlobType, ID } from '../repo/types';

export interface CheckOptions {
  /** Also download every pack and verify every blob (MAC, decompression, SHA-256). */
  readData?: boolean;
  onProgress?: (p: CheckProgress) => void;
  signal?: AbortSignal;
}

export interface CheckProgress {
  /** 'affected' runs only when something is damaged: it maps the damage to snapshots and files. */
  phase: 'index' | 'packs' | 'snapshots' | 'trees' | 'read-data' | 'affected';
  done: number;
  total: number;
}

export type CheckProblemKind =
  | 'index-unreadable'
  | 'pack-missing'
  | 'pack-size-mismatch'
  | 'pack-unreadable'
  | 'pack-hash-mismatch'
  | 'pack-header-mismatch'
  | 'blob-damaged'
  | 'blob-missing'
  | 'tree-missing'
  | 'tree-unreadable'
  | 'node-invalid'
  | 'snapshot-unreadable';

export interface CheckProblem {
  kind: CheckProblemKind;
  /** The pack, index, snapshot, tree or blob concerned. */
  subject: string;
  message: string;
  /** The pack concerned, when there is one (so callers need not parse `subject`). */
  pack?: ID;
  /** The blob concerned, when there is one. */
  blob?: ID;
  blobType?: BlobType;
  /** Where the problem was first met, as an absolute path inside a snapshot (trees are checked once). */
  path?: string;
}

export interface AffectedSnapshot {
  snapshot: ID;
  time: string;
  paths: string[];
  /**
   * Files whose content is damaged or missing, and folders whose tree is (a folder stands for
   * everything below it): absolute paths inside the snapshot, as ls prints them, sorted, so they can
   * be passed to restore's `include` to fetch them from another destination.
   */
  files: string[];
}

export interface CheckResult {
  ok: boolean;
  errors: CheckProblem[];
  /** Harmless findings, e.g. packs no index lists (prune would remove them). */
  hints: string[];
  affected: AffectedSnapshot[];
  stats: { snapshots: number; packs: number; blobs: number; trees: number; bytesRead: number };
}
