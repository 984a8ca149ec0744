// Restore: a timeline of restore points (one snapshot held on several destinations is shown once,
// with where it exists), browsing a point's folders with breadcrumbs, a name search across every
// point, every version of one file, and restoring. Everything here answers from the catalog
// (browse/search/versions); only the restore itself reads a destination. The default restore puts
// items beside their originals under a new name, so one click can never overwrite anything.

import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { ApiError, CatalogEntry, FileVersion, RestorePoint, SearchHit } from '../../../../shared/api';
import { useApi } from '../../api/context';
import { toApiError } from '../../api/errors';
import { ErrorBox } from '../../components/ErrorBox';
import { SelectField, TextField } from '../../components/Field';
import { baseName, parentPath } from '../../components/paths';
import { useI18n } from '../../i18n';
import { useAppData } from '../../state';
import { RestoreOptions, type RestoreChoice } from './RestoreOptions';

const ROOT = '/';

interface Started {
  seq: number;
  jobId: number;
  text: string;
}

let startedSeq = 0;

function segmentsOf(path: string): { name: string; path: string }[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((name, i) => ({ name, path: '/' + parts.slice(0, i + 1).join('/') }));
}

export function RestorePoints() {
  const api = useApi();
  const { t, fmt } = useI18n();
  const { overview, finished } = useAppData();
  const [sourceId, setSourceId] = useState('');
  const [points, setPoints] = useState<RestorePoint[]>();
  const [pointsError, setPointsError] = useState<ApiError>();
  const [reloads, setReloads] = useState(0);
  const [error, setError] = useState<ApiError>();
  const [point, setPoint] = useState<RestorePoint>();
  const [path, setPath] = useState(ROOT);
  const [entries, setEntries] = useState<CatalogEntry[]>();
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<SearchHit[]>();
  const [searched, setSearched] = useState('');
  const [versionsOf, setVersionsOf] = useState<{ path: string; sourceId: string }>();
  const [versions, setVersions] = useState<FileVersion[]>();
  const [options, setOptions] = useState<{ pointId: string; paths: string[]; what: string }>();
  const [started, setStarted] = useState<Started[]>([]);

  // Reload the timeline when a job finishes: a finished backup is a new restore point.
  useEffect(() => {
    let live = true;
    api.call('listRestorePoints', sourceId ? { sourceId } : {})
      .then((p) => {
        if (!live) return;
        setPoints([...p].sort((a, b) => Date.parse(b.time) - Date.parse(a.time)));
        setPointsError(undefined);
      })
      .catch((e) => live && setPointsError(toApiError(e)));
    return () => {
      live = false;
    };
  }, [api, sourceId, finished.length, reloads]);

  useEffect(() => {
    if (!point) return;
    let live = true;
    setEntries(undefined);
    api.call('browse', { pointId: point.id, path })
      .then((e) => live && setEntries(e))
      .catch((e) => live && setError(toApiError(e)));
    return () => {
      live = false;
    };
  }, [api, point, path]);

  useEffect(() => {
    if (!versionsOf) return;
    let live = true;
    setVersions(undefined);
    api.call('versions', versionsOf)
      .then((v) => live && setVersions([...v].sort((a, b) => Date.parse(b.time) - Date.parse(a.time))))
      .catch((e) => live && setError(toApiError(e)));
    return () => {
      live = false;
    };
  }, [api, versionsOf]);

  const byDay = useMemo(() => {
    const groups = new Map<string, RestorePoint[]>();
    for (const p of points ?? []) {
      const day = fmt.date(p.time);
      groups.set(day, [...(groups.get(day) ?? []), p]);
    }
    return [...groups.entries()];
  }, [points, fmt]);

  const pointById = (id: string) => points?.find((p) => p.id === id);
  const sourceName = (id?: string) => overview?.sources.find((s) => s.id === id)?.name;

  function openPoint(p: RestorePoint, at = ROOT) {
    setError(undefined);
    setPoint(p);
    setPath(at);
  }

  async function run(pointId: string, paths: string[], choice: RestoreChoice) {
    setError(undefined);
    setOptions(undefined);
    try {
      if (choice.action === 'export') {
        const r = await api.call('exportArchive', { pointId, paths, format: choice.format, target: choice.target });
        setStarted((s) => [{ seq: ++startedSeq, jobId: r.jobId, text: t('restore.exportStarted', { target: r.target }) }, ...s]);
      } else {
        const r = await api.call('restore', {
          pointId,
          paths,
          mode: choice.mode,
          ...(choice.mode === 'folder' ? { target: choice.target } : {}),
          ...(choice.mode === 'in-place' ? { confirmInPlace: true } : {}),
        });
        setStarted((s) => [{ seq: ++startedSeq, jobId: r.jobId, text: t('restore.started', { target: r.target }) }, ...s]);
      }
    } catch (e) {
      setError(toApiError(e));
    }
  }

  const besideNow = (pointId: string, paths: string[]) => void run(pointId, paths, { action: 'restore', mode: 'beside' });

  async function search(e: FormEvent) {
    e.preventDefault();
    const q = query.trim();
    if (!q) return;
    setError(undefined);
    try {
      const h = await api.call('search', { query: q, ...(sourceId ? { sourceId } : {}) });
      setHits(h);
      setSearched(q);
    } catch (err) {
      setError(toApiError(err));
    }
  }

  const showVersions = (p: string, sid?: string) => {
    if (sid) setVersionsOf({ path: p, sourceId: sid });
  };

  return (
    <div className="page" data-testid="restore-page">
      <header className="page-head">
        <h1>{t('restore.title')}</h1>
      </header>

      <div aria-live="polite">
        {started.map((s) => {
          const done = finished.find((f) => f.jobId === s.jobId);
          return (
            <div key={s.seq} className="notice" data-testid="restore-notice" data-job-id={s.jobId}>
              <p>{done ? t('restore.jobDone', { summary: done.summary }) : s.text}</p>
              {done?.errors.map((er, i) => <ErrorBox key={i} error={er} />)}
            </div>
          );
        })}
      </div>
      {error ? <ErrorBox error={error} /> : null}

      <div className="restore-tools">
        {overview && overview.sources.length > 1 ? (
          <SelectField label={t('restore.sourceFilter')} value={sourceId} onChange={(e) => { setSourceId(e.target.value); setPoint(undefined); }} data-testid="restore-source">
            <option value="">{t('restore.allSources')}</option>
            {overview.sources.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
          </SelectField>
        ) : null}
        <form className="search" role="search" onSubmit={search}>
          <TextField label={t('restore.search.label')} type="search" value={query} onChange={(e) => setQuery(e.target.value)} data-testid="restore-search" />
          <button type="submit" data-testid="restore-search-submit">{t('restore.search.submit')}</button>
        </form>
      </div>

      {hits ? (
        <section aria-labelledby="search-results" data-testid="search-results">
          <h2 id="search-results">{t('restore.search.results')}</h2>
          {hits.length === 0 ? <p>{t('restore.search.none', { q: searched })}</p> : (
            <ul className="plain-list">
              {hits.map((h, i) => {
                const p = pointById(h.pointId);
                return (
                  <li key={`${h.pointId}-${h.path}-${i}`} data-testid="search-hit">
                    <code>{h.path}</code> <span className="muted">{fmt.dateTime(h.time)}{h.type === 'file' ? ` · ${fmt.bytes(h.size)}` : ''}</span>{' '}
                    {p ? <button type="button" className="link" onClick={() => openPoint(p, h.type === 'dir' ? h.path : parentPath(h.path))} data-testid="search-hit-open">{t('restore.search.open')}</button> : null}{' '}
                    <button type="button" className="link" onClick={() => besideNow(h.pointId, [h.path])} aria-label={t('restore.restoreLabel', { name: baseName(h.path) })} data-testid="search-hit-restore">{t('restore.restore')}</button>{' '}
                    {h.type === 'file' && p?.sourceId ? <button type="button" className="link" onClick={() => showVersions(h.path, p.sourceId)} data-testid="search-hit-versions">{t('restore.versions')}</button> : null}
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      ) : null}

      {versionsOf ? (
        <section className="card" aria-labelledby="versions-title" data-testid="versions-panel">
          <h2 id="versions-title">{t('restore.versions.title', { name: baseName(versionsOf.path) })}</h2>
          <p className="muted"><code>{versionsOf.path}</code></p>
          {versions === undefined ? <p>{t('app.loading')}</p> : versions.length === 0 ? <p>{t('restore.versions.none')}</p> : (
            <ul className="plain-list">
              {versions.map((v, i) => {
                const older = versions[i + 1];
                return (
                  <li key={`${v.pointId}-${i}`} data-testid="file-version">
                    <strong>{fmt.dateTime(v.time)}</strong> · {fmt.bytes(v.size)} · {t('restore.col.modified')}: {fmt.dateTime(v.mtime)}
                    {older && older.contentKey === v.contentKey ? <span className="muted"> ({t('restore.versions.same')})</span> : null}{' '}
                    <button type="button" onClick={() => besideNow(v.pointId, [versionsOf.path])} aria-label={t('restore.restoreLabel', { name: baseName(versionsOf.path) })} data-testid="version-restore">{t('restore.restore')}</button>
                  </li>
                );
              })}
            </ul>
          )}
          <button type="button" onClick={() => setVersionsOf(undefined)}>{t('common.close')}</button>
        </section>
      ) : null}

      <div className="restore-layout">
        <section className="timeline" aria-labelledby="points-title">
          <h2 id="points-title">{t('restore.points')}</h2>
          {pointsError ? <ErrorBox error={pointsError} onRetry={() => setReloads((n) => n + 1)} /> : null}
          {points === undefined ? (pointsError ? null : <p>{t('app.loading')}</p>) : points.length === 0 ? <p data-testid="restore-no-points">{t('restore.noPoints')}</p> : byDay.map(([day, ps]) => (
            <div key={day} className="timeline-day">
              <h3>{day}</h3>
              <ul className="plain-list">
                {ps.map((p) => (
                  <li key={p.id}>
                    <button
                      type="button"
                      className={`point${point?.id === p.id ? ' selected' : ''}`}
                      aria-pressed={point?.id === p.id}
                      onClick={() => openPoint(p)}
                      data-testid="restore-point"
                      data-point-id={p.id}
                    >
                      <span className="point-time">{fmt.dateTime(p.time)}</span>
                      <span className="point-what">{sourceName(p.sourceId) ?? p.paths.join(', ')}</span>
                      <span className="point-where muted" data-testid="restore-point-copies">{t('restore.on', { list: fmt.list(p.copies.map((c) => c.destinationName)) })}</span>
                      {p.fileCount !== undefined ? <span className="muted">{t('restore.fileCount', { n: p.fileCount === 1 ? 1 : fmt.number(p.fileCount) })}{p.totalSize !== undefined ? ` · ${fmt.bytes(p.totalSize)}` : ''}</span> : null}
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </section>

        <section className="browser" aria-labelledby="browse-title" data-testid="browser">
          {!point ? <p className="muted">{t('restore.browse.pick')}</p> : (
            <>
              <h2 id="browse-title">{t('restore.browse.title', { time: fmt.dateTime(point.time) })}</h2>
              <nav aria-label={t('restore.browse.breadcrumbs')} className="breadcrumbs" data-testid="breadcrumbs">
                <ol>
                  <li><button type="button" className="link" onClick={() => setPath(ROOT)} data-testid="breadcrumb" aria-current={path === ROOT ? 'location' : undefined}>{t('restore.browse.root')}</button></li>
                  {segmentsOf(path).map((s) => (
                    <li key={s.path}><button type="button" className="link" onClick={() => setPath(s.path)} data-testid="breadcrumb" aria-current={path === s.path ? 'location' : undefined}>{s.name}</button></li>
                  ))}
                </ol>
              </nav>
              <div className="toolbar">
                <button type="button" className="primary" onClick={() => besideNow(point.id, [])} data-testid="restore-everything">{t('restore.everything')}</button>
                <button type="button" onClick={() => setOptions({ pointId: point.id, paths: [], what: t('restore.everythingLabel') })} data-testid="restore-everything-more">{t('restore.more')}</button>
                {path !== ROOT ? <button type="button" onClick={() => besideNow(point.id, [path])} data-testid="restore-folder">{t('restore.thisFolder')}</button> : null}
              </div>
              {options ? (
                <RestoreOptions what={options.what} onCancel={() => setOptions(undefined)} onChoose={(c) => void run(options.pointId, options.paths, c)} />
              ) : null}
              {entries === undefined ? <p>{t('app.loading')}</p> : entries.length === 0 ? <p>{t('restore.browse.empty')}</p> : (
                <table className="entries">
                  <thead>
                    <tr>
                      <th scope="col">{t('restore.col.name')}</th>
                      <th scope="col">{t('restore.col.size')}</th>
                      <th scope="col">{t('restore.col.modified')}</th>
                      <th scope="col">{t('restore.col.actions')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {entries.map((e) => (
                      <tr key={e.path} data-testid="browse-entry" data-type={e.type} data-path={e.path}>
                        <th scope="row">
                          {e.type === 'dir'
                            ? <button type="button" className="link dir" onClick={() => setPath(e.path)} data-testid="browse-open"><span aria-hidden="true">📁 </span>{e.name}</button>
                            : <span className="file">{e.name}</span>}
                        </th>
                        <td>{e.type === 'file' ? fmt.bytes(e.size) : ''}</td>
                        <td>{fmt.dateTime(e.mtime)}</td>
                        <td className="row-actions">
                          <button type="button" onClick={() => besideNow(point.id, [e.path])} aria-label={t('restore.restoreLabel', { name: e.name })} data-testid="restore-beside">{t('restore.restore')}</button>
                          <button type="button" onClick={() => setOptions({ pointId: point.id, paths: [e.path], what: e.name })} aria-label={t('restore.moreLabel', { name: e.name })} data-testid="restore-more">{t('restore.more')}</button>
                          {e.type === 'file' && point.sourceId ? (
                            <button type="button" onClick={() => showVersions(e.path, point.sourceId)} aria-label={t('restore.versionsLabel', { name: e.name })} data-testid="entry-versions">{t('restore.versions')}</button>
                          ) : null}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          )}
        </section>
      </div>
    </div>
  );
}
