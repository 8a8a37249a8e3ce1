import { useState } from 'preact/hooks';
import { ApiError, api, type Role, type User } from '../api';
import {
  Alert,
  ConfirmButton,
  errorMessage,
  FormError,
  LoadError,
  Loading,
  PageHeader,
  RoleBadge,
  SelectField,
  TextField,
  useResource,
  useSubmit,
} from '../components/ui';
import { useFormatTime, usePageTitle } from '../hooks';
import { useT } from '../i18n';
import { authStore } from '../session';
import { useStore } from '../store';

const ROLES: Role[] = ['owner', 'member', 'viewer'];
const text = (form: FormData, name: string) => String(form.get(name) ?? '');

function RoleOptions({ initial }: { initial?: Role }) {
  const t = useT();
  return (
    <>
      {ROLES.map((role) => (
        <option key={role} value={role} selected={initial ? role === initial : undefined}>
          {t(`role.${role}`)}
        </option>
      ))}
    </>
  );
}

function AddUserForm({ onAdded, onCancel }: { onAdded: (user: User) => void; onCancel: () => void }) {
  const t = useT();
  const { busy, errors, setErrors, run } = useSubmit(['username', 'displayName', 'password', 'role']);
  return (
    <form
      class="card form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const formEl = e.currentTarget;
        const form = new FormData(formEl);
        const displayName = text(form, 'displayName').trim();
        const body = {
          username: text(form, 'username').trim(),
          password: text(form, 'password'),
          role: text(form, 'role') as Role,
          ...(displayName ? { displayName } : {}),
        };
        const fields: Record<string, string> = {};
        if (!body.username) fields.username = t('form.required');
        if (!body.password) fields.password = t('form.required');
        if (body.password !== text(form, 'confirm')) fields.confirm = t('form.passwordMismatch');
        if (Object.keys(fields).length) {
          setErrors({ fields });
          return;
        }
        await run(async () => {
          try {
            const { user } = await api.createUser(body);
            formEl.reset();
            onAdded(user);
          } catch (error) {
            if (!(error instanceof ApiError && error.status === 409)) throw error;
            const issues = [{ path: 'username', message: t('users.taken') }];
            throw new ApiError(409, 'invalid_input', error.message, { issues });
          }
        });
      }}
    >
      <h2>{t('users.add')}</h2>
      <div class="form-grid">
        <TextField
          label={t('user.username')}
          name="username"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          error={errors.fields.username}
        />
        <TextField
          label={t('user.displayName')}
          hint={t('form.optional')}
          name="displayName"
          autocomplete="off"
          error={errors.fields.displayName}
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
        <SelectField label={t('user.role')} name="role" hint={t('users.roleHint')} error={errors.fields.role}>
          <RoleOptions initial="member" />
        </SelectField>
      </div>
      <FormError message={errors.form} />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.working') : t('users.addSubmit')}
        </button>
        <button type="button" class="btn btn-quiet" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

function ResetPasswordForm({ user, onDone }: { user: User; onDone: (ok: boolean) => void }) {
  const t = useT();
  const { busy, errors, setErrors, run } = useSubmit(['password']);
  return (
    <form
      class="subform form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const password = text(form, 'password');
        if (!password) return setErrors({ fields: { password: t('form.required') } });
        if (password !== text(form, 'confirm'))
          return setErrors({ fields: { confirm: t('form.passwordMismatch') } });
        if (await run(() => api.resetPassword(user.id, password))) onDone(true);
      }}
    >
      <div class="form-grid">
        <TextField
          label={t('users.newPassword')}
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
      </div>
      <FormError message={errors.form} />
      <div class="actions">
        <button type="submit" class="btn btn-primary btn-small" disabled={busy}>
          {t('users.resetSubmit')}
        </button>
        <button type="button" class="btn btn-quiet btn-small" onClick={() => onDone(false)}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

