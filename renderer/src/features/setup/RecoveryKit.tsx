// The printable recovery kit: where the backups are, how to restore them with Mamori or with plain
// restic, and an empty line for the password to be written by hand. The password itself is never
// shown or printed by the app: a kit that is printed to a PDF on this computer must not hold it.

import type { Overview } from '../../../../shared/api';
import { useI18n } from '../../i18n';
import { mediaLabel, placeLabel } from '../../i18n/domain';

/** restic's -r argument; a plain path is quoted for the shell when it holds spaces. */
function repoArg(location: string): string {
  return /[\s'"$`\\]/.test(location) ? `'${location.replace(/'/g, `'\\''`)}'` : location;
}

export function RecoveryKit({ destinations, sources }: { destinations: Overview['destinations']; sources: Overview['sources'] }) {
  const { t, fmt } = useI18n();
  const today = new Date().toISOString().slice(0, 10);
  return (
    <section className="recovery-kit" data-testid="recovery-kit" aria-labelledby="kit-title">
      <div className="kit-head">
        <h2 id="kit-title">{t('kit.title')}</h2>
        <button type="button" className="no-print" onClick={() => window.print()} data-testid="kit-print">{t('kit.print')}</button>
      </div>
      <p className="muted">{t('kit.made', { date: fmt.date(today) })}</p>

      <div className="kit-password">
        <p><strong>{t('kit.password')}</strong></p>
        <div className="kit-blank" data-testid="kit-password-line" aria-hidden="true" />
        <p className="muted">{t('kit.passwordNote')}</p>
      </div>

      <h3>{t('kit.destinations')}</h3>
      {destinations.length === 0 ? <p>{t('kit.noDestinations')}</p> : (
        <ul className="kit-dests">
          {destinations.map((d) => (
            <li key={d.id} data-testid="kit-destination">
              <strong>{d.name}</strong> — {mediaLabel(d.mediaKind, t)}, {placeLabel(d.place, t)}
              <br />
              <code>{d.location}</code>
            </li>
          ))}
        </ul>
      )}

      {sources.length ? (
        <>
          <h3>{t('kit.folders')}</h3>
          <ul>
            {sources.map((s) => <li key={s.id}>{s.name}: <code>{s.paths.join(', ')}</code></li>)}
          </ul>
        </>
      ) : null}

      <h3>{t('kit.mamori.title')}</h3>
      <ol>
        <li>{t('kit.mamori.step1')}</li>
        <li>{t('kit.mamori.step2')}</li>
        <li>{t('kit.mamori.step3')}</li>
      </ol>

      <h3>{t('kit.restic.title')}</h3>
      <p>{t('kit.restic.intro')}</p>
      {(destinations.length ? destinations.map((d) => d.location) : ['LOCATION']).map((loc) => (
        <div key={loc} className="kit-commands" data-testid="kit-restic">
          <p>{t('kit.restic.list')}</p>
          <pre><code>restic -r {repoArg(loc)} snapshots</code></pre>
          <p>{t('kit.restic.restore')}</p>
          <pre><code>restic -r {repoArg(loc)} restore latest --target ~/restored</code></pre>
        </div>
      ))}
      <p className="muted">{t('kit.restic.note')}</p>
    </section>
  );
}
