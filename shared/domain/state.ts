// The records Mamori keeps about what it protects and where: shared by the engine, the CLI, the
// server and the UI. No secrets ever appear in these records: passwords and cloud keys live in the
// secret store and are referred to by name only.

export type DestinationKind = 'local' | 'sftp' | 's3' | 'rest' | 'rclone';

export interface SourceRecord {
  id: string;
  name: string;
  kind: 'folder' | 'mail';
  paths: string[];
  excludes: string[];
  createdAt: string;
  /** Destinations this source is backed up to. */
  destinationIds: string[];
}

/** Non-secret connection details per kind. */
export interface DestinationOptions {
  /** SFTP: login name and private key file (the key's passphrase, if any, is a secret). */
  user?: string;
  keyFile?: string;
  /** S3: region; path-style addressing (default true for non-AWS endpoints). */
  region?: string;
  pathStyle?: boolean;
  /** A file holding the repository password (the CLI's --password-file), instead of the secret store. */
  passwordFile?: string;
}

export interface DestinationRecord {
  id: string;
  name: string;
  /** restic location syntax, without credentials. */
  location: string;
  kind: DestinationKind;
  options: DestinationOptions;
  mediaKind: string;
  place: string;
  firstUse?: string;
  purchased?: string;
  volumeUuid?: string;
  volumePath?: string;
  hostKey?: string;
  appendOnly: boolean;
  lastConnected?: string;
  createdAt: string;
}

export type JobStatus = 'running' | 'ok' | 'partial' | 'failed' | 'interrupted';
export type JobDestinationStatus = 'running' | 'ok' | 'pending' | 'failed';

export interface JobDestinationRecord {
  destinationId: string;
  status: JobDestinationStatus;
  snapshotId?: string;
  snapshotTime?: string;
  bytesAdded: number;
  error?: { code: string; message: string; hint?: string };
  finishedAt?: string;
}

export interface JobRecord {
  id: number;
  kind: 'backup' | 'check' | 'restore';
  sourceId?: string;
  startedAt: string;
  finishedAt?: string;
  status: JobStatus;
  summary: Record<string, unknown>;
  destinations: JobDestinationRecord[];
}

/** The facts kept in each destination's app/mamori-destination.json, so they survive a reinstall. */
export interface DestinationMarker {
  format: 1;
  id: string;
  name: string;
  mediaKind: string;
  place: string;
  firstUse?: string;
  purchased?: string;
  createdBy: string;
  updatedAt: string;
}
