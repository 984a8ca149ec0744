// What a repository check takes and reports.
import type { ID } from '../repo/types';

export interface CheckOptions {
  /** Also download every pack and verify every blob (MAC, decompression, SHA-256). */
  readData?: boolean;
  onProgress?: (p: CheckProgress) => void;
  signal?: AbortSignal;
}

export interface CheckProgress {
  phase: 'index' | 'packs' | 'snapshots' | 'trees' | 'read-data';
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
  | 'tree-unreadable'
  | 'snapshot-unreadable';

export interface CheckProblem {
  kind: CheckProblemKind;
  /** The pack, index, snapshot, tree or blob concerned. */
  subject: string;
  message: string;
}

export interface AffectedSnapshot {
  snapshot: ID;
  time: string;
  paths: string[];
  /** Files (absolute paths inside the snapshot) whose content or subtree is damaged or missing. */
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