function UserRow({
  user,
  isSelf,
  onChanged,
  onRemoved,
}: {
  user: User;
  isSelf: boolean;
  onChanged: (user: User) => void;
  onRemoved: () => void;
}) {
  const t = useT();
  const formatTime = useFormatTime();
  const [resetting, setResetting] = useState(false);
  const [notice, setNotice] = useState<{ kind: 'error' | 'success'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  return (
    <li class="row">
      <div class="row-main">
        <div class="row-title">
          <strong>{user.displayName || user.username}</strong>
          <RoleBadge role={user.role} />
          {isSelf ? <span class="badge badge-quiet">{t('users.you')}</span> : null}
        </div>
        <p class="row-meta">
          <span>@{user.username}</span>
          <span>{t('users.since', { date: formatTime(user.createdAt) })}</span>
        </p>
      </div>
      <div class="row-actions">
        <label class="inline-field">
          <span class="visually-hidden">{t('users.roleOf', { name: user.username })}</span>
          <select
            value={user.role}
            disabled={isSelf || busy}
            onChange={async (e) => {
              const select = e.currentTarget;
              const role = select.value as Role;
              setBusy(true);
              setNotice(null);
              try {
                const { user: updated } = await api.updateUser(user.id, { role });
                onChanged(updated);
                setNotice({ kind: 'success', text: t('users.roleChanged') });
              } catch (error) {
                select.value = user.role;
                setNotice({ kind: 'error', text: errorMessage(error, t) });
              } finally {
                setBusy(false);
              }
            }}
          >
            <RoleOptions />
          </select>
        </label>
        <button
          type="button"
          class="btn btn-small"
          aria-expanded={resetting}
          onClick={() => {
            setNotice(null);
            setResetting((v) => !v);
          }}
        >
          {t('users.resetPassword')}
        </button>
        <ConfirmButton
          label={t('common.remove')}
          confirmLabel={t('users.confirmRemove')}
          disabled={isSelf}
          onConfirm={async () => {
            try {
              await api.deleteUser(user.id);
              onRemoved();
            } catch (error) {
              setNotice({ kind: 'error', text: errorMessage(error, t) });
            }
          }}
        />
      </div>
      {resetting ? (
        <ResetPasswordForm
          user={user}
          onDone={(ok) => {
            setResetting(false);
            if (ok) setNotice({ kind: 'success', text: t('users.passwordReset') });
          }}
        />
      ) : null}
      {notice ? <Alert kind={notice.kind}>{notice.text}</Alert> : null}
    </li>
  );
}

export function UsersPage() {
  const t = useT();
  usePageTitle(t('nav.users'));
  const auth = useStore(authStore);
  const me = auth.status === 'ready' ? auth.user : null;
  const [adding, setAdding] = useState(false);
  const users = useResource(async () => (me?.role === 'owner' ? (await api.listUsers()).users : []));

  if (me?.role !== 'owner') {
    return (
      <>
        <PageHeader title={t('nav.users')} />
        <Alert kind="info">{t('users.ownerOnly')}</Alert>
      </>
    );
  }

  return (
    <>
      <PageHeader title={t('nav.users')}>
        {!adding ? (
          <button type="button" class="btn btn-primary" onClick={() => setAdding(true)}>
            {t('users.add')}
          </button>
        ) : null}
      </PageHeader>
      {adding ? (
        <AddUserForm
          onCancel={() => setAdding(false)}
          onAdded={(user) => {
            setAdding(false);
            users.update((list) => [...(list ?? []), user]);
          }}
        />
      ) : null}
      {users.error && !users.data ? (
        <LoadError error={users.error} onRetry={users.reload} />
      ) : !users.data ? (
        <Loading />
      ) : (
        <ul class="card card-flush rows">
          {users.data.map((user) => (
            <UserRow
              key={user.id}
              user={user}
              isSelf={user.id === me.id}
              onChanged={(updated) =>
                users.update((list) => list?.map((u) => (u.id === updated.id ? updated : u)))
              }
              onRemoved={() => users.update((list) => list?.filter((u) => u.id !== user.id))}
            />
          ))}
        </ul>
      )}
    </>
  );
}
