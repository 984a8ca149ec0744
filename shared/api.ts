// The one contract between the UI and the engine, whatever carries it: Electron IPC (preload exposes
// window.mamori) or the headless server (HTTP POST /api/call + a WebSocket of events). Every request's
// params are validated with the schemas below on the receiving side before anything runs, so a
// malformed request gets a typed error (INVALID_REQUEST) and never reaches the engine.
// No Node or DOM types here: the renderer and the engine both import this file.

import { z } from 'zod';
import type { DestinationRecord, JobRecord, SourceRecord } from './domain/state';
import type { ProtectionReport, Warning } from './protection';

// ---- request schemas ------------------------------------------------------------------------------

const id = z.string().min(1).max(200);
const absPath = z.string().min(1).max(4096).refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');

export const schemas = {
  getOverview: z.object({}).strict(),
  setPassword: z.object({ password: z.string().min(8, 'use at least 8 characters').max(1024) }).strict(),
  addSource: z.object({
    name: z.string().min(1).max(200).optional(),
    paths: z.array(absPath).min(1).max(100),
    kind: z.enum(['folder', 'mail']).optional(),
    destinationIds: z.array(id).max(50).optional(),
  }).strict(),
  removeSource: z.object({ id }).strict(),
  addDestination: z.object({
    location: z.string().min(1).max(4096),
    name: z.string().min(1).max(200),
    mediaKind: z.string().min(1).max(40).optional(),
    place: z.string().min(1).max(40).optional(),
    firstUse: isoDate.optional(),
    purchased: isoDate.optional(),
    /** Secrets for this destination go straight to the secret store, never into the state database. */
    secrets: z.record(z.string().max(100), z.string().max(4096)).optional(),
    options: z.object({
      user: z.string().max(200).optional(),
      keyFile: absPath.optional(),
      region: z.string().max(100).optional(),
      pathStyle: z.boolean().optional(),
    }).strict().optional(),
  }).strict(),
  testDestination: z.object({ id }).strict(),
  removeDestination: z.object({ id }).strict(),
  backupNow: z.object({ sourceId: id.optional(), destinationIds: z.array(id).max(50).optional() }).strict(),
  listJobs: z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict(),
  listRestorePoints: z.object({ sourceId: id.optional() }).strict(),
  browse: z.object({ pointId: id, path: z.string().max(4096) }).strict(),
  search: z.object({ query: z.string().min(1).max(500), sourceId: id.optional(), limit: z.number().int().min(1).max(1000).optional() }).strict(),
  versions: z.object({ sourceId: id, path: absPath }).strict(),
  restore: z.object({
    pointId: id,
    /** Paths inside the restore point; empty = everything. */
    paths: z.array(z.string().max(4096)).max(10_000),
    /** beside: "name (restored 2026-11-22)" next to the original; folder: into `target`; in-place: current files moved aside first. */
    mode: z.enum(['beside', 'folder', 'in-place']),
    target: absPath.optional(),
    confirmInPlace: z.boolean().optional(),
  }).strict(),
  exportArchive: z.object({
    pointId: id,
    paths: z.array(z.string().max(4096)).max(10_000),
    format: z.enum(['zip', 'tar.gz']),
    target: absPath,
  }).strict(),
  /** Pause background work until a time (ISO), or resume with null. */
  setPaused: z.object({ until: z.string().datetime({ offset: true }).nullable() }).strict(),
  getSettings: z.object({}).strict(),
  updateSettings: z.object({
    language: z.enum(['auto', 'en', 'ja']).optional(),
    startAtLogin: z.boolean().optional(),
    excludes: z.array(z.string().max(1000)).max(1000).optional(),
  }).strict(),
} as const;

export type ApiMethod = keyof typeof schemas;
export type ApiParams<M extends ApiMethod> = z.infer<(typeof schemas)[M]>;

// ---- results ----------------------------------------------------------------------------------------

export interface RunningJob {
  jobId: number;
  kind: 'backup' | 'restore' | 'export' | 'check';
  sourceId?: string;
  title: string;
  startedAt: string;
  progress: JobProgress;
}

