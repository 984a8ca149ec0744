// Shows an ApiError in plain words: a title for its code in the UI's language, the engine's message
// (which names the file or place concerned) and, when there is one, the suggested action.

import type { ApiError } from '../../../shared/api';
import { isMessageKey, useI18n } from '../i18n';

export function ErrorBox({ error, onRetry, testId = 'error' }: { error: ApiError; onRetry?: () => void; testId?: string }) {
  const { t } = useI18n();
  const key = `err.${error.code}`;
  const title = isMessageKey(key) ? t(key) : t('error.title');
  return (
    <div className="error-box" role="alert" data-testid={testId}>
      <p className="error-title">{title}</p>
      <p className="error-message" data-testid="error-message">{error.message}</p>
      {error.hint ? <p className="error-hint" data-testid="error-hint">{t('error.hint', { hint: error.hint })}</p> : null}
      {onRetry ? <button type="button" onClick={onRetry}>{t('common.retry')}</button> : null}
    </div>
  );
}
