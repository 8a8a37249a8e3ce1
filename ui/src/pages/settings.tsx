import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { Alert, FormError, PageHeader, RoleBadge, SelectField, TextField, useSubmit } from '../components/ui';
import { formatTimeOnly, timeZones } from '../format';
import { usePageTitle } from '../hooks';
import { useLocale, useT } from '../i18n';
import { authStore, loadSettings, settingsStore } from '../session';
import { useStore } from '../store';

const text = (form: FormData, name: string) => String(form.get(name) ?? '');

function HouseholdForm({ isOwner }: { isOwner: boolean }) {
  const t = useT();
  const locale = useLocale();
  const settings = useStore(settingsStore);
  const zones = useMemo(() => timeZones(), []);
  const [zone, setZone] = useState(settings?.timeZone ?? 'UTC');
  const [saved, setSaved] = useState(false);
  const { busy, errors, run } = useSubmit(['householdName', 'timeZone']);

  useEffect(() => {
    if (settings) setZone(settings.timeZone);
  }, [settings]);

  if (!settings) return <p class="loading">{t('common.loading')}</p>;
  const options = zones.includes(settings.timeZone) ? zones : [settings.timeZone, ...zones];

  return (
    <form
      class="card form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        if (!isOwner) return;
        const form = new FormData(e.currentTarget);
        setSaved(false);
        const ok = await run(async () => {
          const result = await api.updateSettings({
            householdName: text(form, 'householdName').trim(),
            timeZone: text(form, 'timeZone'),
          });
          settingsStore.set(result.settings);
        });
        setSaved(ok);
      }}
    >
      <h2>{t('settings.household')}</h2>
      {!isOwner ? <Alert kind="info">{t('settings.readOnly')}</Alert> : null}
      <div class="form-grid">
        <TextField
          label={t('settings.householdName')}
          name="householdName"
          defaultValue={settings.householdName}
          key={`name-${settings.householdName}`}
          readOnly={!isOwner}
          maxLength={80}
          error={errors.fields.householdName}
        />
        <SelectField
          label={t('settings.timeZone')}
          name="timeZone"
          value={zone}
          disabled={!isOwner}
          onChange={(e) => setZone(e.currentTarget.value)}
          hint={t('settings.timeZoneHint', { time: formatTimeOnly(new Date().toISOString(), locale, zone) })}
          error={errors.fields.timeZone}
        >
          {options.map((z) => (
            <option key={z} value={z}>
              {z.replaceAll('_', ' ')}
            </option>
          ))}
        </SelectField>
      </div>
      <FormError message={errors.form} />
      {saved ? <Alert kind="success">{t('settings.saved')}</Alert> : null}
      {isOwner ? (
        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? t('common.working') : t('common.save')}
          </button>
        </div>
      ) : null}
    </form>
  );
}

function PasswordForm() {
  const t = useT();
  const [done, setDone] = useState(false);
  const { busy, errors, setErrors, run } = useSubmit(['currentPassword', 'newPassword'], {
    password: 'newPassword',
  });
  return (
    <form
      class="card form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const formEl = e.currentTarget;
        const form = new FormData(formEl);
        setDone(false);
        const body = {
          currentPassword: text(form, 'currentPassword'),
          newPassword: text(form, 'newPassword'),
        };
        const fields: Record<string, string> = {};
        if (!body.currentPassword) fields.currentPassword = t('form.required');
        if (!body.newPassword) fields.newPassword = t('form.required');
        if (body.newPassword !== text(form, 'confirm')) fields.confirm = t('form.passwordMismatch');
        if (Object.keys(fields).length) return setErrors({ fields });
        const changed = await run(async () => {
          try {
            await api.changePassword(body);
          } catch (error) {
            if (!(error instanceof ApiError && error.code === 'invalid_credentials')) throw error;
            const issues = [{ path: 'currentPassword', message: t('settings.wrongPassword') }];
            throw new ApiError(error.status, 'invalid_input', error.message, { issues });
          }
        });
        if (changed) {
          formEl.reset();
          setDone(true);
        }
      }}
    >
      <h2>{t('settings.password')}</h2>
      <div class="form-grid">
        <TextField
          label={t('settings.currentPassword')}
          name="currentPassword"
          type="password"
          autocomplete="current-password"
          error={errors.fields.currentPassword}
        />
        <TextField
          label={t('users.newPassword')}
          name="newPassword"
          type="password"
          autocomplete="new-password"
          error={errors.fields.newPassword}
        />
        <TextField
          label={t('user.passwordConfirm')}
          name="confirm"
          type="password"
          autocomplete="new-password"
          error={errors.fields.confirm}
        />
      </div>
      <FormError message={errors.form} />
      {done ? <Alert kind="success">{t('settings.passwordChanged')}</Alert> : null}
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.working') : t('settings.changePassword')}
        </button>
      </div>
    </form>
  );
}

export function SettingsPage() {
  const t = useT();
  usePageTitle(t('nav.settings'));
  const auth = useStore(authStore);
  const settings = useStore(settingsStore);
  useEffect(() => {
    if (!settings) void loadSettings();
  }, [settings]);
  if (auth.status !== 'ready') return null;
  const { user } = auth;
  return (
    <>
      <PageHeader title={t('nav.settings')} />
      <HouseholdForm isOwner={user.role === 'owner'} />
      {user.role === 'owner' ? (
        <section class="card" aria-labelledby="settings-channels">
          <h2 id="settings-channels">{t('channels.title')}</h2>
          <p class="hint">{t('channels.settingsHint')}</p>
          <div class="actions">
            <a class="btn" href="/settings/alerts">
              {t('channels.open')}
            </a>
          </div>
        </section>
      ) : null}
      <section class="card" aria-labelledby="settings-ai">
        <h2 id="settings-ai">{t('ai.title')}</h2>
        <p class="hint">{t('ai.settingsHint')}</p>
        <div class="actions">
          <a class="btn" href="/settings/ai">
            {t('ai.open')}
          </a>
        </div>
      </section>
      <section class="card" aria-labelledby="settings-secure">
        <h2 id="settings-secure">{t('secure.title')}</h2>
        <p class="hint">{t('secure.settingsHint')}</p>
        <div class="actions">
          <a class="btn" href="/secure">
            {t('secure.open')}
          </a>
        </div>
      </section>
      <section class="card">
        <h2>{t('settings.account')}</h2>
        <p class="row-title">
          <strong>{user.displayName || user.username}</strong>
          <span class="muted">@{user.username}</span>
          <RoleBadge role={user.role} />
        </p>
      </section>
      <PasswordForm />
    </>
  );
}