export interface JobProgress {
  phase: string;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  totalsFinal: boolean;
  /** Bytes per second over the last seconds; 0 when unknown. */
  rate: number;
  /** Seconds left, when it can be estimated. */
  etaSeconds?: number;
  currentPath?: string;
  destinations: { id: string; name: string; state: 'active' | 'dropped' | 'done' }[];
}

export interface Overview {
  /** No password or no source or no destination yet: show the first-run setup. */
  needsSetup: { password: boolean; source: boolean; destination: boolean };
  sources: SourceRecord[];
  destinations: (DestinationRecord & { connected: boolean; warnings: Warning[]; lastBackup?: string; lastVerified?: string })[];
  reports: ProtectionReport[];
  warnings: Warning[];
  running: RunningJob[];
  paused: boolean;
  pausedUntil?: string;
}

/** A snapshot, shown once however many destinations hold it. */
export interface RestorePoint {
  /** Stable ID for the UI: the snapshot ID of its first copy. */
  id: string;
  sourceId?: string;
  time: string;
  paths: string[];
  hostname: string;
  tags: string[];
  /** Where it exists: destination ID -> that destination's snapshot ID. */
  copies: { destinationId: string; destinationName: string; snapshotId: string }[];
  fileCount?: number;
  totalSize?: number;
}

export interface CatalogEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtime: string;
}

export interface SearchHit {
  pointId: string;
  time: string;
  path: string;
  type: CatalogEntry['type'];
  size: number;
}

export interface FileVersion {
  pointId: string;
  time: string;
  size: number;
  mtime: string;
  /** Content identity: versions with the same key hold the same bytes. */
  contentKey: string;
}

export interface Settings {
  language: 'auto' | 'en' | 'ja';
  startAtLogin: boolean;
  excludes: string[];
}

export interface ApiResults {
  getOverview: Overview;
  setPassword: { ok: true };
  addSource: SourceRecord;
  removeSource: { ok: true };
  addDestination: DestinationRecord & { created: boolean; importedSources: SourceRecord[] };
  testDestination: { ok: boolean; message: string; snapshots?: number; ms?: number };
  removeDestination: { ok: true };
  backupNow: { jobIds: number[] };
  listJobs: JobRecord[];
  listRestorePoints: RestorePoint[];
  browse: CatalogEntry[];
  search: SearchHit[];
  versions: FileVersion[];
  restore: { jobId: number; target: string };
  exportArchive: { jobId: number; target: string };
  setPaused: { paused: boolean; until?: string };
  getSettings: Settings;
  updateSettings: Settings;
}

// ---- events -----------------------------------------------------------------------------------------

export type MamoriEvent =
  | { type: 'job-started'; job: RunningJob }
  | { type: 'job-progress'; jobId: number; progress: JobProgress }
  | { type: 'job-finished'; jobId: number; kind: RunningJob['kind']; status: 'ok' | 'partial' | 'failed'; summary: string; errors: ApiError[] }
  | { type: 'warning'; warning: Warning }
  | { type: 'state-changed' };

// ---- the error shape and the typed client interface ---------------------------------------------------

export interface ApiError {
  code: string;
  message: string;
  subject?: string;
  hint?: string;
}

export type ApiResponse<M extends ApiMethod> = { ok: true; result: ApiResults[M] } | { ok: false; error: ApiError };

/** What the UI calls; implemented over IPC (preload) and over HTTP (headless). */
export interface MamoriApi {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResults[M]>;
  /** Returns an unsubscribe function. */
  subscribe(listener: (e: MamoriEvent) => void): () => void;
}

/** Validates a request; returns the typed params or an ApiError naming the field. */
export function validateRequest(method: unknown, params: unknown): { ok: true; method: ApiMethod; params: unknown } | { ok: false; error: ApiError } {
  if (typeof method !== 'string' || !Object.prototype.hasOwnProperty.call(schemas, method)) {
    return { ok: false, error: { code: 'INVALID_REQUEST', message: `unknown method ${JSON.stringify(method)}` } };
  }
  const schema = schemas[method as ApiMethod];
  const r = schema.safeParse(params ?? {});
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first?.path.length ? first.path.join('.') : 'params';
    return { ok: false, error: { code: 'INVALID_REQUEST', message: `${method}: ${where}: ${first?.message ?? 'invalid'}`, subject: where } };
  }
  return { ok: true, method: method as ApiMethod, params: r.data };
}
