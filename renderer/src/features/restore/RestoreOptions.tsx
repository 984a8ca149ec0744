// The "more ways to restore" panel. Beside the original is preselected (it never replaces anything);
// into a folder needs a typed absolute path; in place goes through a confirmation that says the
// current files are moved aside first; zip and tar.gz exports write an archive file at a typed path.

import { useId, useState, type FormEvent } from 'react';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { TextField } from '../../components/Field';
import { isAbsolutePath } from '../../components/paths';
import { useI18n } from '../../i18n';

export type RestoreChoice =
  | { action: 'restore'; mode: 'beside' }
  | { action: 'restore'; mode: 'folder'; target: string }
  | { action: 'restore'; mode: 'in-place'; confirmInPlace: true }
  | { action: 'export'; format: 'zip' | 'tar.gz'; target: string };

type Mode = 'beside' | 'folder' | 'in-place' | 'zip' | 'tar.gz';

export function RestoreOptions({ what, onChoose, onCancel }: { what: string; onChoose(c: RestoreChoice): void; onCancel(): void }) {
  const { t } = useI18n();
  const titleId = useId();
  const [mode, setMode] = useState<Mode>('beside');
  const [folder, setFolder] = useState('');
  const [archive, setArchive] = useState('');
  const [error, setError] = useState<string>();
  const [confirming, setConfirming] = useState(false);
  const today = new Date().toISOString().slice(0, 10);

  function submit(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    if (mode === 'beside') return onChoose({ action: 'restore', mode: 'beside' });
    if (mode === 'folder') {
      if (!isAbsolutePath(folder.trim())) return setError(t('restore.opts.needAbsolute'));
      return onChoose({ action: 'restore', mode: 'folder', target: folder.trim() });
    }
    if (mode === 'in-place') return setConfirming(true);
    if (!isAbsolutePath(archive.trim())) return setError(t('restore.opts.needAbsolute'));
    return onChoose({ action: 'export', format: mode, target: archive.trim() });
  }

  const radio = (m: Mode, label: string, help?: string) => (
    <div className="radio">
      <label>
        <input type="radio" name="restore-mode" value={m} checked={mode === m} onChange={() => { setMode(m); setError(undefined); }} data-testid={`restore-mode-${m === 'tar.gz' ? 'tgz' : m}`} />
        {' '}{label}
      </label>
      {help ? <p className="field-help">{help}</p> : null}
    </div>
  );

  return (
    <div className="panel" role="dialog" aria-labelledby={titleId} data-testid="restore-options">
      <h3 id={titleId}>{t('restore.opts.title', { what })}</h3>
      <form onSubmit={submit} noValidate>
        <fieldset>
          <legend>{t('restore.opts.how')}</legend>
          {radio('beside', t('restore.opts.beside'), t('restore.opts.besideHelp', { date: today }))}
          {radio('folder', t('restore.opts.folder'))}
          {mode === 'folder' ? (
            <TextField label={t('restore.opts.folderLabel')} value={folder} onChange={(e) => setFolder(e.target.value)} error={error} errorTestId="restore-target-error" spellCheck={false} data-testid="restore-target" />
          ) : null}
          {radio('in-place', t('restore.opts.inPlace'), t('restore.opts.inPlaceHelp'))}
          {radio('zip', t('restore.opts.zip'))}
          {radio('tar.gz', t('restore.opts.tgz'))}
          {mode === 'zip' || mode === 'tar.gz' ? (
            <TextField
              label={t('restore.opts.archiveLabel')}
              value={archive}
              onChange={(e) => setArchive(e.target.value)}
              error={error}
              errorTestId="export-target-error"
              placeholder={mode === 'zip' ? '/home/you/restored.zip' : '/home/you/restored.tar.gz'}
              spellCheck={false}
              data-testid="export-target"
            />
          ) : null}
        </fieldset>
        <div className="actions">
          <button type="button" onClick={onCancel}>{t('common.cancel')}</button>
          <button type="submit" className="primary" data-testid="restore-submit">
            {mode === 'zip' || mode === 'tar.gz' ? t('restore.opts.exportSubmit') : t('restore.opts.submit')}
          </button>
        </div>
      </form>
      {confirming ? (
        <ConfirmDialog
          title={t('restore.confirm.title')}
          confirmLabel={t('restore.confirm.ok')}
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            onChoose({ action: 'restore', mode: 'in-place', confirmInPlace: true });
          }}
          testId="restore-confirm"
        >
          <p>{t('restore.confirm.body', { date: today })}</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
