// Activity: jobs running now with their progress, jobs that finished while this window was open
// (with their errors in plain words and what to do), and the job history kept by the engine, where
// each destination's outcome and error are listed.

import { useEffect, useState } from 'react';
import type { ApiError } from '../../../../shared/api';
import type { JobRecord } from '../../../../shared/domain/state';
import { useApi } from '../../api/context';
import { toApiError } from '../../api/errors';
import { ErrorBox } from '../../components/ErrorBox';
import { JobProgressCard } from '../../components/JobProgress';
import { isMessageKey, useI18n } from '../../i18n';
import { useAppData } from '../../state';

export function Activity() {
  const api = useApi();
  const { t, fmt } = useI18n();
  const { overview, finished } = useAppData();
  const [jobs, setJobs] = useState<JobRecord[]>();
  const [error, setError] = useState<ApiError>();

  useEffect(() => {
    let live = true;
    api.call('listJobs', { limit: 100 })
      .then((j) => live && setJobs(j))
      .catch((e) => live && setError(toApiError(e)));
    return () => {
      live = false;
    };
  }, [api, finished.length]);

  const destName = (id: string) => overview?.destinations.find((d) => d.id === id)?.name ?? id;
  const sourceName = (id?: string) => (id ? overview?.sources.find((s) => s.id === id)?.name : undefined);
  const kindLabel = (k: string) => {
    const key = `job.kind.${k}`;
    return isMessageKey(key) ? t(key) : k;
  };
  const running = overview?.running ?? [];

  return (
    <div className="page" data-testid="activity-page">
      <header className="page-head">
        <h1>{t('activity.title')}</h1>
      </header>
      {error ? <ErrorBox error={error} /> : null}

      <section aria-labelledby="act-running">
        <h2 id="act-running">{t('activity.running')}</h2>
        {running.length ? running.map((j) => <JobProgressCard key={j.jobId} job={j} />) : <p className="muted">{t('activity.nothingRunning')}</p>}
      </section>

      {finished.length ? (
        <section aria-labelledby="act-recent">
          <h2 id="act-recent">{t('activity.recent')}</h2>
          <ul className="plain-list">
            {finished.map((f) => (
              <li key={f.jobId} className={`job status-${f.status}`} data-testid="job-finished" data-status={f.status}>
                <strong>{kindLabel(f.kind)}</strong> · <span className="badge">{t(`job.status.${f.status}`)}</span> · {f.summary}
                {f.errors.map((e, i) => <ErrorBox key={i} error={e} testId="job-error" />)}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="act-history">
        <h2 id="act-history">{t('activity.history')}</h2>
        {jobs === undefined ? (error ? null : <p>{t('app.loading')}</p>) : jobs.length === 0 ? <p>{t('activity.none')}</p> : (
          <ul className="plain-list jobs">
            {jobs.map((j) => (
              <li key={j.id} className={`job status-${j.status}`} data-testid="job" data-status={j.status}>
                <div className="job-head">
                  <strong>{kindLabel(j.kind)}{sourceName(j.sourceId) ? `: ${sourceName(j.sourceId)}` : ''}</strong>
                  <span className="badge">{t(`job.status.${j.status}`)}</span>
                </div>
                <p className="muted">
                  {t('job.started', { time: fmt.dateTime(j.startedAt) })}
                  {j.finishedAt ? ` · ${t('job.finished', { time: fmt.dateTime(j.finishedAt) })}` : ''}
                </p>
                {j.destinations.length ? (
                  <ul className="job-dests">
                    {j.destinations.map((d) => (
                      <li key={d.destinationId} data-testid="job-destination" data-status={d.status}>
                        {destName(d.destinationId)}: {t(`job.destStatus.${d.status}`)}
                        {d.bytesAdded > 0 ? <span className="muted"> · {t('job.added', { size: fmt.bytes(d.bytesAdded) })}</span> : null}
                        {d.error ? <ErrorBox error={d.error} testId="job-error" /> : null}
                      </li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
