import { ApiError, api, onUnauthorized, type Settings, type User } from './api';
import { hasSavedLocale, type Locale, localeStore, setLocale } from './i18n';
import { onLiveClosed, startLive, stopLive } from './live';
import { createStore } from './store';

/** Who is signed in, and the household settings every page needs (name, time zone). */
export type AuthState =
  | { status: 'loading' }
  | { status: 'unreachable'; message: string }
  | { status: 'setup' }
  | { status: 'login'; expired?: boolean }
  | { status: 'ready'; user: User };

export const authStore = createStore<AuthState>({ status: 'loading' });
export const settingsStore = createStore<Settings | null>(null);

/** The browser's own zone until the hub's settings arrive. */
export function currentTimeZone(): string {
  return settingsStore.get()?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}

/** Set when the person picked a language on the sign-in page of this visit. */
let pickedBeforeSignIn = false;

function signedOut(expired: boolean): void {
  stopLive();
  settingsStore.set(null);
  authStore.set({ status: 'login', expired });
}

onUnauthorized(() => {
  if (authStore.get().status === 'ready') signedOut(true);
});

onLiveClosed(() => {
  // An EventSource cannot see the status code; ask the API whether the session is still alive.
  if (authStore.get().status === 'ready') api.me().catch(() => {});
});

const SETTINGS_RETRY_MS = 5000;

export async function loadSettings(): Promise<void> {
  try {
    const { settings } = await api.getSettings();
    settingsStore.set(settings);
  } catch {
    // The header falls back to the product name and the days to the browser's zone meanwhile; a hub that
    // was busy or restarting answers a later try, so one failed request does not leave the wrong day all visit.
    setTimeout(() => {
      if (authStore.get().status === 'ready' && !settingsStore.get()) void loadSettings();
    }, SETTINGS_RETRY_MS);
  }
}

/** Decides the first screen: setup, sign-in or the app. */
export async function boot(): Promise<void> {
  authStore.set({ status: 'loading' });
  try {
    const { needed } = await api.setupStatus();
    if (needed) {
      authStore.set({ status: 'setup' });
      return;
    }
    const { user } = await api.me();
    signedIn(user);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) authStore.set({ status: 'login' });
    else
      authStore.set({
        status: 'unreachable',
        message: error instanceof Error ? error.message : String(error),
      });
  }
}

export function signedIn(user: User): void {
  const chosen = localeStore.get();
  if (pickedBeforeSignIn && chosen !== user.locale) {
    // The person switched language on the sign-in page: keep it and remember it on the account.
    user = { ...user, locale: chosen };
    api.updateMe({ locale: chosen }).catch(() => {});
  } else if (user.locale !== chosen || !hasSavedLocale()) {
    setLocale(user.locale);
  }
  pickedBeforeSignIn = false;
  // The hub's log points people at /setup; once signed in, that address means the dashboard.
  if (location.pathname === '/setup' || location.pathname === '/login') history.replaceState(null, '', '/');
  authStore.set({ status: 'ready', user });
  void loadSettings();
  startLive();
}

export async function signOut(): Promise<void> {
  try {
    await api.logout();
  } catch {
    // Signed out locally either way.
  }
  // The next person starts at the dashboard, not on the page the last one left open.
  history.replaceState(null, '', '/');
  signedOut(false);
}

/** The language switch: this browser remembers it, and so does the account when signed in. */
export function chooseLocale(locale: Locale): void {
  setLocale(locale);
  const state = authStore.get();
  if (state.status !== 'ready') {
    pickedBeforeSignIn = true;
    return;
  }
  if (state.user.locale === locale) return;
  authStore.set({ status: 'ready', user: { ...state.user, locale } });
  api.updateMe({ locale }).catch(() => {});
}

export function updateUser(user: User): void {
  if (authStore.get().status === 'ready') authStore.set({ status: 'ready', user });
}
