import { createStore, useStore } from '../store';
import { en } from './en';
import { ko } from './ko';

export type Locale = 'en' | 'ko';
export type MessageKey = keyof typeof en;
export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: Params) => string;

export const LOCALES: readonly Locale[] = ['en', 'ko'];
const catalogs: Record<Locale, Record<MessageKey, string>> = { en, ko };
const STORAGE_KEY = 'hearth.locale';

function savedLocale(): Locale | null {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    return saved === 'en' || saved === 'ko' ? saved : null;
  } catch {
    return null;
  }
}

function initialLocale(): Locale {
  return savedLocale() ?? (navigator.language.toLowerCase().startsWith('ko') ? 'ko' : 'en');
}

export const localeStore = createStore<Locale>(initialLocale());
document.documentElement.lang = localeStore.get();

/** Switches the UI language, remembers it in this browser and updates `<html lang>`. */
export function setLocale(locale: Locale): void {
  localeStore.set(locale);
  document.documentElement.lang = locale;
  try {
    localStorage.setItem(STORAGE_KEY, locale);
  } catch {
    // Private mode without storage: the choice lasts for this tab.
  }
}

export function hasSavedLocale(): boolean {
  return savedLocale() !== null;
}

export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  const text = catalogs[locale][key] ?? en[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** Translation outside components (document title, confirmations). */
export const t: Translate = (key, params) => translate(localeStore.get(), key, params);

/** Translation inside components; re-renders the component when the language changes. */
export function useT(): Translate {
  const locale = useStore(localeStore);
  return (key, params) => translate(locale, key, params);
}

export function useLocale(): Locale {
  return useStore(localeStore);
}
