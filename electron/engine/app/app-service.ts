// The engine behind the UI: answers every call of shared/api.ts and emits its events. The Electron
// main process (over IPC) and the headless server (over HTTP + WebSocket) both wrap one of these, so
// the UI cannot tell them apart. Params arrive already validated by the transport (validateRequest);
// this layer turns them into engine work: sources, destinations, background jobs with live progress,
// restores that never overwrite, exports, and the catalog behind browsing and search.

import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import type {
  ApiMethod,
  ApiParams,
  ApiResults,
  CatalogEntry,
  FileVersion,
  JobProgress,
  MamoriEvent,
  Overview,
  RestorePoint,
  RunningJob,
  SearchHit,
  Settings,
} from '../../../shared/api';
import type { SourceRecord } from '../../../shared/domain/state';
import { ErrorCode, MamoriError, isMamoriError } from '../../../shared/errors';
import { addDestination, backupSource, openDestination, statusReport, type Services } from '../destinations/service';
import type { Clock } from '../ports/clock';
import { systemClock } from '../ports/clock';
import type { KdfParams, Repository, SnapshotWithId, TreeNode } from '../repo';
import { EncryptedDbSecretStore, EnvSecretStore, KeyringSecretStore, SECRET, SecretChain, type PlatformCipher, type SecretStore } from '../secrets/secret-store';
import { openStateDb } from '../state/db';
import { StateStore } from '../state/store';
import { Catalog } from '../catalog';
import { exportArchive } from './export-archive';
import { etaSeconds, RateMeter } from './progress-rate';
import { restoreAction } from './restore-actions';

/** What the catalog offers the app (electron/engine/catalog). */
export interface CatalogPort {
  indexSnapshot(loader: { loadTree(id: string): Promise<TreeNode[]> }, snap: {
    destinationId: string; snapshotId: string; time: string; paths: string[]; hostname: string; tree: string; tags?: string[]; sourceId?: string;
  }): Promise<unknown>;
  rebuild(destinationId: string, repo: Repository): Promise<unknown>;
  listPoints(o: { sourceId?: string }): RestorePoint[] | Promise<RestorePoint[]>;
  browse(pointId: string, path: string): CatalogEntry[] | Promise<CatalogEntry[]>;
  search(query: string, o: { sourceId?: string; limit?: number }): SearchHit[] | Promise<SearchHit[]>;
  versions(sourceId: string | undefined, path: string): FileVersion[] | Promise<FileVersion[]>;
  close(): void;
}

/** A secret store that forgets on exit: the last resort when no keyring exists (headless, no MAMORI_PASSWORD). */
export class MemorySecretStore implements SecretStore {
  readonly label = 'memory (until Mamori stops)';
  readonly writable = true;
  private readonly m = new Map<string, string>();
  get(name: string): Promise<string | undefined> {
    return Promise.resolve(this.m.get(name));
  }
  set(name: string, value: string): Promise<void> {
    this.m.set(name, value);
    return Promise.resolve();
  }
  delete(name: string): Promise<void> {
    this.m.delete(name);
    return Promise.resolve();
  }
}

export interface AppServiceOptions {
  /** MAMORI_HOME: the state database and the catalog live here. */
  home: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  /** The desktop app's OS-backed cipher (Electron safeStorage); absent in headless mode. */
  platformCipher?: PlatformCipher;
  openCatalog?: (path: string) => CatalogPort;
  hostname?: string;
  kdf?: KdfParams;
}

export interface AppService {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResults[M]>;
  /** Emits 'event' with a MamoriEvent. */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

const DEFAULT_SETTINGS: Settings = { language: 'auto', startAtLogin: false, excludes: [] };

function apiError(e: unknown): { code: string; message: string; hint?: string; subject?: string } {
  if (isMamoriError(e)) return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), ...(e.subject ? { subject: e.subject } : {}) };
  return { code: ErrorCode.Internal, message: (e as Error)?.message ?? String(e) };
}

