// The "add a destination" form, used by the first-run wizard and the Destinations screen. The
// location is restic's syntax; sign-in fields appear for the kinds that need them, and their values
// go to addDestination's `secrets` (kept in the secret store, never in the state database) under the
// names the engine reads: s3-access-key-id, s3-secret-access-key, sftp-password, sftp-key-passphrase,
// rest-password. Media kind and place start from a guess by location kind until the user picks.

import { useState, type FormEvent } from 'react';
import type { ApiError, ApiParams, ApiResults } from '../../../../shared/api';
import { MEDIA_KINDS, PLACES } from '../../../../shared/protection';
import { useApi } from '../../api/context';
import { toApiError } from '../../api/errors';
import { ErrorBox } from '../../components/ErrorBox';
import { SelectField, TextField } from '../../components/Field';
import { isAbsolutePath } from '../../components/paths';
import { useI18n } from '../../i18n';
import { mediaLabel, placeLabel } from '../../i18n/domain';

type LocationKind = 'local' | 's3' | 'sftp' | 'rest' | 'rclone';

function locationKind(loc: string): LocationKind {
  const m = /^(s3|sftp|rest|rclone):/.exec(loc.trim());
  return m ? (m[1] as LocationKind) : 'local';
}

function guess(kind: LocationKind): { mediaKind: string; place: string } {
  if (kind === 's3' || kind === 'rclone') return { mediaKind: 'cloud', place: 'offsite' };
  if (kind === 'sftp' || kind === 'rest') return { mediaKind: 'nas', place: 'home' };
  return { mediaKind: 'external-hdd', place: 'home' };
}

export type AddedDestination = ApiResults['addDestination'];

export function DestinationForm({ onAdded, submitLabel }: { onAdded(d: AddedDestination): void; submitLabel?: string }) {
  const api = useApi();
  const { t } = useI18n();
  const [location, setLocation] = useState('');
  const [name, setName] = useState('');
  const [mediaKind, setMediaKind] = useState<string>();
  const [place, setPlace] = useState<string>();
  const [firstUse, setFirstUse] = useState('');
  const [secret, setSecret] = useState<Record<string, string>>({});
  const [keyFile, setKeyFile] = useState('');
  const [region, setRegion] = useState('');
  const [errors, setErrors] = useState<{ location?: string; name?: string; keyFile?: string }>({});
  const [apiError, setApiError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const kind = locationKind(location);
  const g = guess(kind);
  const effMedia = mediaKind ?? g.mediaKind;
  const effPlace = place ?? g.place;
  const secretField = (key: string, label: string, testId: string) => (
    <TextField
      label={label}
      type="password"
      autoComplete="off"
      value={secret[key] ?? ''}
      onChange={(e) => setSecret((s) => ({ ...s, [key]: e.target.value }))}
      data-testid={testId}
    />
  );

  async function submit(e: FormEvent) {
    e.preventDefault();
    const errs: typeof errors = {};
    if (!location.trim()) errs.location = t('dest.form.locationRequired');
    if (!name.trim()) errs.name = t('dest.form.nameRequired');
    if (kind === 'sftp' && keyFile.trim() && !isAbsolutePath(keyFile.trim())) errs.keyFile = t('dest.form.keyFileAbsolute');
    setErrors(errs);
    setApiError(undefined);
    if (Object.keys(errs).length) return;
    const wanted: Record<LocationKind, string[]> = {
      local: [],
      rclone: [],
      s3: ['s3-access-key-id', 's3-secret-access-key'],
      sftp: ['sftp-password', 'sftp-key-passphrase'],
      rest: ['rest-password'],
    };
    const secrets: Record<string, string> = {};
    for (const k of wanted[kind]) if (secret[k]) secrets[k] = secret[k];
    const options: NonNullable<ApiParams<'addDestination'>['options']> = {};
    if (kind === 'sftp' && keyFile.trim()) options.keyFile = keyFile.trim();
    if (kind === 's3' && region.trim()) options.region = region.trim();
    const params: ApiParams<'addDestination'> = {
      location: location.trim(),
      name: name.trim(),
      mediaKind: effMedia,
      place: effPlace,
      ...(firstUse ? { firstUse } : {}),
      ...(Object.keys(secrets).length ? { secrets } : {}),
      ...(Object.keys(options).length ? { options } : {}),
    };
    setBusy(true);
    try {
      const added = await api.call('addDestination', params);
      setLocation('');
      setName('');
      setMediaKind(undefined);
      setPlace(undefined);
      setFirstUse('');
      setSecret({});
      setKeyFile('');
      setRegion('');
      onAdded(added);
    } catch (err) {
      setApiError(toApiError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="dest-form" onSubmit={submit} noValidate data-testid="dest-form">
      <TextField
        label={t('dest.form.location')}
        help={t('dest.form.locationHelp')}
        error={errors.location}
        errorTestId="dest-location-error"
        value={location}
        onChange={(e) => setLocation(e.target.value)}
        autoComplete="off"
        spellCheck={false}
        data-testid="dest-location"
      />
      <TextField
        label={t('dest.form.name')}
        help={t('dest.form.nameHelp')}
        error={errors.name}
        errorTestId="dest-name-error"
        value={name}
        onChange={(e) => setName(e.target.value)}
        data-testid="dest-name"
      />
      <div className="field-row">
        <SelectField label={t('dest.form.mediaKind')} value={effMedia} onChange={(e) => setMediaKind(e.target.value)} data-testid="dest-media">
          {MEDIA_KINDS.map((m) => <option key={m.kind} value={m.kind}>{mediaLabel(m.kind, t)}</option>)}
        </SelectField>
        <SelectField label={t('dest.form.place')} value={effPlace} onChange={(e) => setPlace(e.target.value)} data-testid="dest-place">
          {PLACES.map((p) => <option key={p.place} value={p.place}>{placeLabel(p.place, t)}</option>)}
        </SelectField>
        <TextField label={t('dest.form.firstUse')} type="date" value={firstUse} onChange={(e) => setFirstUse(e.target.value)} data-testid="dest-first-use" />
      </div>
      <p className="field-help">{t('dest.form.firstUseHelp')}</p>
      {kind === 's3' || kind === 'sftp' || kind === 'rest' ? (
        <fieldset>
          <legend>{t('dest.form.signIn')}</legend>
          {kind === 's3' ? (
            <>
              {secretField('s3-access-key-id', t('dest.form.s3KeyId'), 'dest-s3-key-id')}
              {secretField('s3-secret-access-key', t('dest.form.s3Secret'), 'dest-s3-secret')}
              <TextField label={t('dest.form.region')} value={region} onChange={(e) => setRegion(e.target.value)} data-testid="dest-region" />
            </>
          ) : null}
          {kind === 'sftp' ? (
            <>
              <TextField label={t('dest.form.sftpKeyFile')} value={keyFile} error={errors.keyFile} onChange={(e) => setKeyFile(e.target.value)} data-testid="dest-key-file" />
              {secretField('sftp-password', t('dest.form.sftpPassword'), 'dest-sftp-password')}
              {secretField('sftp-key-passphrase', t('dest.form.sftpPassphrase'), 'dest-sftp-passphrase')}
            </>
          ) : null}
          {kind === 'rest' ? secretField('rest-password', t('dest.form.restPassword'), 'dest-rest-password') : null}
        </fieldset>
      ) : null}
      {apiError ? <ErrorBox error={apiError} /> : null}
      <button type="submit" className="primary" disabled={busy} data-testid="dest-submit">
        {busy ? t('dest.form.adding') : submitLabel ?? t('dest.form.submit')}
      </button>
    </form>
  );
}
