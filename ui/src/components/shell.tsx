import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import type { User } from '../api';
import { type MessageKey, useLocale, useT } from '../i18n';
import { liveStatus } from '../live';
import { chooseLocale, settingsStore, signOut } from '../session';
import { useStore } from '../store';
import { AlertCenter } from './alert-center';
import { Icon, type IconName, Logo } from './icons';

interface NavItem {
  href: string;
  label: MessageKey;
  icon: IconName;
  ownerOnly?: boolean;
}

const NAV: NavItem[] = [
  { href: '/', label: 'nav.dashboard', icon: 'dashboard' },
  { href: '/care', label: 'nav.care', icon: 'heart' },
  { href: '/cameras', label: 'nav.cameras', icon: 'camera' },
  { href: '/detections', label: 'nav.detections', icon: 'photo' },
  { href: '/devices', label: 'nav.devices', icon: 'devices' },
  { href: '/nodes', label: 'nav.nodes', icon: 'node' },
  { href: '/events', label: 'nav.events', icon: 'events' },
  { href: '/storage', label: 'nav.storage', icon: 'storage' },
  { href: '/users', label: 'nav.users', icon: 'users', ownerOnly: true },
  { href: '/settings', label: 'nav.settings', icon: 'settings' },
];

/** The language switch names the other language in that language ("한국어" / "English"). */
export function LanguageSwitch() {
  const t = useT();
  const locale = useLocale();
  const other = locale === 'en' ? 'ko' : 'en';
  return (
    <button
      type="button"
      class="btn btn-quiet lang-switch"
      lang={other}
      title={t('lang.switchTitle')}
      onClick={() => chooseLocale(other)}
    >
      <Icon name="globe" />
      <span>{other === 'ko' ? '한국어' : 'English'}</span>
    </button>
  );
}

function LiveIndicator() {
  const t = useT();
  const status = useStore(liveStatus);
  const label =
    status === 'open' ? t('live.open') : status === 'connecting' ? t('live.connecting') : t('live.off');
  return (
    <span class={`live live-${status}`} title={label}>
      <span class="live-dot" aria-hidden="true" />
      <span class="visually-hidden">{label}</span>
    </span>
  );
}

export function Shell({ user, children }: { user: User; children: ComponentChildren }) {
  const t = useT();
  const { path } = useLocation();
  const settings = useStore(settingsStore);
  const items = NAV.filter((item) => !item.ownerOnly || user.role === 'owner');
  const isActive = (href: string) =>
    href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <header class="topbar">
        <a class="brand" href="/">
          <Logo />
          <span class="brand-name">{settings?.householdName || 'Hearth'}</span>
        </a>
        <LiveIndicator />
        <div class="topbar-actions">
          <span class="who" title={t(`role.${user.role}`)}>
            {user.displayName || user.username}
          </span>
          <LanguageSwitch />
          <button type="button" class="btn btn-quiet" onClick={() => void signOut()}>
            <Icon name="logout" />
            <span class="btn-label">{t('nav.logout')}</span>
          </button>
        </div>
      </header>
      <nav class="nav" aria-label={t('nav.label')}>
        {items.map((item) => (
          <a
            key={item.href}
            href={item.href}
            class={isActive(item.href) ? 'nav-link active' : 'nav-link'}
            aria-current={isActive(item.href) ? 'page' : undefined}
          >
            <Icon name={item.icon} />
            <span>{t(item.label)}</span>
          </a>
        ))}
      </nav>
      <main class="main" id="main" tabIndex={-1}>
        <AlertCenter />
        {children}
      </main>
    </div>
  );
}
