// Sources and destinations as the user manages them: add a destination (create its repository with
// Mamori's shared chunker polynomial, or adopt an existing one and its marker), back a source up to
// its destinations with the job history recorded, and the protection report over all of it.
// The CLI, the headless server and the desktop app all go through here.

import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import { ErrorCode, MamoriError, isMamoriError } from '../../../shared/errors';
import type { DestinationKind, DestinationMarker, DestinationOptions, DestinationRecord, SourceRecord } from '../../../shared/domain/state';
import { isMediaKind, isPlace, type DestinationFacts, type MediaKind, type Place, type ProtectionReport, type Warning } from '../../../shared/protection';
import { destinationWarnings, protectionReport } from '../health';
import { runBackupJob, type BackupJobOptions, type BackupJobResult, type JobDestination } from '../jobs/backup-job';
import type { Clock } from '../ports/clock';
import { systemClock } from '../ports/clock';
import { Repository, type KdfParams } from '../repo';
import type { SecretStore } from '../secrets/secret-store';
import type { StateStore } from '../state/store';
import type { Backend } from '../storage/backend';
import { LocalBackend } from '../storage/local';
import { parseLocation } from '../storage/location';
import { connectDestination, connectLocation, repositoryPassword, type ConnectOptions } from './connect';
import { candidatePaths, volumeIdentity } from './volume';

export const MARKER_FILE = 'mamori-destination.json';
const POLY_SETTING = 'chunkerPolynomial';

export interface Services {
  store: StateStore;
  secrets: SecretStore;
  clock?: Clock;
  hostname?: string;
  /** scrypt cost for new repositories (tests make it cheap). */
  kdf?: KdfParams;
  retry?: ConnectOptions['retry'];
  onNewHostKey?: ConnectOptions['onNewHostKey'];
}

function now(s: Services): Date {
  return (s.clock ?? systemClock).now();
}

// ---- marker --------------------------------------------------------------------------------------

