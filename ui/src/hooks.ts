import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { formatDateTime } from './format';
import { useLocale } from './i18n';
import { currentTimeZone, settingsStore } from './session';
import { useStore } from './store';

/** Formats API timestamps (UTC ISO or epoch ms) in the household's time zone and the UI language. */
export function useFormatTime(): (when: string | number | null | undefined) => string {
  const locale = useLocale();
  useStore(settingsStore);
  const zone = currentTimeZone();
  return (when) => formatDateTime(when, locale, zone);
}

export function usePageTitle(title: string): void {
  const settings = useStore(settingsStore);
  const household = settings?.householdName || 'Hearth';
  useEffect(() => {
    document.title = `${title} · ${household}`;
  }, [title, household]);
}

/**
 * A newest-first list read a page at a time ("Load older"), loaded from the top again when `key`
 * changes or on `reload()` (a live resync). An answer to a load that was superseded is dropped, so a
 * slow first page never overwrites a newer filter's.
 */
export function usePagedList<T extends { id: number }>(
  fetchPage: (before: number | undefined) => Promise<T[]>,
  pageSize: number,
  key: string,
) {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const sequence = useRef(0);
  const fetchLatest = useRef(fetchPage);
  fetchLatest.current = fetchPage;

  const reload = useCallback(async () => {
    const mine = ++sequence.current;
    setError(null);
    try {
      const page = await fetchLatest.current(undefined);
      if (mine !== sequence.current) return;
      setItems(page);
      setHasMore(page.length === pageSize);
    } catch (e) {
      if (mine === sequence.current) setError(e);
    }
  }, [pageSize]);

  useEffect(() => {
    setItems(null);
    void reload();
  }, [key, reload]);

  const loadOlder = async () => {
    const oldest = items?.[items.length - 1];
    if (!oldest) return;
    const mine = sequence.current;
    setLoadingOlder(true);
    try {
      const page = await fetchLatest.current(oldest.id);
      if (mine !== sequence.current) return;
      setItems((list) => {
        const known = new Set((list ?? []).map((item) => item.id));
        return [...(list ?? []), ...page.filter((item) => !known.has(item.id))];
      });
      setHasMore(page.length === pageSize);
    } catch (e) {
      setError(e);
    } finally {
      setLoadingOlder(false);
    }
  };

  return { items, setItems, error, setError, hasMore, loadingOlder, reload, loadOlder };
}
