// Typed access to the state database: the only place that writes SQL. Everything returned is a
// plain record from shared/domain/state.ts; JSON columns are parsed here and nowhere else.
// Names are unique and case-insensitive matches are accepted when looking things up, because people
// type "usb" for "USB".

import { randomUUID } from 'node:crypto';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import type {
  DestinationKind,
  DestinationOptions,
  DestinationRecord,
  JobDestinationRecord,
  JobDestinationStatus,
  JobRecord,
  JobStatus,
  SourceRecord,
} from '../../../shared/domain/state';
import type { Clock } from '../ports/clock';
import { systemClock } from '../ports/clock';
import type { Db } from './db';

interface SourceRow { id: string; name: string; kind: string; paths: string; excludes: string; created_at: string }
interface DestRow {
  id: string; name: string; location: string; kind: string; options: string; media_kind: string; place: string;
  first_use: string | null; purchased: string | null; volume_uuid: string | null; volume_path: string | null;
  host_key: string | null; append_only: number; last_connected: string | null; created_at: string;
}
interface JobRow { id: number; kind: string; source_id: string | null; started_at: string; finished_at: string | null; status: string; summary: string }
interface JobDestRow {
  job_id: number; destination_id: string; status: string; snapshot_id: string | null; snapshot_time: string | null;
  bytes_added: number; error: string | null; finished_at: string | null;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export interface NewDestination {
  id?: string;
  name: string;
  location: string;
  kind: DestinationKind;
  options?: DestinationOptions;
  mediaKind: string;
  place: string;
  firstUse?: string;
  purchased?: string;
  volumeUuid?: string;
  volumePath?: string;
  hostKey?: string;
  appendOnly?: boolean;
}

export class StateStore {
  private readonly clock: Clock;

  constructor(readonly db: Db, clock?: Clock) {
    this.clock = clock ?? systemClock;
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  // ---- sources ---------------------------------------------------------------------------------

  addSource(s: { name: string; paths: string[]; kind?: 'folder' | 'mail'; excludes?: string[]; destinationIds?: string[] }): SourceRecord {
    if (this.findSource(s.name)) {
      throw new MamoriError(ErrorCode.InvalidRequest, `a source named "${s.name}" already exists`, { subject: s.name, hint: 'Choose another name with --name.' });
    }
    for (const d of s.destinationIds ?? []) {
      if (!this.getDestination(d)) throw new MamoriError(ErrorCode.InvalidRequest, `no destination ${d}`, { subject: d, hint: 'See the list of destinations.' });
    }
    const id = randomUUID();
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO sources (id, name, kind, paths, excludes, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, s.name, s.kind ?? 'folder', JSON.stringify(s.paths), JSON.stringify(s.excludes ?? []), this.now());
      for (const d of s.destinationIds ?? []) this.link(id, d);
    })();
    return this.getSource(id)!;
  }

  link(sourceId: string, destinationId: string): void {
    this.db.prepare('INSERT OR IGNORE INTO source_destinations (source_id, destination_id) VALUES (?, ?)').run(sourceId, destinationId);
  }

  unlink(sourceId: string, destinationId: string): void {
    this.db.prepare('DELETE FROM source_destinations WHERE source_id = ? AND destination_id = ?').run(sourceId, destinationId);
  }

  private sourceFromRow(r: SourceRow): SourceRecord {
    const dests = this.db.prepare('SELECT destination_id FROM source_destinations WHERE source_id = ? ORDER BY rowid').all(r.id) as { destination_id: string }[];
    return {
      id: r.id,
      name: r.name,
      kind: r.kind === 'mail' ? 'mail' : 'folder',
      paths: JSON.parse(r.paths) as string[],
      excludes: JSON.parse(r.excludes) as string[],
      createdAt: r.created_at,
      destinationIds: dests.map((d) => d.destination_id),
    };
  }

  getSource(id: string): SourceRecord | undefined {
    const r = this.db.prepare('SELECT * FROM sources WHERE id = ?').get(id) as SourceRow | undefined;
    return r && this.sourceFromRow(r);
  }

