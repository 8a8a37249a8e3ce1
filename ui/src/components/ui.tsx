import type { ComponentChildren, InputHTMLAttributes, SelectHTMLAttributes } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, type DeviceStatus, type Role, type Severity } from '../api';
import { type Translate, useT } from '../i18n';
import { Icon } from './icons';

// ---------------------------------------------------------------- errors

export interface FormErrors {
  form?: string;
  fields: Record<string, string>;
}

/** A person-readable sentence for any failure, in the current language where the code is known. */
export function errorMessage(error: unknown, t: Translate): string {
  if (!(error instanceof ApiError)) return t('error.unexpected');
  switch (error.code) {
    case 'network':
      return t('error.network');
    case 'invalid_credentials':
      return t('error.invalidCredentials');
    case 'rate_limited':
      return error.retryAfter
        ? t('error.rateLimitedFor', { seconds: error.retryAfter })
        : t('error.rateLimited');
    case 'bad_setup_code':
      return t('error.badSetupCode');
    case 'forbidden':
      return t('error.forbidden');
    case 'csrf':
      return t('error.csrf');
    case 'not_found':
      return t('error.notFound');
    case 'unauthorized':
      return t('error.unauthorized');
    case 'invalid_input':
      return t('error.invalidInput');
    default:
      return error.status >= 500 ? t('error.server') : error.message;
  }
}

/** Splits a failure into messages next to the named fields and one for the whole form. */
export function formErrors(
  error: unknown,
  t: Translate,
  fields: readonly string[],
  aliases: Record<string, string> = {},
): FormErrors {
  const result: FormErrors = { fields: {} };
  const leftover: string[] = [];
  if (error instanceof ApiError && error.issues.length) {
    for (const issue of error.issues) {
      const first = issue.path.split('.')[0] ?? '';
      const field = aliases[first] ?? first;
      if (fields.includes(field) && !result.fields[field]) result.fields[field] = issue.message;
      else leftover.push(issue.path ? `${issue.path}: ${issue.message}` : issue.message);
    }
    if (leftover.length || !Object.keys(result.fields).length)
      result.form = [errorMessage(error, t), ...leftover].join(' ');
    return result;
  }
  result.form = errorMessage(error, t);
  return result;
}

/**
 * Submit state of one form: busy flag, errors, and a runner that fills them. `aliases` maps an
 * API field name to the form's own (the hub calls a new password `password` everywhere).
 */
export function useSubmit(fields: readonly string[], aliases?: Record<string, string>) {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FormErrors>({ fields: {} });
  const run = async (action: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setErrors({ fields: {} });
    try {
      await action();
      return true;
    } catch (error) {
      setErrors(formErrors(error, t, fields, aliases));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, errors, setErrors, run };
}

// ---------------------------------------------------------------- data loading

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
  update: (change: (data: T | undefined) => T | undefined) => void;
}

