// The overview: for each protected folder the protection report in plain words (headline, where
// the copies are and how old, the 3-2-1 rule, what could still go wrong), every warning with its
// suggested action, running jobs with live progress, and "Back up now".

import { useState } from 'react';
import type { ApiError, Overview } from '../../../../shared/api';
import type { ProtectionReport, Warning } from '../../../../shared/protection';
import { useApi } from '../../api/context';
import { toApiError } from '../../api/errors';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorBox } from '../../components/ErrorBox';
import { JobProgressCard } from '../../components/JobProgress';
import { SourcePathInput } from '../../components/SourcePathInput';
import { useI18n } from '../../i18n';
import { headline, mediaLabel, missingWords, placeLabel, riskText, warningWords } from '../../i18n/domain';
import { useAppData } from '../../state';

export function WarningItem({ warning, overview }: { warning: Warning; overview: Overview }) {
  const { t, lang, fmt } = useI18n();
  const words = warningWords(warning, lang, fmt);
  const dest = warning.destinationId ? overview.destinations.find((d) => d.id === warning.destinationId) : undefined;
  return (
    <li className={`warning sev-${warning.severity}`} data-testid="warning" data-code={warning.code}>
      <span className="badge">{t(`severity.${warning.severity}`)}</span>
      {dest ? <span className="muted"> {t('dash.warningFor', { name: dest.name })}</span> : null}
      <p className="warning-text" data-testid="warning-text">{words.text}</p>
      <p className="warning-action" data-testid="warning-action">{t('dash.action', { action: words.action })}</p>
    </li>
  );
}