  /** By ID or by name (case-insensitive). */
  findSource(ref: string): SourceRecord | undefined {
    const r = (this.db.prepare('SELECT * FROM sources WHERE id = ?').get(ref)
      ?? this.db.prepare('SELECT * FROM sources WHERE lower(name) = lower(?)').get(ref)) as SourceRow | undefined;
    return r && this.sourceFromRow(r);
  }

  listSources(): SourceRecord[] {
    return (this.db.prepare('SELECT * FROM sources ORDER BY created_at, name').all() as SourceRow[]).map((r) => this.sourceFromRow(r));
  }

  /** Forgets a source. Its snapshots stay on every destination. */
  removeSource(id: string): void {
    this.db.prepare('DELETE FROM sources WHERE id = ?').run(id);
  }

  // ---- destinations ----------------------------------------------------------------------------

  addDestination(d: NewDestination): DestinationRecord {
    if (this.findDestination(d.name)) {
      throw new MamoriError(ErrorCode.InvalidRequest, `a destination named "${d.name}" already exists`, { subject: d.name, hint: 'Choose another name with --name.' });
    }
    const id = d.id ?? randomUUID();
    if (this.getDestination(id)) {
      throw new MamoriError(ErrorCode.InvalidRequest, `this repository is already a destination ("${this.getDestination(id)!.name}")`, { subject: d.location });
    }
    this.db.prepare(`INSERT INTO destinations (id, name, location, kind, options, media_kind, place, first_use, purchased,
      volume_uuid, volume_path, host_key, append_only, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(id, d.name, d.location, d.kind, JSON.stringify(d.options ?? {}), d.mediaKind, d.place, d.firstUse ?? null, d.purchased ?? null,
        d.volumeUuid ?? null, d.volumePath ?? null, d.hostKey ?? null, d.appendOnly ? 1 : 0, this.now());
    return this.getDestination(id)!;
  }

  private destFromRow(r: DestRow): DestinationRecord {
    return {
      id: r.id,
      name: r.name,
      location: r.location,
      kind: r.kind as DestinationKind,
      options: JSON.parse(r.options) as DestinationOptions,
      mediaKind: r.media_kind,
      place: r.place,
      firstUse: opt(r.first_use),
      purchased: opt(r.purchased),
      volumeUuid: opt(r.volume_uuid),
      volumePath: opt(r.volume_path),
      hostKey: opt(r.host_key),
      appendOnly: r.append_only === 1,
      lastConnected: opt(r.last_connected),
      createdAt: r.created_at,
    };
  }

  getDestination(id: string): DestinationRecord | undefined {
    const r = this.db.prepare('SELECT * FROM destinations WHERE id = ?').get(id) as DestRow | undefined;
    return r && this.destFromRow(r);
  }

  findDestination(ref: string): DestinationRecord | undefined {
    const r = (this.db.prepare('SELECT * FROM destinations WHERE id = ?').get(ref)
      ?? this.db.prepare('SELECT * FROM destinations WHERE lower(name) = lower(?)').get(ref)) as DestRow | undefined;
    return r && this.destFromRow(r);
  }

  listDestinations(): DestinationRecord[] {
    return (this.db.prepare('SELECT * FROM destinations ORDER BY created_at, name').all() as DestRow[]).map((r) => this.destFromRow(r));
  }

  updateDestination(id: string, patch: Partial<Pick<DestinationRecord, 'name' | 'location' | 'mediaKind' | 'place' | 'firstUse' | 'purchased' | 'hostKey' | 'lastConnected' | 'volumeUuid' | 'volumePath' | 'appendOnly'>>): void {
    const cols: Record<string, string> = {
      name: 'name', location: 'location', mediaKind: 'media_kind', place: 'place', firstUse: 'first_use', purchased: 'purchased',
      hostKey: 'host_key', lastConnected: 'last_connected', volumeUuid: 'volume_uuid', volumePath: 'volume_path', appendOnly: 'append_only',
    };
    // Names stay unique ignoring case, as addDestination keeps them, or finding "usb" would be ambiguous.
    const other = patch.name !== undefined ? this.findDestination(patch.name) : undefined;
    if (other && other.id !== id) {
      throw new MamoriError(ErrorCode.InvalidRequest, `a destination named "${other.name}" already exists`, { subject: patch.name, hint: 'Choose another name.' });
    }
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(patch)) {
        const col = cols[k];
        if (!col) continue;
        const value = typeof v === 'boolean' ? (v ? 1 : 0) : (v ?? null);
        this.db.prepare(`UPDATE destinations SET ${col} = ? WHERE id = ?`).run(value, id);
      }
    })();
  }

  /** Forgets a destination. Nothing on the destination itself is touched. */
  removeDestination(id: string): void {
    this.db.prepare('DELETE FROM destinations WHERE id = ?').run(id);
  }

  // ---- jobs ------------------------------------------------------------------------------------

  startJob(kind: JobRecord['kind'], sourceId: string | undefined, destinationIds: string[]): number {
    const now = this.now();
    return this.db.transaction(() => {
      const r = this.db.prepare('INSERT INTO jobs (kind, source_id, started_at, status) VALUES (?, ?, ?, ?)').run(kind, sourceId ?? null, now, 'running');
      const id = Number(r.lastInsertRowid);
      const ins = this.db.prepare('INSERT INTO job_destinations (job_id, destination_id, status) VALUES (?, ?, ?)');
      for (const d of destinationIds) ins.run(id, d, 'running');
      return id;
    })();
  }

  recordDestination(jobId: number, o: { destinationId: string; status: JobDestinationStatus; snapshotId?: string; snapshotTime?: string; bytesAdded?: number; error?: JobDestinationRecord['error'] }): void {
    this.db.prepare(`UPDATE job_destinations SET status = ?, snapshot_id = ?, snapshot_time = ?, bytes_added = ?, error = ?, finished_at = ?
      WHERE job_id = ? AND destination_id = ?`)
      .run(o.status, o.snapshotId ?? null, o.snapshotTime ?? null, o.bytesAdded ?? 0, o.error ? JSON.stringify(o.error) : null, this.now(), jobId, o.destinationId);
  }

  finishJob(jobId: number, status: JobStatus, summary: Record<string, unknown> = {}): void {
    this.db.prepare('UPDATE jobs SET status = ?, finished_at = ?, summary = ? WHERE id = ?').run(status, this.now(), JSON.stringify(summary), jobId);
    // A destination still "running" when its job ends was never reached.
    this.db.prepare("UPDATE job_destinations SET status = 'pending', finished_at = ? WHERE job_id = ? AND status = 'running'").run(this.now(), jobId);
  }

  /**
   * Jobs left "running" by a process that died (kill -9, power cut). Marks them interrupted and
   * returns the destinations they were writing to: their next run adopts the packs that landed.
   */
  recoverInterruptedJobs(isAlive: (jobId: number) => boolean = () => false): string[] {
    const rows = this.db.prepare("SELECT id FROM jobs WHERE status = 'running'").all() as { id: number }[];
    const dests = new Set<string>();
    for (const { id } of rows) {
      if (isAlive(id)) continue;
      for (const d of this.db.prepare("SELECT destination_id FROM job_destinations WHERE job_id = ? AND status = 'running'").all(id) as { destination_id: string }[]) {
        dests.add(d.destination_id);
      }
      this.finishJob(id, 'interrupted');
    }
    return [...dests];
  }

  private jobFromRow(r: JobRow): JobRecord {
    const dests = (this.db.prepare('SELECT * FROM job_destinations WHERE job_id = ? ORDER BY rowid').all(r.id) as JobDestRow[]).map((d): JobDestinationRecord => ({
      destinationId: d.destination_id,
      status: d.status as JobDestinationStatus,
      snapshotId: opt(d.snapshot_id),
      snapshotTime: opt(d.snapshot_time),
      bytesAdded: d.bytes_added,
      error: d.error ? (JSON.parse(d.error) as JobDestinationRecord['error']) : undefined,
      finishedAt: opt(d.finished_at),
    }));
    return {
      id: r.id,
      kind: r.kind as JobRecord['kind'],
      sourceId: opt(r.source_id),
      startedAt: r.started_at,
      finishedAt: opt(r.finished_at),
      status: r.status as JobStatus,
      summary: JSON.parse(r.summary) as Record<string, unknown>,
      destinations: dests,
    };
  }

  listJobs(limit = 50, sourceId?: string): JobRecord[] {
    const rows = sourceId
      ? this.db.prepare('SELECT * FROM jobs WHERE source_id = ? ORDER BY id DESC LIMIT ?').all(sourceId, limit)
      : this.db.prepare('SELECT * FROM jobs ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as JobRow[]).map((r) => this.jobFromRow(r));
  }

  /** Newest successful backup of a source to a destination: when, and the snapshot's own time. */
  lastBackupOk(destinationId: string, sourceId?: string): { at: string; snapshotId?: string; snapshotTime?: string } | undefined {
    const r = this.db.prepare(`SELECT jd.finished_at AS at, jd.snapshot_id AS sid, jd.snapshot_time AS st FROM job_destinations jd JOIN jobs j ON j.id = jd.job_id
      WHERE jd.destination_id = ? AND jd.status = 'ok' ${sourceId ? 'AND j.source_id = ?' : ''} ORDER BY jd.finished_at DESC LIMIT 1`)
      .get(...(sourceId ? [destinationId, sourceId] : [destinationId])) as { at: string; sid: string | null; st: string | null } | undefined;
    return r ? { at: r.at, snapshotId: opt(r.sid), snapshotTime: opt(r.st) } : undefined;
  }

  lastBackupAttempt(destinationId: string): string | undefined {
    const r = this.db.prepare("SELECT max(finished_at) AS at FROM job_destinations WHERE destination_id = ? AND status != 'running'").get(destinationId) as { at: string | null };
    return opt(r.at);
  }

  /**
   * Destinations whose last job ended pending (unreachable): they are owed a run. Job history
   * outlives a forgotten destination, so only destinations still known are returned.
   */
  pendingDestinations(): string[] {
    const rows = this.db.prepare(`SELECT jd.destination_id AS d, jd.status AS s FROM job_destinations jd
      JOIN (SELECT destination_id, max(job_id) AS j FROM job_destinations GROUP BY destination_id) last
      ON last.destination_id = jd.destination_id AND last.j = jd.job_id
      WHERE jd.destination_id IN (SELECT id FROM destinations)`).all() as { d: string; s: string }[];
    return rows.filter((r) => r.s === 'pending').map((r) => r.d);
  }

  // ---- verification ----------------------------------------------------------------------------

  recordVerification(destinationId: string, ok: boolean, readData: boolean, problems: string[] = []): void {
    this.db.prepare('INSERT INTO verifications (destination_id, at, ok, read_data, problems) VALUES (?, ?, ?, ?, ?)')
      .run(destinationId, this.now(), ok ? 1 : 0, readData ? 1 : 0, JSON.stringify(problems));
  }

  lastVerification(destinationId: string): { lastOk?: string; lastFailedAfterOk?: string } {
    const ok = this.db.prepare('SELECT max(at) AS at FROM verifications WHERE destination_id = ? AND ok = 1').get(destinationId) as { at: string | null };
    const bad = this.db.prepare('SELECT max(at) AS at FROM verifications WHERE destination_id = ? AND ok = 0').get(destinationId) as { at: string | null };
    const lastOk = opt(ok.at);
    const lastBad = opt(bad.at);
    return { lastOk, lastFailedAfterOk: lastBad && (!lastOk || lastBad > lastOk) ? lastBad : undefined };
  }

  // ---- settings --------------------------------------------------------------------------------

  getSetting<T>(key: string): T | undefined {
    const r = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return r ? (JSON.parse(r.value) as T) : undefined;
  }

  setSetting(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }
}
