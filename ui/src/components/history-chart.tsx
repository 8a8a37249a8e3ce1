import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from '../api';
import { useT } from '../i18n';
import { currentTimeZone } from '../session';
import { LoadError, Loading, useResource } from './ui';

const RANGES = [
  { hours: 6, label: '6h' },
  { hours: 24, label: '24h' },
  { hours: 24 * 7, label: '7d' },
  { hours: 24 * 30, label: '30d' },
] as const;

/**
 * A reading kind over the last hours or days (uPlot, bundled): the mean as a line and the minimum and maximum of
 * each step around it, in the household's time zone; with the CSV of the same points.
 */
export function HistoryChart({ subjectId, kind, unit }: { subjectId: number; kind: string; unit: string }) {
  const t = useT();
  const [hours, setHours] = useState<number>(24);
  const box = useRef<HTMLDivElement>(null);
  const range = () => {
    const to = Date.now();
    return { from: to - hours * 3_600_000, to };
  };
  const history = useResource(() => api.history(subjectId, { kind, ...range(), maxPoints: 400 }));
  useEffect(() => void history.reload(), [hours]);

  useEffect(() => {
    const element = box.current;
    const points = history.data?.points;
    if (!element || !points) return;
    const zone = currentTimeZone();
    const plot = new uPlot(
      {
        width: element.clientWidth || 320,
        height: 180,
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), zone),
        legend: { show: false },
        scales: { x: { time: true } },
        axes: [{}, { values: (_u, ticks) => ticks.map((v) => `${v}${unit}`) }],
        series: [
          {},
          { label: t('chart.max'), stroke: '#f0a07a', width: 1 },
          { label: t('chart.mean'), stroke: '#c2410c', width: 2 },
          { label: t('chart.min'), stroke: '#f0a07a', width: 1 },
        ],
      },
      [
        points.map((p) => p.t / 1000),
        points.map((p) => p.max),
        points.map((p) => p.mean),
        points.map((p) => p.min),
      ],
      element,
    );
    const resize = () => plot.setSize({ width: element.clientWidth, height: 180 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [history.data, unit, t]);

  const { from, to } = range();
  return (
    <div class="history-chart" data-testid={`chart-${kind}`}>
      <div class="actions">
        {RANGES.map((r) => (
          <button
            type="button"
            key={r.hours}
            class={r.hours === hours ? 'btn btn-primary' : 'btn btn-quiet'}
            aria-pressed={r.hours === hours}
            onClick={() => setHours(r.hours)}
          >
            {r.label}
          </button>
        ))}
        <a
          class="btn btn-quiet"
          href={`/api/subjects/${subjectId}/history?kind=${kind}&from=${from}&to=${to}&maxPoints=5000&format=csv`}
          download
        >
          CSV
        </a>
      </div>
      {history.error && !history.data ? (
        <LoadError error={history.error} onRetry={history.reload} />
      ) : !history.data ? (
        <Loading />
      ) : history.data.points.length === 0 ? (
        <p class="muted">{t('chart.empty')}</p>
      ) : null}
      <div ref={box} class="chart-box" data-points={history.data?.points.length ?? 0} />
    </div>
  );
}
