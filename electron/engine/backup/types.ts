// What a backup run takes and reports. Progress goes through a callback (the engine never prints).
import type { SaveBlobResult } from '../repo';
import type { BlobType, ID, Snapshot, SnapshotWithId, TreeNode } from '../repo/types';

/**
 * Where a backup run stores what it reads: one Repository, or a fan-out over several destinations
 * that share a chunker polynomial (each file is then read and chunked once for all of them).
 */
export interface BackupTarget {
  readonly config: { chunkerPolynomial: string };
  loadIndex(): Promise<unknown>;
  listSnapshots(): Promise<SnapshotWithId[]>;
  /** True when every place the run writes to already holds the blob. */
  hasBlob(type: BlobType, id: ID): boolean;
  saveBlob(type: BlobType, plaintext: Buffer, knownId?: ID): Promise<SaveBlobResult>;
  loadTree(id: ID): Promise<TreeNode[]>;
  saveTree(nodes: TreeNode[]): Promise<ID>;
  /** Waits for background writes to end, ignoring their errors (before giving up a lock). */
  settle(): Promise<void>;
  flush(): Promise<void>;
  saveSnapshot(sn: Snapshot): Promise<ID>;
}

export interface BackupOptions {
  /** Folders and files to back up; made absolute. */
  paths: string[];
  tags?: string[];
  /** Parent snapshot for change detection; undefined = find the latest with the same paths and host. */
  parent?: SnapshotWithId | null;
  hostname?: string;
  /** Called often during the run (throttle on the receiving side). */
  onProgress?: (p: BackupProgress) => void;
  signal?: AbortSignal;
}

export interface BackupProgress {
  phase: 'scan' | 'backup' | 'finish';
  /** Totals from the scanner; they grow while scanning runs ahead of the backup. */
  filesTotal: number;
  bytesTotal: number;
  scanDone: boolean;
  filesDone: number;
  bytesDone: number;
  /** Bytes actually stored (new, compressed and encrypted). */
  bytesAdded: number;
  currentPath?: string;
}

export interface SourceError {
  path: string;
  message: string;
}

export interface BackupResult {
  snapshotId: ID;
  snapshot: SnapshotWithId;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  dirs: number;
  bytesRead: number;
  /** Bytes written to the repository (packs), after dedup and compression. */
  bytesAdded: number;
  blobsAdded: number;
  /** Files or folders that could not be read; the snapshot holds everything else. */
  errors: SourceError[];
}
