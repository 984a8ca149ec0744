// The app shell: picks first-run setup or the main screens from the engine's Overview, loads the
// language setting, and lays out the navigation. Everything reaches the engine through the MamoriApi
// handed in, so the same tree runs over Electron IPC, over HTTP, and against a fake in tests.

import { useEffect, useState } from 'react';
import type { MamoriApi, Overview } from '../../shared/api';
import { ApiProvider, useApi } from './api/context';
import { ErrorBox } from './components/ErrorBox';
import { Activity } from './features/activity/Activity';
import { Dashboard } from './features/dashboard/Dashboard';
import { Destinations } from './features/destinations/Destinations';
import { RestorePoints } from './features/restore/RestorePoints';
import { RecoveryKit } from './features/setup/RecoveryKit';
import { SetupWizard } from './features/setup/SetupWizard';
import { Settings } from './features/settings/Settings';
import { I18nProvider, useI18n, type LangSetting, type MessageKey } from './i18n';
import { navigate, useRoute, type Route } from './router';
import { AppDataProvider, useAppData } from './state';

const NAV: { route: Route; key: MessageKey; testId: string }[] = [
  { route: '/', key: 'nav.dashboard', testId: 'nav-dashboard' },
  { route: '/restore', key: 'nav.restore', testId: 'nav-restore' },
  { route: '/activity', key: 'nav.activity', testId: 'nav-activity' },
  { route: '/destinations', key: 'nav.destinations', testId: 'nav-destinations' },
  { route: '/settings', key: 'nav.settings', testId: 'nav-settings' },
];

function needsSetup(o: Overview): boolean {
  return o.needsSetup.password || o.needsSetup.source || o.needsSetup.destination;
}

function Shell() {
  const api = useApi();
  const { t, fmt, setSetting } = useI18n();
  const { overview, loadError, refresh } = useAppData();
  const route = useRoute();
  const [setupOpen, setSetupOpen] = useState<boolean>();

  useEffect(() => {
    let live = true;
    api.call('getSettings', {})
      .then((s) => live && setSetting(s.language as LangSetting))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, setSetting]);

  // Decided once, on the first Overview: setup must stay open through its last step (the recovery
  // kit) even though the engine stops asking for setup as soon as the calls are made.
  useEffect(() => {
    if (overview && setupOpen === undefined) setSetupOpen(needsSetup(overview));
  }, [overview, setupOpen]);

  if (!overview) {
    return (
      <main className="page center" id="main">
        {loadError ? (
          <>
            <p>{t('app.loadFailed')}</p>
            <ErrorBox error={loadError} onRetry={() => void refresh()} />
          </>
        ) : <p role="status">{t('app.loading')}</p>}
      </main>
    );
  }

  if (setupOpen || route === '/setup') {
    return (
      <main id="main" className="page">
        <SetupWizard
          overview={overview}
          onDone={() => {
            setSetupOpen(false);
            navigate('/');
            void refresh();
          }}
        />
      </main>
    );
  }

  let screen;
  switch (route) {
    case '/restore': screen = <RestorePoints />; break;
    case '/activity': screen = <Activity />; break;
    case '/destinations': screen = <Destinations />; break;
    case '/settings': screen = <Settings />; break;
    case '/kit':
      screen = (
        <div className="page">
          <RecoveryKit destinations={overview.destinations} sources={overview.sources} />
          <p className="no-print"><a href="#/destinations">{t('kit.back')}</a></p>
        </div>
      );
      break;
    default: screen = <Dashboard />;
  }

  return (
    <div className="shell">
      <a href="#main" className="skip-link" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>{t('app.skipToContent')}</a>
      <header className="app-header no-print">
        <div className="brand">
          <span className="brand-name">{t('app.name')}</span>
          <span className="brand-tag muted">{t('app.tagline')}</span>
        </div>
        <nav aria-label={t('nav.label')}>
          <ul>
            {NAV.map((n) => (
              <li key={n.route}>
                <a href={`#${n.route}`} aria-current={route === n.route ? 'page' : undefined} data-testid={n.testId}>{t(n.key)}</a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      {overview.paused ? (
        <div className="banner no-print" role="status" data-testid="paused-banner">
          {t('app.paused', { time: overview.pausedUntil ? fmt.dateTime(overview.pausedUntil) : '—' })}{' '}
          <button type="button" onClick={() => void api.call('setPaused', { until: null }).then(refresh)} data-testid="resume">{t('app.resume')}</button>
        </div>
      ) : null}
      {needsSetup(overview) ? (
        <div className="banner no-print" role="status" data-testid="setup-banner">
          {t('app.setupIncomplete')} <a href="#/setup">{t('app.finishSetup')}</a>
        </div>
      ) : null}
      <main id="main" tabIndex={-1}>{screen}</main>
    </div>
  );
}

export function App({ api }: { api: MamoriApi }) {
  return (
    <ApiProvider api={api}>
      <I18nProvider>
        <AppDataProvider>
          <Shell />
        </AppDataProvider>
      </I18nProvider>
    </ApiProvider>
  );
}
