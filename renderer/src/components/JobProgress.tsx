// A running job's progress: bytes, files, rate and time left, with one bar per destination. A backup
// reads each file once and writes it to every destination together, so the destinations still
// writing share the job's progress; one that dropped out (unplugged, full) shows that it will catch up
// on the next run instead of a bar.

import type { RunningJob } from '../../../shared/api';
import { isMessageKey, useI18n } from '../i18n';

export function JobProgressCard({ job }: { job: RunningJob }) {
  const { t, fmt } = useI18n();
  const p = job.progress;
  const hasTotal = p.bytesTotal > 0;
  const phaseKey = `job.phase.${p.phase}`;
  const kindKey = `job.kind.${job.kind}`;
  const bar = (label: string, testId: string, done = false) => (
    <progress
      aria-label={label}
      data-testid={testId}
      max={done ? 1 : hasTotal ? p.bytesTotal : undefined}
      value={done ? 1 : hasTotal ? Math.min(p.bytesDone, p.bytesTotal) : undefined}
    />
  );
  return (
    <article className="job-card" data-testid="job-progress" data-job-id={job.jobId} aria-live="polite">
      <header className="job-head">
        <strong>{isMessageKey(kindKey) ? t(kindKey) : job.kind}: {job.title}</strong>
        <span className="muted">{isMessageKey(phaseKey) ? t(phaseKey) : p.phase}</span>
      </header>
      <p className="job-figures">
        <span data-testid="job-bytes">{hasTotal ? t('job.bytes', { done: fmt.bytes(p.bytesDone), total: fmt.bytes(p.bytesTotal) }) : t('job.bytesSoFar', { done: fmt.bytes(p.bytesDone) })}</span>
        {' · '}
        <span data-testid="job-files">{p.filesTotal > 0 ? t('job.files', { done: fmt.number(p.filesDone), total: fmt.number(p.filesTotal) }) : t('job.filesSoFar', { done: fmt.number(p.filesDone) })}</span>
        {p.rate > 0 ? <>{' · '}<span data-testid="job-rate">{t('job.rate', { rate: fmt.bytes(p.rate) })}</span></> : null}
        {p.etaSeconds !== undefined ? <>{' · '}<span data-testid="job-eta">{t('job.eta', { time: fmt.duration(p.etaSeconds) })}</span></> : null}
      </p>
      {p.destinations.length === 0 ? bar(t('job.progressLabel', { title: job.title }), 'job-progress-bar') : (
        <ul className="job-dests">
          {p.destinations.map((d) => (
            <li key={d.id} data-testid="job-dest" data-state={d.state}>
              <span className="job-dest-name">{d.name}</span>
              <span className="job-dest-state">{t(`job.dest.${d.state}`)}</span>
              {d.state === 'dropped' ? null : bar(t('job.destProgressLabel', { name: d.name }), 'job-progress-bar', d.state === 'done')}
            </li>
          ))}
        </ul>
      )}
      {p.currentPath ? <p className="job-current muted">{t('job.current', { path: p.currentPath })}</p> : null}
    </article>
  );
}
