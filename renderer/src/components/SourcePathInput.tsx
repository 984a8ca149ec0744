// Typing a folder (or mail export) to protect. The browser cannot open a folder picker on the
// machine where the engine runs, so paths are typed and checked here: empty, relative and duplicate
// paths are refused inline, in the user's language, before anything is sent.

import { useState, type FormEvent } from 'react';
import { useI18n } from '../i18n';
import { TextField, SelectField } from './Field';
import { isAbsolutePath } from './paths';

export interface SourceEntry {
  path: string;
  kind: 'folder' | 'mail';
}

export function SourcePathInput({ existing, onAdd, testIdPrefix, busy }: { existing: string[]; onAdd(e: SourceEntry): void | Promise<void>; testIdPrefix: string; busy?: boolean }) {
  const { t } = useI18n();
  const [path, setPath] = useState('');
  const [kind, setKind] = useState<SourceEntry['kind']>('folder');
  const [error, setError] = useState<string>();

  async function add(e: FormEvent) {
    e.preventDefault();
    const p = path.trim();
    if (!p) return setError(t('setup.sources.empty'));
    if (!isAbsolutePath(p)) return setError(t('setup.sources.relative'));
    if (existing.includes(p)) return setError(t('setup.sources.duplicate'));
    setError(undefined);
    await onAdd({ path: p, kind });
    setPath('');
  }

  return (
    <form className="source-input" onSubmit={add} noValidate>
      <TextField
        label={t('setup.sources.pathLabel')}
        help={t('setup.sources.help')}
        error={error}
        errorTestId={`${testIdPrefix}-source-error`}
        value={path}
        onChange={(e) => setPath(e.target.value)}
        placeholder="/home/you/Documents"
        autoComplete="off"
        spellCheck={false}
        data-testid={`${testIdPrefix}-source-path`}
      />
      <div className="field-row">
        <SelectField label={t('setup.sources.kindLabel')} value={kind} onChange={(e) => setKind(e.target.value as SourceEntry['kind'])} data-testid={`${testIdPrefix}-source-kind`}>
          <option value="folder">{t('setup.sources.kind.folder')}</option>
          <option value="mail">{t('setup.sources.kind.mail')}</option>
        </SelectField>
        <button type="submit" disabled={busy} data-testid={`${testIdPrefix}-add-source`}>{t('setup.sources.add')}</button>
      </div>
    </form>
  );
}
