import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { Logo } from '../components/icons';
import { LanguageSwitch } from '../components/shell';
import { FormError, TextField, useSubmit } from '../components/ui';
import { type MessageKey, useLocale, useT } from '../i18n';
import { authStore, signedIn } from '../session';

function AuthLayout({
  title,
  intro,
  children,
}: {
  title: MessageKey;
  intro?: MessageKey;
  children: ComponentChildren;
}) {
  const t = useT();
  useEffect(() => {
    document.title = `${t(title)} · Hearth`;
  });
  return (
    <div class="auth">
      <div class="auth-top">
        <span class="brand">
          <Logo />
          <span class="brand-name">Hearth</span>
        </span>
        <LanguageSwitch />
      </div>
      <main class="auth-card">
        <h1>{t(title)}</h1>
        {intro ? <p class="muted">{t(intro)}</p> : null}
        {children}
      </main>
    </div>
  );
}

const text = (form: FormData, name: string) => String(form.get(name) ?? '');

export function SetupPage() {
  const t = useT();
  const locale = useLocale();
  const { busy, errors, setErrors, run } = useSubmit(['code', 'username', 'password']);
  return (
    <AuthLayout title="setup.title" intro="setup.intro">
      <form
        class="form"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget);
          const body = {
            code: text(form, 'code').trim(),
            username: text(form, 'username').trim(),
            password: text(form, 'password'),
            locale,
          };
          const fields: Record<string, string> = {};
          if (!body.code) fields.code = t('form.required');
          if (!body.username) fields.username = t('form.required');
          if (!body.password) fields.password = t('form.required');
          if (body.password !== text(form, 'confirm')) fields.confirm = t('form.passwordMismatch');
          if (Object.keys(fields).length) {
            setErrors({ fields });
            return;
          }
          await run(async () => {
            try {
              const { user } = await api.setup(body);
              signedIn(user);
            } catch (error) {
              // Someone finished setup meanwhile: sign in instead.
              if ((error as { status?: number }).status === 409) authStore.set({ status: 'login' });
              else throw error;
            }
          });
        }}
      >
        <TextField
          label={t('setup.code')}
          hint={t('setup.codeHint')}
          name="code"
          autocomplete="one-time-code"
          autocapitalize="off"
          spellcheck={false}
          error={errors.fields.code}
        />
        <TextField
          label={t('user.username')}
          name="username"
          autocomplete="username"
          autocapitalize="off"
          spellcheck={false}
          error={errors.fields.username}
        />
        <TextField
          label={t('user.password')}
          name="password"
          type="password"
          autocomplete="new-password"
          error={errors.fields.password}
        />
        <TextField
          label={t('user.passwordConfirm')}
          name="confirm"
          type="password"
          autocomplete="new-password"
          error={errors.fields.confirm}
        />
        <FormError message={errors.form} />
        <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
          {busy ? t('common.working') : t('setup.submit')}
        </button>
      </form>
    </AuthLayout>
  );
}

export function LoginPage({ expired }: { expired?: boolean | undefined }) {
  const t = useT();
  const { busy, errors, setErrors, run } = useSubmit(['username', 'password']);
  const [showExpired, setShowExpired] = useState(Boolean(expired));
  return (
    <AuthLayout title="login.title">
      {showExpired ? (
        <p class="alert alert-info" role="status">
          {t('login.expired')}
        </p>
      ) : null}
      <form
        class="form"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setShowExpired(false);
          const form = new FormData(e.currentTarget);
          const body = { username: text(form, 'username').trim(), password: text(form, 'password') };
          const fields: Record<string, string> = {};
          if (!body.username) fields.username = t('form.required');
          if (!body.password) fields.password = t('form.required');
          if (Object.keys(fields).length) {
            setErrors({ fields });
            return;
          }
          await run(async () => {
            const { user } = await api.login(body);
            signedIn(user);
          });
        }}
      >
        <TextField
          label={t('user.username')}
          name="username"
          autocomplete="username"
          autocapitalize="off"
          spellcheck={false}
          error={errors.fields.username}
        />
        <TextField
          label={t('user.password')}
          name="password"
          type="password"
          autocomplete="current-password"
          error={errors.fields.password}
        />
        <FormError message={errors.form} />
        <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
          {busy ? t('common.working') : t('login.submit')}
        </button>
      </form>
    </AuthLayout>
  );
}
