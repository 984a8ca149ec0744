// First-run setup: folders to protect, the backup password, one or more destinations, then the
// recovery kit. The calls are ordered by what the engine needs: the password first (a new
// destination's repository is created with it), destinations next, and the folders last with the
// IDs of the destinations just added, so every folder is linked to them. Steps already satisfied
// (a password from MAMORI_PASSWORD, say) are skipped.

import { useState, type FormEvent } from 'react';
import type { ApiError, Overview } from '../../../../shared/api';
import { useApi } from '../../api/context';
import { toApiError } from '../../api/errors';
import { ErrorBox } from '../../components/ErrorBox';
import { TextField } from '../../components/Field';
import { SourcePathInput, type SourceEntry } from '../../components/SourcePathInput';
import { useI18n } from '../../i18n';
import { mediaLabel, placeLabel } from '../../i18n/domain';
import { DestinationForm, type AddedDestination } from '../destinations/DestinationForm';
import { RecoveryKit } from './RecoveryKit';

type Step = 'sources' | 'password' | 'destinations' | 'kit';

export const MIN_PASSWORD = 8;

export function SetupWizard({ overview, onDone }: { overview: Overview; onDone(): void }) {
  const api = useApi();
  const { t } = useI18n();
  // The plan is fixed when the wizard opens: finishing a step must not make it vanish mid-way.
  const [steps] = useState<Step[]>(() => {
    const s: Step[] = [];
    if (overview.needsSetup.source) s.push('sources');
    if (overview.needsSetup.password) s.push('password');
    if (overview.needsSetup.destination) s.push('destinations');
    s.push('kit');
    return s;
  });
  const [index, setIndex] = useState(0);
  const step = steps[index];
  const [sources, setSources] = useState<SourceEntry[]>([]);
  const [sourcesError, setSourcesError] = useState<string>();
  const [pw, setPw] = useState('');
  const [pw2, setPw2] = useState('');
  const [showPw, setShowPw] = useState(false);
  const [pwErrors, setPwErrors] = useState<{ pw?: string; pw2?: string }>({});
  const [added, setAdded] = useState<AddedDestination[]>([]);
  const [destError, setDestError] = useState<string>();
  const [apiError, setApiError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const nextStep = steps[index + 1];

  /** Runs the calls that close the setup (adding the folders) when the next step is the kit. */
  async function advance() {
    setApiError(undefined);
    if (nextStep === 'kit' && sources.length) {
      setBusy(true);
      try {
        const destinationIds = added.map((d) => d.id);
        for (const s of sources) {
          await api.call('addSource', { paths: [s.path], kind: s.kind, ...(destinationIds.length ? { destinationIds } : {}) });
        }
        setSources([]);
      } catch (e) {
        setApiError(toApiError(e));
        return;
      } finally {
        setBusy(false);
      }
    }
    setIndex((i) => Math.min(i + 1, steps.length - 1));
  }

  function sourcesNext() {
    if (sources.length === 0) return setSourcesError(t('setup.sources.none'));
    setSourcesError(undefined);
    void advance();
  }

  async function passwordNext(e: FormEvent) {
    e.preventDefault();
    const errs: typeof pwErrors = {};
    if (pw.length < MIN_PASSWORD) errs.pw = t('setup.password.tooShort');
    else if (pw !== pw2) errs.pw2 = t('setup.password.mismatch');
    setPwErrors(errs);
    if (errs.pw || errs.pw2) return;
    setBusy(true);
    setApiError(undefined);
    try {
      await api.call('setPassword', { password: pw });
      setPw('');
      setPw2('');
    } catch (err) {
      setApiError(toApiError(err));
      return;
    } finally {
      setBusy(false);
    }
    await advance();
  }

  function destinationsNext() {
    if (added.length === 0) return setDestError(t('setup.dest.needOne'));
    setDestError(undefined);
    void advance();
  }

  const hasAway = added.some((d) => d.place === 'offsite' || d.mediaKind === 'cloud');
  const nextLabel = nextStep === 'kit' ? t('setup.finish') : t('common.next');

  return (
    <div className="setup" data-testid="setup-wizard">
      <header className="setup-head">
        <h1>{t('setup.title')}</h1>
        <p>{t('setup.intro')}</p>
        <p className="muted" data-testid="setup-step" data-step={step}>{t('setup.step', { n: index + 1, total: steps.length })}</p>
      </header>

      {step === 'sources' ? (
        <section aria-labelledby="setup-sources-title" className="card">
          <h2 id="setup-sources-title">{t('setup.sources.title')}</h2>
          <SourcePathInput existing={sources.map((s) => s.path)} onAdd={(s) => { setSources((l) => [...l, s]); setSourcesError(undefined); }} testIdPrefix="setup" />
          {sources.length ? (
            <>
              <h3>{t('setup.sources.listLabel')}</h3>
              <ul className="plain-list">
                {sources.map((s) => (
                  <li key={s.path} data-testid="setup-source-item">
                    <code>{s.path}</code> <span className="muted">({t(`setup.sources.kind.${s.kind}`)})</span>{' '}
                    <button type="button" className="link" onClick={() => setSources((l) => l.filter((x) => x.path !== s.path))} aria-label={`${t('common.remove')} ${s.path}`}>{t('common.remove')}</button>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          {sourcesError ? <p className="field-error" role="alert" data-testid="setup-sources-error">{sourcesError}</p> : null}
          <div className="actions">
            <button type="button" className="primary" onClick={sourcesNext} disabled={busy} data-testid="setup-sources-next">{nextLabel}</button>
          </div>
        </section>
      ) : null}

      {step === 'password' ? (
        <section aria-labelledby="setup-password-title" className="card">
          <h2 id="setup-password-title">{t('setup.password.title')}</h2>
          <p>{t('setup.password.help')}</p>
          <p className="warning-note" role="note" data-testid="setup-password-warning"><strong>{t('setup.password.warning')}</strong></p>
          <form onSubmit={passwordNext} noValidate>
            <TextField
              label={t('setup.password.label')}
              type={showPw ? 'text' : 'password'}
              autoComplete="new-password"
              value={pw}
              onChange={(e) => setPw(e.target.value)}
              error={pwErrors.pw}
              errorTestId="setup-password-error"
              data-testid="setup-password"
            />
            <TextField
              label={t('setup.password.repeat')}
              type={showPw ? 'text' : 'password'}
              autoComplete="new-password"
              value={pw2}
              onChange={(e) => setPw2(e.target.value)}
              error={pwErrors.pw2}
              errorTestId="setup-password-repeat-error"
              data-testid="setup-password-repeat"
            />
            <label className="checkbox">
              <input type="checkbox" checked={showPw} onChange={(e) => setShowPw(e.target.checked)} /> {t('setup.password.show')}
            </label>
            {apiError ? <ErrorBox error={apiError} /> : null}
            <div className="actions">
              {index > 0 ? <button type="button" onClick={() => setIndex(index - 1)}>{t('common.back')}</button> : null}
              <button type="submit" className="primary" disabled={busy} data-testid="setup-password-next">{nextLabel}</button>
            </div>
          </form>
        </section>
      ) : null}

      {step === 'destinations' ? (
        <section aria-labelledby="setup-dest-title" className="card">
          <h2 id="setup-dest-title">{t('setup.dest.title')}</h2>
          <p>{t('setup.dest.help')}</p>
          {added.length ? (
            <>
              <h3>{t('setup.dest.listLabel')}</h3>
              <ul className="plain-list">
                {added.map((d) => (
                  <li key={d.id} data-testid="setup-dest-item">
                    <strong>{d.name}</strong> — {mediaLabel(d.mediaKind, t)}, {placeLabel(d.place, t)}{' '}
                    <span className="muted">{d.created ? t('setup.dest.created') : t('setup.dest.existing')}</span>
                  </li>
                ))}
              </ul>
              <p className={hasAway ? 'ok-note' : 'nudge'} data-testid="setup-nudge">{hasAway ? t('setup.dest.nudgeDone') : t('setup.dest.nudge')}</p>
              <h3>{t('setup.dest.addAnother')}</h3>
            </>
          ) : null}
          <DestinationForm onAdded={(d) => { setAdded((l) => [...l, d]); setDestError(undefined); }} />
          {destError ? <p className="field-error" role="alert" data-testid="setup-dest-error">{destError}</p> : null}
          {apiError ? <ErrorBox error={apiError} /> : null}
          <div className="actions">
            <button type="button" className="primary" onClick={destinationsNext} disabled={busy} data-testid="setup-finish">
              {busy ? t('setup.finishing') : nextLabel}
            </button>
          </div>
        </section>
      ) : null}

      {step === 'sources' && apiError ? <ErrorBox error={apiError} /> : null}

      {step === 'kit' ? (
        <section className="card">
          <h2 className="no-print">{t('setup.kit.title')}</h2>
          <p className="no-print">{t('setup.kit.intro')}</p>
          <RecoveryKit
            destinations={overview.destinations.length ? overview.destinations : added.map((d) => ({ ...d, connected: true, warnings: [] }))}
            sources={overview.sources}
          />
          <div className="actions no-print">
            <button type="button" className="primary" onClick={onDone} data-testid="setup-done">{t('setup.done')}</button>
          </div>
        </section>
      ) : null}
    </div>
  );
}
