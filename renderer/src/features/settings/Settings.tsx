// Settings: language (automatic, English, 日本語; applied at once, then saved), start at login,
// exclusion patterns, and a new backup password.

import { useEffect, useState, type FormEvent } from 'react';
import type { ApiError, Settings as SettingsData } from '../../../../shared/api';
import { useApi } from '../../api/context';
import { toApiError } from '../../api/errors';
import { ErrorBox } from '../../components/ErrorBox';
import { SelectField, TextField } from '../../components/Field';
import { useI18n, type LangSetting } from '../../i18n';
import { navigate } from '../../router';
import { MIN_PASSWORD } from '../setup/SetupWizard';

export function Settings() {
  const api = useApi();
  const { t, setting, setSetting } = useI18n();
  const [settings, setSettings] = useState<SettingsData>();
  const [excludes, setExcludes] = useState('');
  const [error, setError] = useState<ApiError>();
  const [saved, setSaved] = useState<string>();
  const [pw, setPw] = useState('');
  const [pw2, setPw2] = useState('');
  const [pwErrors, setPwErrors] = useState<{ pw?: string; pw2?: string }>({});
  const [pwDone, setPwDone] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    api.call('getSettings', {})
      .then((s) => {
        if (!live) return;
        setSettings(s);
        setExcludes(s.excludes.join('\n'));
      })
      .catch((e) => live && setError(toApiError(e)));
    return () => {
      live = false;
    };
  }, [api]);

  async function save(patch: Partial<SettingsData>, note = t('common.saved')) {
    setError(undefined);
    setSaved(undefined);
    try {
      const s = await api.call('updateSettings', patch);
      setSettings(s);
      setSaved(note);
    } catch (e) {
      setError(toApiError(e));
    }
  }

  function changeLanguage(value: LangSetting) {
    // Switch first so the page answers at once; saving follows.
    setSetting(value);
    void save({ language: value });
  }

  async function changePassword(e: FormEvent) {
    e.preventDefault();
    const errs: typeof pwErrors = {};
    if (pw.length < MIN_PASSWORD) errs.pw = t('setup.password.tooShort');
    else if (pw !== pw2) errs.pw2 = t('setup.password.mismatch');
    setPwErrors(errs);
    setPwDone(false);
    if (errs.pw || errs.pw2) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.call('setPassword', { password: pw });
      setPw('');
      setPw2('');
      setPwDone(true);
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="page" data-testid="settings-page">
      <header className="page-head">
        <h1>{t('settings.title')}</h1>
      </header>
      <div aria-live="polite">{saved ? <p className="notice" data-testid="settings-saved">{saved}</p> : null}</div>
      {error ? <ErrorBox error={error} /> : null}

      <section className="card" aria-labelledby="set-general">
        <h2 id="set-general" className="sr-only">{t('settings.title')}</h2>
        <SelectField label={t('settings.language')} value={setting} onChange={(e) => changeLanguage(e.target.value as LangSetting)} data-testid="lang-select">
          <option value="auto">{t('settings.lang.auto')}</option>
          <option value="en" lang="en">{t('settings.lang.en')}</option>
          <option value="ja" lang="ja">{t('settings.lang.ja')}</option>
        </SelectField>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={settings?.startAtLogin ?? false}
            disabled={!settings}
            onChange={(e) => void save({ startAtLogin: e.target.checked })}
            data-testid="settings-start-at-login"
          />{' '}
          {t('settings.startAtLogin')}
        </label>
      </section>

      <section className="card" aria-labelledby="set-excludes">
        <h2 id="set-excludes">{t('settings.excludes')}</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save({ excludes: excludes.split('\n').map((l) => l.trim()).filter(Boolean) });
          }}
        >
          <label htmlFor="excludes" className="sr-only">{t('settings.excludes')}</label>
          <textarea id="excludes" rows={6} value={excludes} onChange={(e) => setExcludes(e.target.value)} aria-describedby="excludes-help" spellCheck={false} data-testid="settings-excludes" />
          <p id="excludes-help" className="field-help">{t('settings.excludesHelp')}</p>
          <button type="submit" disabled={!settings} data-testid="settings-excludes-save">{t('common.save')}</button>
        </form>
      </section>

      <section className="card" aria-labelledby="set-password">
        <h2 id="set-password">{t('settings.password')}</h2>
        <p>{t('settings.passwordHelp')}</p>
        <p className="warning-note"><strong>{t('setup.password.warning')}</strong></p>
        <form onSubmit={changePassword} noValidate>
          <TextField label={t('setup.password.label')} type="password" autoComplete="new-password" value={pw} onChange={(e) => setPw(e.target.value)} error={pwErrors.pw} errorTestId="settings-password-error" data-testid="settings-password" />
          <TextField label={t('setup.password.repeat')} type="password" autoComplete="new-password" value={pw2} onChange={(e) => setPw2(e.target.value)} error={pwErrors.pw2} errorTestId="settings-password-repeat-error" data-testid="settings-password-repeat" />
          <button type="submit" disabled={busy} data-testid="settings-password-submit">{t('settings.passwordSubmit')}</button>
          {pwDone ? <p className="ok-note" role="status" data-testid="settings-password-done">{t('settings.passwordChanged')}</p> : null}
        </form>
      </section>

      <section className="card" aria-labelledby="set-kit">
        <h2 id="set-kit">{t('settings.recoveryKit')}</h2>
        <button type="button" onClick={() => navigate('/kit')} data-testid="settings-recovery-kit">{t('dests.recoveryKit')}</button>
      </section>
    </div>
  );
}
