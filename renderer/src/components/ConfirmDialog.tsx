// A modal confirmation for actions that change things outside Mamori (restore in place) or stop
// protection (removing a destination or folder). Focus starts on Cancel, so Enter alone never
// confirms; Escape cancels; focus returns to where it was when the dialog closes.

import { useEffect, useId, useRef, type ReactNode } from 'react';
import { useI18n } from '../i18n';

export interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm(): void;
  onCancel(): void;
  testId?: string;
  busy?: boolean;
}

export function ConfirmDialog({ title, children, confirmLabel, onConfirm, onCancel, testId = 'confirm-dialog', busy }: ConfirmDialogProps) {
  const { t } = useI18n();
  const titleId = useId();
  const bodyId = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    cancelRef.current?.focus();
    return () => before?.focus?.();
  }, []);
  return (
    <div className="dialog-backdrop">
      <div
        className="dialog"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={bodyId}
        data-testid={testId}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onCancel();
        }}
      >
        <h2 id={titleId}>{title}</h2>
        <div id={bodyId}>{children}</div>
        <div className="dialog-actions">
          <button type="button" ref={cancelRef} onClick={onCancel} data-testid={`${testId}-cancel`}>{t('common.cancel')}</button>
          <button type="button" className="danger" onClick={onConfirm} disabled={busy} data-testid={`${testId}-ok`}>{confirmLabel}</button>
        </div>
      </div>
    </div>
  );
}