/** Loads once on mount; `reload` refetches, and a late answer never overwrites a newer one. */
export function useResource<T>(load: () => Promise<T>): Resource<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const latestLoad = useRef(load);
  latestLoad.current = load;
  const sequence = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++sequence.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await latestLoad.current();
      if (mine === sequence.current) setState({ data, error: undefined, loading: false });
    } catch (error) {
      if (mine === sequence.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, []);

  const update = useCallback((change: (data: T | undefined) => T | undefined) => {
    setState((s) => ({ ...s, data: change(s.data) }));
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  return { ...state, reload, update };
}

// ---------------------------------------------------------------- form controls

type FieldProps = { label: string; error?: string | undefined; hint?: string | undefined };

export function TextField({
  label,
  error,
  hint,
  ...input
}: FieldProps & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  const describedBy = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div class={error ? 'field has-error' : 'field'}>
      <label for={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...input} />
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function SelectField({
  label,
  error,
  hint,
  children,
  ...select
}: FieldProps & SelectHTMLAttributes<HTMLSelectElement> & { children: ComponentChildren }) {
  const id = useId();
  const describedBy = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div class={error ? 'field has-error' : 'field'}>
      <label for={id}>{label}</label>
      <select id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...select}>
        {children}
      </select>
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function CheckboxField({
  label,
  hint,
  error,
  ...input
}: FieldProps & Omit<InputHTMLAttributes<HTMLInputElement>, 'type'>) {
  const id = useId();
  return (
    <div class={error ? 'field field-check has-error' : 'field field-check'}>
      <input
        id={id}
        class="check-input"
        type="checkbox"
        aria-invalid={error ? true : undefined}
        aria-describedby={error || hint ? `${id}-note` : undefined}
        {...input}
      />
      <label for={id}>{label}</label>
      {error ? (
        <p class="field-error" id={`${id}-note`}>
          {error}
        </p>
      ) : hint ? (
        <p class="hint" id={`${id}-note`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function FormError({ message }: { message?: string | undefined }) {
  if (!message) return null;
  return (
    <p class="alert alert-error" role="alert">
      {message}
    </p>
  );
}

export function Alert({
  kind,
  children,
}: {
  kind: 'error' | 'warning' | 'info' | 'success';
  children: ComponentChildren;
}) {
  return (
    <div class={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function LoadError({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const t = useT();
  return (
    <div class="alert alert-error" role="alert">
      <span>{errorMessage(error, t)}</span>{' '}
      <button type="button" class="btn btn-small" onClick={onRetry}>
        {t('common.retry')}
      </button>
    </div>
  );
}

export function Loading() {
  const t = useT();
  return (
    <p class="loading" aria-live="polite">
      {t('common.loading')}
    </p>
  );
}

/** A destructive button that asks once more in place (no modal dialogs on phones). */
export function ConfirmButton({
  label,
  confirmLabel,
  onConfirm,
  disabled,
}: {
  label: string;
  confirmLabel: string;
  onConfirm: () => Promise<void> | void;
  disabled?: boolean;
}) {
  const t = useT();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        class="btn btn-small btn-danger-quiet"
        disabled={disabled}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <button
        type="button"
        class="btn btn-small btn-danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" class="btn btn-small btn-quiet" onClick={() => setAsking(false)}>
        {t('common.cancel')}
      </button>
    </span>
  );
}

// ---------------------------------------------------------------- badges

export function SeverityBadge({ severity }: { severity: Severity }) {
  const t = useT();
  return <span class={`badge sev-${severity}`}>{t(`severity.${severity}`)}</span>;
}

export function StatusBadge({ status }: { status: DeviceStatus }) {
  const t = useT();
  return <span class={`badge status-${status}`}>{t(`status.${status}`)}</span>;
}

export function RoleBadge({ role }: { role: Role }) {
  const t = useT();
  return <span class={`badge role-${role}`}>{t(`role.${role}`)}</span>;
}

// ---------------------------------------------------------------- secrets

async function copyText(text: string, fallback: HTMLInputElement | null): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Fall through to the selection copy.
  }
  if (!fallback) return false;
  fallback.focus();
  fallback.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

/** A secret shown exactly once, with a copy button and a warning. */
export function SecretReveal({
  title,
  secret,
  onDone,
}: {
  title: string;
  secret: string;
  onDone: () => void;
}) {
  const t = useT();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<boolean | null>(null);
  const id = useId();
  return (
    <section class="secret" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{title}</h3>
      <p class="secret-warning">
        <Icon name="warning" class="warning-icon" />
        <span>{t('token.onceWarning')}</span>
      </p>
      <div class="secret-row">
        <input
          ref={input}
          class="secret-value"
          readOnly
          value={secret}
          aria-label={t('token.value')}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button
          type="button"
          class="btn btn-primary"
          onClick={async () => setCopied(await copyText(secret, input.current))}
        >
          <Icon name="copy" />
          {copied ? t('token.copied') : t('token.copy')}
        </button>
      </div>
      {copied === false ? <p class="hint">{t('token.copyFailed')}</p> : null}
      <div class="actions">
        <button type="button" class="btn" onClick={onDone}>
          {t('token.done')}
        </button>
      </div>
    </section>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <h1>{title}</h1>
      {children ? <div class="page-actions">{children}</div> : null}
    </div>
  );
}
