import { PageHeader } from '../components/ui';
import { usePageTitle } from '../hooks';
import { useT } from '../i18n';

export function NotFoundPage() {
  const t = useT();
  usePageTitle(t('notFound.title'));
  return (
    <>
      <PageHeader title={t('notFound.title')} />
      <p>
        {t('notFound.body')}{' '}
        <a href="/" class="link">
          {t('nav.dashboard')}
        </a>
      </p>
    </>
  );
}