function ReportCard({ report, onRemove }: { report: ProtectionReport; onRemove(): void }) {
  const { t, lang, fmt } = useI18n();
  const r = report.rule321;
  const missing = missingWords(report, lang, t);
  return (
    <article className={`card report verdict-${report.verdict}`} data-testid="source-report" data-source-id={report.sourceId}>
      <header className="report-head">
        <h3>{report.sourceName}</h3>
        <span className={`badge verdict verdict-${report.verdict}`} data-testid="report-verdict">{t(`verdict.${report.verdict}`)}</span>
      </header>
      <p className="headline" data-testid="report-headline">{headline(report, lang, fmt, t)}</p>

      {report.copies.length ? (
        <table className="copies">
          <caption className="sr-only">{t('report.copies')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('report.col.destination')}</th>
              <th scope="col">{t('report.col.media')}</th>
              <th scope="col">{t('report.col.place')}</th>
              <th scope="col">{t('report.col.newest')}</th>
              <th scope="col">{t('report.col.mediaAge')}</th>
              <th scope="col">{t('report.col.status')}</th>
            </tr>
          </thead>
          <tbody>
            {report.copies.map((c) => (
              <tr key={c.destinationId} data-testid="report-copy">
                <th scope="row">{c.name}</th>
                <td>{mediaLabel(c.mediaKind, t)}</td>
                <td>{placeLabel(c.place, t)}{c.away ? <span className="muted"> ({t('report.away')})</span> : null}</td>
                <td>{c.newestSnapshot ? <time dateTime={c.newestSnapshot} title={fmt.dateTime(c.newestSnapshot)}>{c.snapshotAgeDays !== undefined ? t('common.ago', { age: fmt.days(c.snapshotAgeDays) }) : fmt.dateTime(c.newestSnapshot)}</time> : '—'}</td>
                <td>{c.mediaAgeDays !== undefined ? fmt.days(c.mediaAgeDays) : '—'}</td>
                <td className={c.current ? 'ok' : 'bad'}>{c.current ? t('report.current') : t(`report.notCurrent.${c.notCurrentReason ?? 'no-snapshot'}`)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="muted">{t('report.noCopies')}</p>}

      <div className="rule321" data-testid="report-321" data-holds={r.holds ? 'yes' : 'no'}>
        <h4>
          {t('report.rule321')}: <span className={r.holds ? 'ok' : 'bad'}>{r.holds ? t('report.rule321.holds') : t('report.rule321.notYet')}</span>
        </h4>
        <p className="muted">{t('report.rule321.help')}</p>
        <ul className="checks">
          <li className={r.copies >= 3 ? 'ok' : 'bad'}>{t('report.rule.copies', { n: r.copies })}</li>
          <li className={r.media >= 2 ? 'ok' : 'bad'}>{t('report.rule.media', { n: r.media })}</li>
          <li className={r.offsite ? 'ok' : 'bad'}>{r.offsite ? t('report.rule.offsite') : t('report.rule.noOffsite')}</li>
        </ul>
        {missing.length ? <p>{t('report.rule.needs', { list: fmt.list(missing) })}</p> : null}
      </div>

      {report.risks.length ? (
        <div className="risks">
          <h4>{t('report.risks')}</h4>
          <ul>
            {report.risks.map((risk, i) => <li key={`${risk.code}-${i}`} data-testid="report-risk">{riskText(risk, lang, fmt, t)}</li>)}
          </ul>
        </div>
      ) : null}
      <div className="actions">
        <button type="button" className="link" onClick={onRemove}>{t('dash.removeSource')}</button>
      </div>
    </article>
  );
}

function tomorrowMorning(): string {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}

export function Dashboard() {
  const api = useApi();
  const { t } = useI18n();
  const { overview, refresh } = useAppData();
  const [error, setError] = useState<ApiError>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState<{ id: string; name: string }>();
  if (!overview) return null;

  async function act(fn: () => Promise<unknown>, done?: string) {
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    try {
      await fn();
      if (done) setNotice(done);
      await refresh();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  }

  const reportFor = new Map(overview.reports.map((r) => [r.sourceId, r]));
  return (
    <div className="page" data-testid="dashboard">
      <header className="page-head">
        <h1>{t('dash.title')}</h1>
        <div className="toolbar">
          <button type="button" className="primary" disabled={busy} onClick={() => act(() => api.call('backupNow', {}), t('dash.backupStarted'))} data-testid="dashboard-backup-now">
            {t('dash.backupNow')}
          </button>
          {overview.paused ? null : (
            <>
              <button type="button" disabled={busy} onClick={() => act(() => api.call('setPaused', { until: new Date(Date.now() + 3600_000).toISOString() }))} data-testid="dashboard-pause-hour">{t('dash.pauseHour')}</button>
              <button type="button" disabled={busy} onClick={() => act(() => api.call('setPaused', { until: tomorrowMorning() }))} data-testid="dashboard-pause-tomorrow">{t('dash.pauseTomorrow')}</button>
            </>
          )}
        </div>
      </header>
      <div aria-live="polite">{notice ? <p className="notice" data-testid="dashboard-notice">{notice}</p> : null}</div>
      {error ? <ErrorBox error={error} /> : null}

      {overview.running.length ? (
        <section aria-labelledby="dash-running" data-testid="dashboard-running">
          <h2 id="dash-running">{t('dash.running')}</h2>
          {overview.running.map((j) => <JobProgressCard key={j.jobId} job={j} />)}
        </section>
      ) : null}

      <section aria-labelledby="dash-warnings" data-testid="dashboard-warnings">
        <h2 id="dash-warnings">{t('dash.warnings')}</h2>
        {overview.warnings.length ? (
          <ul className="warnings">
            {overview.warnings.map((w, i) => <WarningItem key={`${w.code}-${w.destinationId ?? w.sourceId ?? ''}-${i}`} warning={w} overview={overview} />)}
          </ul>
        ) : <p className="ok-note">{t('dash.noWarnings')}</p>}
      </section>

      <section aria-labelledby="dash-sources">
        <h2 id="dash-sources">{t('dash.sources')}</h2>
        {overview.sources.length === 0 ? <p>{t('dash.noSources')}</p> : null}
        {overview.sources.map((s) => {
          const r = reportFor.get(s.id);
          return r ? <ReportCard key={s.id} report={r} onRemove={() => setRemoving({ id: s.id, name: s.name })} /> : (
            <article key={s.id} className="card" data-testid="source-report"><h3>{s.name}</h3><p className="muted">{s.paths.join(', ')}</p></article>
          );
        })}
        <details className="card add-source">
          <summary>{t('dash.addSource')}</summary>
          <SourcePathInput
            existing={overview.sources.flatMap((s) => s.paths)}
            testIdPrefix="dashboard"
            busy={busy}
            onAdd={(s) => act(() => api.call('addSource', { paths: [s.path], kind: s.kind }))}
          />
        </details>
      </section>

      {removing ? (
        <ConfirmDialog
          title={t('dash.removeSource.title', { name: removing.name })}
          confirmLabel={t('dash.removeSource')}
          onCancel={() => setRemoving(undefined)}
          onConfirm={() => {
            const id = removing.id;
            setRemoving(undefined);
            void act(() => api.call('removeSource', { id }));
          }}
          testId="remove-source-dialog"
        >
          <p>{t('dash.removeSource.body', { name: removing.name })}</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
