// Destinations: each one with its media, place, age, connection, last backup and last verification,
// and its health warnings with what to do; test (opens it with the password and counts its restore
// points), remove (Mamori forgets it; nothing on it is deleted) and add.

import { useState } from 'react';
import type { ApiError, ApiResults } from '../../../../shared/api';
import { useApi } from '../../api/context';
import { toApiError } from '../../api/errors';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorBox } from '../../components/ErrorBox';
import { useI18n } from '../../i18n';
import { mediaLabel, placeLabel } from '../../i18n/domain';
import { navigate } from '../../router';
import { useAppData } from '../../state';
import { WarningItem } from '../dashboard/Dashboard';
import { DestinationForm } from './DestinationForm';

/** Media age in whole days: from the earlier of first use and purchase, as the engine counts it. */
function ageDays(firstUse?: string, purchased?: string): number | undefined {
  const ts = [firstUse, purchased].map((d) => (d ? Date.parse(d) : NaN)).filter((x) => !Number.isNaN(x));
  if (!ts.length) return undefined;
  return Math.max(0, Math.floor((Date.now() - Math.min(...ts)) / 86_400_000));
}

export function Destinations() {
  const api = useApi();
  const { t, fmt } = useI18n();
  const { overview, refresh } = useAppData();
  const [tests, setTests] = useState<Record<string, ApiResults['testDestination'] | 'running'>>({});
  const [error, setError] = useState<ApiError>();
  const [removing, setRemoving] = useState<{ id: string; name: string }>();
  if (!overview) return null;

  async function test(id: string) {
    setTests((s) => ({ ...s, [id]: 'running' }));
    try {
      const r = await api.call('testDestination', { id });
      setTests((s) => ({ ...s, [id]: r }));
    } catch (e) {
      setTests((s) => ({ ...s, [id]: { ok: false, message: toApiError(e).message } }));
    }
  }

  async function remove(id: string) {
    setError(undefined);
    try {
      await api.call('removeDestination', { id });
      await refresh();
    } catch (e) {
      setError(toApiError(e));
    }
  }

  return (
    <div className="page" data-testid="destinations-page">
      <header className="page-head">
        <h1>{t('dests.title')}</h1>
        <div className="toolbar">
          <button type="button" onClick={() => navigate('/kit')} data-testid="open-recovery-kit">{t('dests.recoveryKit')}</button>
        </div>
      </header>
      {error ? <ErrorBox error={error} /> : null}
      {overview.destinations.length === 0 ? <p>{t('dests.none')}</p> : null}
      {overview.destinations.map((d) => {
        const age = ageDays(d.firstUse, d.purchased);
        const result = tests[d.id];
        return (
          <article key={d.id} className="card destination" data-testid="destination" data-destination-id={d.id}>
            <header className="report-head">
              <h2>{d.name}</h2>
              <span className={`badge ${d.connected ? 'ok' : 'muted'}`} data-testid="destination-connected">{d.connected ? t('dests.connected') : t('dests.notConnected')}</span>
            </header>
            <dl className="facts">
              <dt>{t('dests.location')}</dt><dd><code>{d.location}</code></dd>
              <dt>{t('dests.media')}</dt><dd data-testid="destination-media">{mediaLabel(d.mediaKind, t)}</dd>
              <dt>{t('dests.place')}</dt><dd>{placeLabel(d.place, t)}</dd>
              <dt>{t('dests.firstUse')}</dt><dd>{d.firstUse ? fmt.date(d.firstUse) : t('common.unknown')}</dd>
              <dt>{t('dests.age')}</dt><dd data-testid="destination-age">{age !== undefined ? fmt.days(age) : t('common.unknown')}</dd>
              <dt>{t('dests.lastBackup')}</dt><dd data-testid="destination-last-backup">{d.lastBackup ? fmt.dateTime(d.lastBackup) : t('common.never')}</dd>
              <dt>{t('dests.lastVerified')}</dt><dd data-testid="destination-last-verified">{d.lastVerified ? fmt.dateTime(d.lastVerified) : t('common.never')}</dd>
            </dl>
            {d.appendOnly ? <p className="ok-note">{t('dests.appendOnly')}</p> : null}
            {d.warnings.length ? (
              <ul className="warnings">
                {d.warnings.map((w, i) => <WarningItem key={`${w.code}-${i}`} warning={w} overview={overview} />)}
              </ul>
            ) : null}
            <div className="actions">
              <button type="button" onClick={() => void test(d.id)} disabled={result === 'running'} data-testid="destination-test">
                {result === 'running' ? t('dests.testing') : t('dests.test')}
              </button>
              <button type="button" className="danger-outline" onClick={() => setRemoving({ id: d.id, name: d.name })} data-testid="destination-remove">{t('dests.remove')}</button>
            </div>
            <div aria-live="polite">
              {result && result !== 'running' ? (
                <p className={result.ok ? 'ok-note' : 'field-error'} data-testid="destination-test-result" data-ok={result.ok ? 'yes' : 'no'}>
                  {result.ok ? t('dests.testOk', { message: result.message }) : t('dests.testFailed', { message: result.message })}
                </p>
              ) : null}
            </div>
          </article>
        );
      })}

      <section className="card" aria-labelledby="add-dest-title">
        <h2 id="add-dest-title">{t('dest.form.title')}</h2>
        <DestinationForm onAdded={() => void refresh()} />
      </section>

      {removing ? (
        <ConfirmDialog
          title={t('dests.confirm.title', { name: removing.name })}
          confirmLabel={t('dests.confirm.ok')}
          onCancel={() => setRemoving(undefined)}
          onConfirm={() => {
            const id = removing.id;
            setRemoving(undefined);
            void remove(id);
          }}
          testId="remove-destination-dialog"
        >
          <p>{t('dests.confirm.body', { name: removing.name })}</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