export async function readMarker(backend: Backend): Promise<DestinationMarker | undefined> {
  let raw: Buffer | undefined;
  try {
    raw = await backend.readAppFile(MARKER_FILE);
  } catch {
    return undefined;
  }
  if (!raw) return undefined;
  try {
    const m = JSON.parse(raw.toString('utf8')) as DestinationMarker;
    return m.format === 1 && typeof m.id === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the marker where the protocol allows (not on REST servers); failure is not fatal. */
export async function writeMarker(backend: Backend, rec: DestinationRecord, at: Date): Promise<boolean> {
  const m: DestinationMarker = {
    format: 1,
    id: rec.id,
    name: rec.name,
    mediaKind: rec.mediaKind,
    place: rec.place,
    ...(rec.firstUse ? { firstUse: rec.firstUse } : {}),
    ...(rec.purchased ? { purchased: rec.purchased } : {}),
    createdBy: 'Mamori',
    updatedAt: at.toISOString(),
  };
  try {
    await backend.writeAppFile(MARKER_FILE, Buffer.from(JSON.stringify(m, null, 2) + '\n'));
    return true;
  } catch {
    return false;
  }
}

// ---- adding destinations -------------------------------------------------------------------------

export interface AddDestinationInput {
  location: string;
  name: string;
  mediaKind?: string;
  place?: string;
  firstUse?: string;
  purchased?: string;
  options?: DestinationOptions;
  /** The repository password for this destination; default: Mamori's repository password from the secret store. */
  password?: string;
  /** Link every existing source to it (default true when it is new). */
  linkAllSources?: boolean;
}

export interface AddDestinationResult {
  destination: DestinationRecord;
  /** A new repository was created (false: an existing one was adopted). */
  created: boolean;
  /** Sources recreated from the snapshots of an adopted repository (state rebuilt from a destination). */
  importedSources: SourceRecord[];
  markerWritten: boolean;
}

function defaultMedia(kind: DestinationKind): MediaKind {
  return kind === 'local' ? 'external-hdd' : kind === 'sftp' || kind === 'rest' ? 'nas' : 'cloud';
}

function defaultPlace(kind: DestinationKind): Place {
  return kind === 's3' || kind === 'rclone' ? 'offsite' : 'home';
}

function checkDate(v: string | undefined, what: string): void {
  if (v !== undefined && (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(Date.parse(v)))) {
    throw new MamoriError(ErrorCode.InvalidRequest, `${what} "${v}" is not a date`, { hint: 'Write it as YYYY-MM-DD.' });
  }
}

export async function addDestination(s: Services, input: AddDestinationInput): Promise<AddDestinationResult> {
  const loc = parseLocation(input.location);
  const media = input.mediaKind ?? defaultMedia(loc.kind);
  const place = input.place ?? defaultPlace(loc.kind);
  if (!isMediaKind(media)) throw new MamoriError(ErrorCode.InvalidRequest, `unknown media kind "${media}"`, { hint: 'One of: internal-hdd, external-hdd, ssd, usb-flash, sd-card, cd-r, dvd-r, bd-r, m-disc, tape, nas, cloud.' });
  if (!isPlace(place)) throw new MamoriError(ErrorCode.InvalidRequest, `unknown place "${place}"`, { hint: 'One of: home, office, offsite.' });
  checkDate(input.firstUse, 'first use');
  checkDate(input.purchased, 'purchase date');
  if (s.store.findDestination(input.name)) {
    throw new MamoriError(ErrorCode.InvalidRequest, `a destination named "${input.name}" already exists`, { subject: input.name, hint: 'Choose another name.' });
  }
  let pinnedKey: string | undefined;
  const { backend, hostKey } = await connectLocation(loc, {
    secrets: s.secrets,
    ...(input.options ? { options: input.options } : {}),
    ...(s.retry ? { retry: s.retry } : {}),
    onNewHostKey: async (fp, host) => {
      const ok = s.onNewHostKey ? await s.onNewHostKey(fp, host) : false;
      if (ok) pinnedKey = fp;
      return ok;
    },
  });
  try {
    const password = input.password ?? (await repositoryPassword({ id: 'new', options: input.options ?? {}, location: loc.display }, s.secrets));
    let repo: Repository;
    let created = false;
    if (await backend.hasConfig()) {
      repo = await Repository.open(backend, password, { clock: s.clock ?? systemClock });
    } else {
      const poly = s.store.getSetting<string>(POLY_SETTING);
      repo = await Repository.init(backend, password, {
        ...(poly ? { chunkerPolynomial: poly } : {}),
        ...(s.kdf ? { kdf: s.kdf } : {}),
        clock: s.clock ?? systemClock,
      });
      created = true;
    }
    // The first destination Mamori creates sets the polynomial every later one shares.
    if (!s.store.getSetting<string>(POLY_SETTING) && created) s.store.setSetting(POLY_SETTING, repo.config.chunkerPolynomial);

    const marker = created ? undefined : await readMarker(backend);
    const vol = loc.kind === 'local' ? volumeIdentity(resolve(loc.path)) : {};
    const rec = s.store.addDestination({
      ...(marker ? { id: marker.id } : {}),
      name: input.name,
      location: loc.kind === 'local' ? resolve(loc.path) : loc.display,
      kind: loc.kind,
      options: input.options ?? {},
      // Facts the marker remembers win over defaults, not over what the user typed now.
      mediaKind: input.mediaKind ?? (marker && isMediaKind(marker.mediaKind) ? marker.mediaKind : media),
      place: input.place ?? (marker && isPlace(marker.place) ? marker.place : place),
      firstUse: input.firstUse ?? marker?.firstUse ?? now(s).toISOString().slice(0, 10),
      ...((input.purchased ?? marker?.purchased) ? { purchased: input.purchased ?? marker?.purchased } : {}),
      ...vol,
      ...((pinnedKey ?? hostKey?.()) ? { hostKey: pinnedKey ?? hostKey?.() } : {}),
    });
    if (input.password !== undefined && input.password !== (await s.secrets.get('repository-password'))) {
      await s.secrets.set(`destination/${rec.id}/password`, input.password).catch(() => undefined);
    }
    s.store.updateDestination(rec.id, { lastConnected: now(s).toISOString() });
    const markerWritten = await writeMarker(backend, rec, now(s));

    // Rebuild: an adopted repository's snapshots from this computer name the sources it protects.
    const importedSources: SourceRecord[] = [];
    if (!created) {
      const host = s.hostname ?? osHostname();
      const seen = new Set<string>();
      for (const sn of await repo.listSnapshots()) {
        if (sn.hostname !== host) continue;
        const key = JSON.stringify([...sn.paths].sort());
        if (seen.has(key)) continue;
        seen.add(key);
        const existing = s.store.listSources().find((x) => JSON.stringify([...x.paths].sort()) === key);
        if (existing) {
          s.store.link(existing.id, rec.id);
          continue;
        }
        const base = sn.paths.length === 1 ? sn.paths[0].split('/').filter(Boolean).pop() ?? 'root' : 'source';
        let name = base;
        for (let i = 2; s.store.findSource(name); i++) name = `${base}-${i}`;
        importedSources.push(s.store.addSource({ name, paths: sn.paths, destinationIds: [rec.id] }));
      }
    }
    if (input.linkAllSources ?? created) for (const src of s.store.listSources()) s.store.link(src.id, rec.id);
    return { destination: s.store.getDestination(rec.id)!, created, importedSources, markerWritten };
  } finally {
    await backend.close().catch(() => undefined);
  }
}

// ---- opening a stored destination ----------------------------------------------------------------

/**
 * Opens a destination's repository. A local destination whose folder shows no repository is looked
 * for on its volume under other mount points; the marker must name this destination, so another
 * drive mounted at the same place is never written to by mistake.
 */
export async function openDestination(s: Services, rec: DestinationRecord, signal?: AbortSignal): Promise<Repository> {
  let current = rec;
  let backend = await connectDestination(current, { secrets: s.secrets, ...(s.retry ? { retry: s.retry } : {}), ...(signal ? { signal } : {}) });
  if (rec.kind === 'local' && !(await backend.hasConfig().catch(() => false)) && rec.volumeUuid && rec.volumePath !== undefined) {
    for (const p of candidatePaths(rec.volumeUuid, rec.volumePath)) {
      const b = new LocalBackend(p);
      if ((await b.hasConfig().catch(() => false)) && (await readMarker(b))?.id === rec.id) {
        s.store.updateDestination(rec.id, { location: p });
        current = { ...rec, location: p };
        backend = b;
        break;
      }
    }
  }
  const marker = await readMarker(backend);
  if (marker && marker.id !== rec.id) {
    await backend.close().catch(() => undefined);
    throw new MamoriError(ErrorCode.NotARepository, `${current.location} holds another Mamori destination ("${marker.name}"), not "${rec.name}"`, {
      subject: current.location,
      hint: `Connect the drive of "${rec.name}", or update the destination's location.`,
    });
  }
  const password = await repositoryPassword(current, s.secrets);
  try {
    const repo = await Repository.open(backend, password, { clock: s.clock ?? systemClock });
    s.store.updateDestination(rec.id, { lastConnected: now(s).toISOString() });
    return repo;
  } catch (e) {
    await backend.close().catch(() => undefined);
    throw e;
  }
}

// ---- backing up ----------------------------------------------------------------------------------

export interface BackupSourceOptions extends Omit<BackupJobOptions, 'paths' | 'hostname' | 'clock'> {
  /** Only these destinations (IDs); default: all of the source's. */
  to?: string[];
  /** Called with the job's ID in the history as soon as it is recorded. */
  onJobStarted?: (jobId: number) => void;
}

export async function backupSource(s: Services, source: SourceRecord, opts: BackupSourceOptions = {}): Promise<{ jobId: number; result: BackupJobResult }> {
  const dests = source.destinationIds
    .filter((id) => !opts.to || opts.to.includes(id))
    .map((id) => s.store.getDestination(id))
    .filter((d): d is DestinationRecord => d !== undefined);
  if (dests.length === 0) {
    throw new MamoriError(ErrorCode.InvalidRequest, `source "${source.name}" has no destination${opts.to ? ' among those chosen' : ''}`, {
      subject: source.name,
      hint: 'Add one with "mamori destination add", or link it with "mamori source add --to".',
    });
  }
  // Destinations a crashed run was writing to may hold packs no index names yet: adopt them.
  s.store.recoverInterruptedJobs();
  const jobDests: JobDestination[] = dests.map((d) => ({
    id: d.id,
    name: d.name,
    open: () => openDestination(s, s.store.getDestination(d.id) ?? d, opts.signal),
    close: (repo) => repo.backend.close(),
  }));
  const jobId = s.store.startJob('backup', source.id, dests.map((d) => d.id));
  opts.onJobStarted?.(jobId);
  let result: BackupJobResult;
  try {
    result = await runBackupJob(jobDests, {
      ...opts,
      paths: source.paths,
      ...(s.hostname ? { hostname: s.hostname } : {}),
      ...(s.clock ? { clock: s.clock } : {}),
      onDestination: (o) => {
        opts.onDestination?.(o);
      },
    });
  } catch (e) {
    s.store.finishJob(jobId, 'failed', { error: isMamoriError(e) ? { code: e.code, message: e.message } : { message: String(e) } });
    throw e;
  }
  const snapshotTime = now(s).toISOString();
  for (const o of result.destinations) {
    s.store.recordDestination(jobId, {
      destinationId: o.destinationId,
      status: o.status,
      ...(o.snapshotId ? { snapshotId: o.snapshotId, snapshotTime } : {}),
      bytesAdded: o.bytesAdded,
      ...(o.error ? { error: o.error } : {}),
    });
  }
  const allOk = result.destinations.every((d) => d.status === 'ok');
  const anyOk = result.destinations.some((d) => d.status === 'ok');
  const status = allOk && result.sourceErrors.length === 0 ? 'ok' : anyOk ? 'partial' : 'failed';
  s.store.finishJob(jobId, status, { ...result.source, sourceErrors: result.sourceErrors.length });
  return { jobId, result };
}

// ---- status --------------------------------------------------------------------------------------

export function destinationFacts(s: Services, rec: DestinationRecord, connected: boolean): DestinationFacts {
  const ok = s.store.lastBackupOk(rec.id);
  const attempt = s.store.lastBackupAttempt(rec.id);
  const ver = s.store.lastVerification(rec.id);
  return {
    id: rec.id,
    name: rec.name,
    mediaKind: isMediaKind(rec.mediaKind) ? rec.mediaKind : 'external-hdd',
    place: isPlace(rec.place) ? rec.place : 'home',
    ...(rec.firstUse ? { firstUse: rec.firstUse } : {}),
    ...(rec.purchased ? { purchased: rec.purchased } : {}),
    added: rec.createdAt,
    ...(rec.lastConnected ? { lastConnected: rec.lastConnected } : {}),
    ...(ok ? { lastBackupOk: ok.at } : {}),
    ...(attempt ? { lastBackupAttempt: attempt } : {}),
    ...(ver.lastOk ? { lastVerifiedOk: ver.lastOk } : {}),
    ...(ver.lastFailedAfterOk ? { lastVerifyFailed: ver.lastFailedAfterOk } : {}),
    connected,
    appendOnly: rec.appendOnly,
  };
}

export interface StatusReport {
  asOf: string;
  sources: ProtectionReport[];
  /** Destination warnings (also inside each report's copy lines). */
  warnings: Warning[];
  destinations: (DestinationRecord & { connected: boolean; warnings: Warning[] })[];
}

/**
 * The protection report from the job history, without touching any destination unless `probe`
 * is set (then each destination is checked for reachability, which can take a moment).
 */
export async function statusReport(s: Services, opts: { probe?: boolean } = {}): Promise<StatusReport> {
  const at = now(s);
  const dests = s.store.listDestinations();
  const connected = new Map<string, boolean>();
  for (const d of dests) {
    if (!opts.probe) {
      connected.set(d.id, d.kind !== 'local' || (await new LocalBackend(d.location).hasConfig().catch(() => false)));
      continue;
    }
    try {
      const b = await connectDestination(d, { secrets: s.secrets, retry: { attempts: 1 } });
      connected.set(d.id, await b.hasConfig());
      await b.close();
    } catch {
      connected.set(d.id, false);
    }
  }
  const facts = new Map(dests.map((d) => [d.id, destinationFacts(s, d, connected.get(d.id) ?? false)]));
  const thresholds = s.store.getSetting<Record<string, unknown>>('healthThresholds');
  const warnings: Warning[] = [];
  const pending = new Set(s.store.pendingDestinations());
  const destOut = dests.map((d) => {
    const w = destinationWarnings(facts.get(d.id)!, at, thresholds ?? undefined);
    // Reached by no backup since the last attempt: say so now, not only after days without a copy.
    if (pending.has(d.id) && !connected.get(d.id) && !w.some((x) => x.code === 'not-connected')) {
      w.unshift({
        destinationId: d.id,
        code: 'not-connected',
        severity: 'warning',
        params: { name: d.name, location: d.location },
        text: `${d.name} could not be reached during the last backup, so its copy is falling behind.`,
        action: d.kind === 'local'
          ? `Connect the drive or mount the folder (${d.location}); Mamori catches the copy up on the next backup.`
          : `Check the network connection to ${d.location}; Mamori catches the copy up on the next backup.`,
      });
    }
    warnings.push(...w);
    return { ...d, connected: connected.get(d.id) ?? false, warnings: w };
  });
  const sources = s.store.listSources().map((src) => protectionReport({
    source: { id: src.id, name: src.name },
    copies: src.destinationIds.filter((id) => facts.has(id)).map((id) => {
      const ok = s.store.lastBackupOk(id, src.id);
      return { destination: facts.get(id)!, ...(ok ? { newestSnapshot: ok.snapshotTime ?? ok.at } : {}) };
    }),
    now: at,
    ...(thresholds ? { thresholds } : {}),
  }));
  return { asOf: at.toISOString(), sources, warnings, destinations: destOut };
}