export async function createAppService(o: AppServiceOptions): Promise<AppService> {
  const env = o.env ?? process.env;
  const clock = o.clock ?? systemClock;
  const opened = openStateDb(o.home);
  const store = new StateStore(opened.db, clock);
  const stores: SecretStore[] = [new EnvSecretStore(env)];
  if (o.platformCipher) stores.push(new EncryptedDbSecretStore(opened.db, o.platformCipher));
  else if (env.MAMORI_NO_KEYRING !== '1' && (await KeyringSecretStore.available())) stores.push(new KeyringSecretStore());
  stores.push(new MemorySecretStore());
  const secrets = new SecretChain(stores);
  const services: Services = { store, secrets, clock, ...(o.hostname ? { hostname: o.hostname } : {}), ...(o.kdf ? { kdf: o.kdf } : {}) };
  const catalog: CatalogPort = (o.openCatalog ?? ((path: string) => new Catalog(path, { destinationName: (id) => store.getDestination(id)?.name })))(join(o.home, 'catalog.db'));
  const events = new EventEmitter();
  const emit = (e: MamoriEvent): void => void events.emit('event', e);
  const running = new Map<number, RunningJob>();
  const controllers = new Map<number, AbortController>();
  let backupBusy = false;

  const settings = (): Settings => ({ ...DEFAULT_SETTINGS, ...(store.getSetting<Partial<Settings>>('ui') ?? {}) });
  const pausedUntil = (): string | undefined => {
    const u = store.getSetting<string>('pausedUntil');
    return u && Date.parse(u) > clock.now().getTime() ? u : undefined;
  };

  function emptyProgress(): JobProgress {
    return { phase: 'starting', filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, totalsFinal: false, rate: 0, destinations: [] };
  }

  function needCatalog(): CatalogPort {
    if (!catalog) throw new MamoriError(ErrorCode.Internal, 'the catalog is not available');
    return catalog;
  }

  /** Indexes a finished backup's snapshots so browsing and search see them at once. */
  async function indexJob(source: SourceRecord, outcomes: { destinationId: string; status: string; snapshotId?: string }[]): Promise<void> {
    if (!catalog) return;
    for (const out of outcomes) {
      if (out.status !== 'ok' || !out.snapshotId) continue;
      const rec = store.getDestination(out.destinationId);
      if (!rec) continue;
      let repo: Repository | undefined;
      try {
        repo = await openDestination(services, rec);
        await repo.loadIndex();
        const sn = await repo.loadSnapshot(out.snapshotId);
        await catalog.indexSnapshot(repo, { destinationId: rec.id, snapshotId: sn.id, time: sn.time, paths: sn.paths, hostname: sn.hostname ?? "", tree: sn.tree, tags: sn.tags ?? [], sourceId: source.id });
      } catch {
        // The catalog is a convenience: a failed index is rebuilt from the destination later.
      } finally {
        await repo?.backend.close().catch(() => undefined);
      }
    }
  }

  async function runBackups(sources: SourceRecord[], to?: string[]): Promise<number[]> {
    if (backupBusy) throw new MamoriError(ErrorCode.InvalidRequest, 'a backup is already running', { hint: 'Wait for it to finish; its progress is on the Activity page.' });
    backupBusy = true;
    const ids: number[] = [];
    const firstStarted = new Promise<void>((resolveFirst) => {
      void (async () => {
        try {
          for (const source of sources) {
            const ctrl = new AbortController();
            const meter = new RateMeter();
            let jobId = -1;
            try {
              const { result } = await backupSource(services, source, {
                ...(to ? { to } : {}),
                signal: ctrl.signal,
                onJobStarted: (id) => {
                  jobId = id;
                  ids.push(id);
                  const job: RunningJob = { jobId: id, kind: 'backup', sourceId: source.id, title: source.name, startedAt: clock.now().toISOString(), progress: emptyProgress() };
                  running.set(id, job);
                  controllers.set(id, ctrl);
                  emit({ type: 'job-started', job });
                  resolveFirst();
                },
                onProgress: (p) => {
                  const job = running.get(jobId);
                  if (!job) return;
                  const rate = meter.update(p.bytesDone);
                  job.progress = {
                    phase: p.phase,
                    filesDone: p.filesDone,
                    filesTotal: p.filesTotal,
                    bytesDone: p.bytesDone,
                    bytesTotal: p.bytesTotal,
                    totalsFinal: p.scanDone,
                    rate,
                    ...(etaSeconds(p.bytesDone, p.bytesTotal, p.scanDone, rate) !== undefined ? { etaSeconds: etaSeconds(p.bytesDone, p.bytesTotal, p.scanDone, rate) } : {}),
                    ...(p.currentPath ? { currentPath: p.currentPath } : {}),
                    destinations: p.destinations,
                  };
                  emit({ type: 'job-progress', jobId, progress: job.progress });
                },
              });
              await indexJob(source, result.destinations);
              const bad = result.destinations.filter((d) => d.status !== 'ok');
              const status = bad.length === 0 && result.sourceErrors.length === 0 ? 'ok' : bad.length < result.destinations.length ? 'partial' : 'failed';
              emit({
                type: 'job-finished',
                jobId,
                kind: 'backup',
                status,
                summary: `${source.name}: ${result.destinations.filter((d) => d.status === 'ok').map((d) => d.name).join(', ') || 'no destination'} up to date`,
                errors: [
                  ...bad.map((d) => ({ code: d.error?.code ?? 'PENDING', message: `${d.name}: ${d.error?.message ?? d.status}`, ...(d.error?.hint ? { hint: d.error.hint } : {}), subject: d.name })),
                  ...result.sourceErrors.map((e) => ({ code: ErrorCode.SourceUnreadable, message: `${e.path}: ${e.message}`, subject: e.path })),
                ],
              });
            } catch (e) {
              resolveFirst();
              emit({ type: 'job-finished', jobId, kind: 'backup', status: 'failed', summary: `${source.name}: backup failed`, errors: [apiError(e)] });
            } finally {
              running.delete(jobId);
              controllers.delete(jobId);
              emit({ type: 'state-changed' });
            }
          }
        } finally {
          backupBusy = false;
          resolveFirst();
        }
      })();
    });
    await firstStarted;
    return ids;
  }

  /** Opens the first reachable destination holding a restore point, with its snapshot. */
  async function openPoint(pointId: string): Promise<{ repo: Repository; snapshot: SnapshotWithId; point: RestorePoint; destinationId: string }> {
    const points = await needCatalog().listPoints({});
    const point = points.find((p) => p.id === pointId || p.copies.some((c) => c.snapshotId === pointId));
    if (!point) throw new MamoriError(ErrorCode.SnapshotNotFound, `restore point ${pointId} is not known`, { subject: pointId });
    const failures: string[] = [];
    for (const c of point.copies) {
      const rec = store.getDestination(c.destinationId);
      if (!rec) continue;
      try {
        const repo = await openDestination(services, rec);
        await repo.loadIndex();
        const snapshot = await repo.loadSnapshot(c.snapshotId);
        return { repo, snapshot, point, destinationId: rec.id };
      } catch (e) {
        failures.push(`${rec.name}: ${(e as Error).message}`);
      }
    }
    throw new MamoriError(ErrorCode.RepositoryMissing, `no destination holding this restore point can be reached (${failures.join('; ') || 'none known'})`, {
      hint: 'Connect the drive or network that holds it, then try again.',
    });
  }

  async function backgroundJob(
    kind: 'restore' | 'export',
    title: string,
    sourceId: string | undefined,
    work: (progress: (p: Partial<JobProgress>) => void) => Promise<{ summary: string; errors: { code: string; message: string; subject?: string }[] }>,
    destinationId: string,
  ): Promise<number> {
    const jobId = store.startJob('restore', sourceId, [destinationId]);
    const job: RunningJob = { jobId, kind, ...(sourceId ? { sourceId } : {}), title, startedAt: clock.now().toISOString(), progress: emptyProgress() };
    running.set(jobId, job);
    emit({ type: 'job-started', job });
    const meter = new RateMeter();
    void (async () => {
      try {
        const r = await work((p) => {
          job.progress = { ...job.progress, ...p, rate: meter.update(p.bytesDone ?? job.progress.bytesDone) };
          emit({ type: 'job-progress', jobId, progress: job.progress });
        });
        store.recordDestination(jobId, { destinationId, status: r.errors.length ? 'failed' : 'ok' });
        store.finishJob(jobId, r.errors.length ? 'partial' : 'ok', { summary: r.summary });
        emit({ type: 'job-finished', jobId, kind, status: r.errors.length ? 'partial' : 'ok', summary: r.summary, errors: r.errors });
      } catch (e) {
        store.recordDestination(jobId, { destinationId, status: 'failed', error: apiError(e) });
        store.finishJob(jobId, 'failed', { error: apiError(e) });
        emit({ type: 'job-finished', jobId, kind, status: 'failed', summary: `${title} failed`, errors: [apiError(e)] });
      } finally {
        running.delete(jobId);
        emit({ type: 'state-changed' });
      }
    })();
    return jobId;
  }

  const handlers: { [M in ApiMethod]: (p: ApiParams<M>) => Promise<ApiResults[M]> } = {
    async getOverview(): Promise<Overview> {
      const r = await statusReport(services);
      const hasPassword = (await secrets.get(SECRET.repositoryPassword)) !== undefined;
      const until = pausedUntil();
      return {
        needsSetup: { password: !hasPassword, source: store.listSources().length === 0, destination: store.listDestinations().length === 0 },
        sources: store.listSources(),
        destinations: r.destinations.map((d) => {
          const last = store.lastBackupOk(d.id);
          const ver = store.lastVerification(d.id);
          return { ...d, ...(last ? { lastBackup: last.at } : {}), ...(ver.lastOk ? { lastVerified: ver.lastOk } : {}) };
        }),
        reports: r.sources,
        warnings: r.warnings,
        running: [...running.values()],
        paused: until !== undefined,
        ...(until ? { pausedUntil: until } : {}),
      };
    },
    async setPassword(p) {
      const current = await secrets.get(SECRET.repositoryPassword);
      if (current !== undefined && current !== p.password) {
        // A new password for existing destinations: each repository gets a key for it; one that
        // cannot be reached keeps its old password as its own secret, so nothing is locked out.
        for (const d of store.listDestinations()) {
          try {
            const repo = await openDestination(services, d);
            await repo.changePassword(p.password, o.kdf);
            await repo.backend.close();
          } catch {
            await secrets.set(SECRET.destinationPassword(d.id), current);
          }
        }
      }
      await secrets.set(SECRET.repositoryPassword, p.password);
      emit({ type: 'state-changed' });
      return { ok: true };
    },
    async addSource(p) {
      const name = p.name ?? p.paths[0].split(/[\\/]/).filter(Boolean).pop() ?? 'source';
      const rec = store.addSource({ name, paths: p.paths, ...(p.kind ? { kind: p.kind } : {}), destinationIds: p.destinationIds ?? store.listDestinations().map((d) => d.id) });
      emit({ type: 'state-changed' });
      return rec;
    },
    async removeSource(p) {
      store.removeSource(p.id);
      emit({ type: 'state-changed' });
      return { ok: true };
    },
    async addDestination(p) {
      // Secrets typed in the UI are used for this connection, then kept in the secret store under the
      // destination's ID: never in the state database's plain columns.
      const overlay = new MemorySecretStore();
      for (const [k, v] of Object.entries(p.secrets ?? {})) await overlay.set(`destination/new/${k}`, v);
      const r = await addDestination({ ...services, secrets: new SecretChain([overlay, secrets]) }, {
        location: p.location,
        name: p.name,
        ...(p.mediaKind ? { mediaKind: p.mediaKind } : {}),
        ...(p.place ? { place: p.place } : {}),
        ...(p.firstUse ? { firstUse: p.firstUse } : {}),
        ...(p.purchased ? { purchased: p.purchased } : {}),
        ...(p.options ? { options: p.options } : {}),
      });
      for (const [k, v] of Object.entries(p.secrets ?? {})) await secrets.set(`destination/${r.destination.id}/${k}`, v);
      if (catalog && !r.created) {
        const rec = r.destination;
        void (async () => {
          try {
            const repo = await openDestination(services, rec);
            await repo.loadIndex();
            await catalog.rebuild(rec.id, repo);
            await repo.backend.close();
            emit({ type: 'state-changed' });
          } catch {
            /* browsing waits for the next backup or rebuild */
          }
        })();
      }
      emit({ type: 'state-changed' });
      return { ...r.destination, created: r.created, importedSources: r.importedSources };
    },
    async testDestination(p) {
      const d = store.findDestination(p.id);
      if (!d) throw new MamoriError(ErrorCode.InvalidRequest, `no destination ${p.id}`);
      const t0 = Date.now();
      try {
        const repo = await openDestination(services, d);
        const n = (await repo.listSnapshots()).length;
        await repo.backend.close();
        return { ok: true, message: `${d.name} is reachable and opens with the password`, snapshots: n, ms: Date.now() - t0 };
      } catch (e) {
        return { ok: false, message: (e as Error).message };
      }
    },
    async removeDestination(p) {
      store.removeDestination(p.id);
      emit({ type: 'state-changed' });
      return { ok: true };
    },
    async backupNow(p) {
      const sources = p.sourceId ? [store.getSource(p.sourceId)].filter((x): x is SourceRecord => !!x) : store.listSources();
      if (sources.length === 0) throw new MamoriError(ErrorCode.InvalidRequest, 'nothing to back up yet', { hint: 'Add a folder to protect first.' });
      return { jobIds: await runBackups(sources, p.destinationIds) };
    },
    async listJobs(p) {
      return store.listJobs(p.limit ?? 50);
    },
    async listRestorePoints(p) {
      return needCatalog().listPoints(p.sourceId ? { sourceId: p.sourceId } : {});
    },
    async browse(p) {
      return needCatalog().browse(p.pointId, p.path);
    },
    async search(p) {
      return needCatalog().search(p.query, { ...(p.sourceId ? { sourceId: p.sourceId } : {}), limit: p.limit ?? 200 });
    },
    async versions(p) {
      return needCatalog().versions(p.sourceId, p.path);
    },
    async restore(p) {
      const { repo, snapshot, point, destinationId } = await openPoint(p.pointId);
      const paths = p.paths.length ? p.paths : snapshot.paths;
      const target = p.mode === 'folder' ? p.target ?? '' : dirname(paths[0]);
      if (p.mode === 'folder' && !p.target) throw new MamoriError(ErrorCode.InvalidRequest, 'choose a folder to restore into');
      if (p.mode === 'in-place' && !p.confirmInPlace) {
        await repo.backend.close();
        throw new MamoriError(ErrorCode.InvalidRequest, 'restoring in place needs your confirmation', { hint: 'Current files are moved aside, not overwritten; confirm to go ahead.' });
      }
      const jobId = await backgroundJob('restore', `Restore ${paths.length === 1 ? paths[0] : `${paths.length} items`}`, point.sourceId, async (progress) => {
        try {
          const r = await restoreAction(repo, snapshot, {
            mode: p.mode,
            paths,
            ...(p.target ? { target: p.target } : {}),
            ...(p.confirmInPlace ? { confirmInPlace: true } : {}),
            today: clock.now(),
            onProgress: (x) => progress({ phase: 'restore', filesDone: x.filesDone, filesTotal: x.filesTotal, bytesDone: x.bytesDone, bytesTotal: x.bytesTotal, totalsFinal: true, ...(x.currentPath ? { currentPath: x.currentPath } : {}) }),
          });
          const where = r.placed.map((x) => x.to).join(', ');
          return {
            summary: `restored ${r.filesRestored} file(s) to ${where || r.target}${r.movedAside.length ? `; current files moved aside to ${r.movedAside.map((m) => m.to).join(', ')}` : ''}`,
            errors: r.errors.map((e) => ({ code: e.code ?? ErrorCode.Internal, message: `${e.path}: ${e.message}`, subject: e.path })),
          };
        } finally {
          await repo.backend.close().catch(() => undefined);
        }
      }, destinationId);
      return { jobId, target };
    },
    async exportArchive(p) {
      const { repo, snapshot, point, destinationId } = await openPoint(p.pointId);
      const jobId = await backgroundJob('export', `Export to ${p.target}`, point.sourceId, async (progress) => {
        try {
          const r = await exportArchive(repo, snapshot, {
            format: p.format,
            paths: p.paths,
            target: p.target,
            onProgress: (x) => progress({ phase: 'export', filesDone: x.filesDone, bytesDone: x.bytesDone, ...(x.currentPath ? { currentPath: x.currentPath } : {}) }),
          });
          return { summary: `exported ${r.files} file(s) to ${r.target}`, errors: [] };
        } finally {
          await repo.backend.close().catch(() => undefined);
        }
      }, destinationId);
      return { jobId, target: p.target };
    },
    async setPaused(p) {
      store.setSetting('pausedUntil', p.until);
      emit({ type: 'state-changed' });
      const until = pausedUntil();
      return { paused: until !== undefined, ...(until ? { until } : {}) };
    },
    async getSettings() {
      return settings();
    },
    async updateSettings(p) {
      const next = { ...settings(), ...p };
      store.setSetting('ui', next);
      emit({ type: 'state-changed' });
      return next;
    },
  };

  return {
    events,
    call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResults[M]> {
      const h = handlers[method] as (p: ApiParams<M>) => Promise<ApiResults[M]>;
      if (!h) return Promise.reject(new MamoriError(ErrorCode.InvalidRequest, `unknown method ${String(method)}`));
      return h(params);
    },
    async close() {
      for (const c of controllers.values()) c.abort();
      catalog?.close();
      opened.db.close();
    },
  };
}
