// A labelled form field with help text and an inline error, wired for screen readers
// (aria-describedby, aria-invalid).

import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from 'react';

interface Common {
  label: string;
  help?: ReactNode;
  error?: string;
  errorTestId?: string;
}

function describedBy(helpId: string, errorId: string, help: unknown, error: unknown): string | undefined {
  return [help ? helpId : '', error ? errorId : ''].filter(Boolean).join(' ') || undefined;
}

export function TextField({ label, help, error, errorTestId, ...input }: Common & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(`${id}-help`, `${id}-err`, help, error)} {...input} />
      {help ? <p className="field-help" id={`${id}-help`}>{help}</p> : null}
      {error ? <p className="field-error" id={`${id}-err`} role="alert" data-testid={errorTestId}>{error}</p> : null}
    </div>
  );
}

export function SelectField({ label, help, error, errorTestId, children, ...select }: Common & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(`${id}-help`, `${id}-err`, help, error)} {...select}>
        {children}
      </select>
      {help ? <p className="field-help" id={`${id}-help`}>{help}</p> : null}
      {error ? <p className="field-error" id={`${id}-err`} role="alert" data-testid={errorTestId}>{error}</p> : null}
    </div>
  );
}
