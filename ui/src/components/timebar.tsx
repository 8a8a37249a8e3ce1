import { useRef, useState } from 'preact/hooks';
import type { Span } from '../api';
import { clockText, hourMinute } from '../time';

/** A moment worth jumping to, drawn above the bar (a detection: `kind` is its label). */
export interface TimeMarker {
  id: number;
  at: number;
  kind: string;
  label: string;
}

/**
 * A stretch of time as a bar: recorded coverage filled, gaps empty, clock-suspect footage
 * marked, the future shaded, and the playhead. Tap or drag to pick a time (previewed while
 * dragging, chosen on release); the keyboard moves it by `step` (Page keys by ten steps).
 * Markers sit in their own row of buttons above the track, so tapping one never starts a drag.
 */
export function TimeBar({
  from,
  to,
  coverage,
  suspect,
  now,
  value,
  step,
  tickEvery,
  tickOrigin,
  zone,
  label,
  class: className,
  markers = [],
  onPreview,
  onPick,
}: {
  from: number;
  to: number;
  coverage: readonly Span[];
  suspect: readonly Span[];
  /** Past this instant nothing can be recorded yet. */
  now: number;
  value: number | null;
  step: number;
  /** Milliseconds between labelled ticks, counted from `tickOrigin` (the household's midnight). */
  tickEvery: number;
  tickOrigin: number;
  zone: string;
  label: string;
  class?: string;
  markers?: readonly TimeMarker[];
  onPreview: (wall: number | null) => void;
  onPick: (wall: number) => void;
}) {
  const bar = useRef<HTMLDivElement>(null);
  const [dragging, setDragging] = useState(false);
  const length = Math.max(1, to - from);
  const pct = (at: number) => `${((Math.min(Math.max(at, from), to) - from) / length) * 100}%`;
  const width = (span: Span) =>
    `${(Math.max(0, Math.min(span.to, to) - Math.max(span.from, from)) / length) * 100}%`;
  const visible = (span: Span) => span.to > from && span.from < to;

  const wallAt = (clientX: number): number => {
    const rect = bar.current?.getBoundingClientRect();
    if (!rect || rect.width === 0) return from;
    const x = Math.min(Math.max(clientX - rect.left, 0), rect.width);
    return Math.round(from + (x / rect.width) * length);
  };

  const ticks: number[] = [];
  const firstTick = tickOrigin + Math.ceil((from - tickOrigin) / tickEvery) * tickEvery;
  for (let at = firstTick; at <= to; at += tickEvery) ticks.push(at);

  const clamp = (at: number) => Math.min(Math.max(at, from), to);
  const current = value === null ? null : clamp(value);

  return (
    <div class={className ? `timebar ${className}` : 'timebar'}>
      {markers.length ? (
        <div class="timebar-markers">
          {markers
            .filter((marker) => marker.at >= from && marker.at <= to)
            .map((marker) => (
              <button
                key={marker.id}
                type="button"
                class={`timebar-marker marker-${marker.kind}`}
                style={{ left: pct(marker.at) }}
                aria-label={marker.label}
                title={marker.label}
                onClick={() => onPick(marker.at)}
              />
            ))}
        </div>
      ) : null}
      <div
        ref={bar}
        class={dragging ? 'timebar-track dragging' : 'timebar-track'}
        role="slider"
        tabIndex={0}
        aria-label={label}
        aria-valuemin={from}
        aria-valuemax={to}
        aria-valuenow={current ?? from}
        aria-valuetext={current === null ? undefined : clockText(current, zone)}
        onPointerDown={(e) => {
          if (e.button !== 0) return;
          e.currentTarget.setPointerCapture(e.pointerId);
          setDragging(true);
          onPreview(wallAt(e.clientX));
        }}
        onPointerMove={(e) => {
          if (dragging) onPreview(wallAt(e.clientX));
        }}
        onPointerUp={(e) => {
          if (!dragging) return;
          setDragging(false);
          onPreview(null);
          onPick(wallAt(e.clientX));
        }}
        onPointerCancel={() => {
          setDragging(false);
          onPreview(null);
        }}
        onKeyDown={(e) => {
          const base = current ?? from;
          let next: number | null = null;
          if (e.key === 'ArrowLeft' || e.key === 'ArrowDown') next = base - step;
          else if (e.key === 'ArrowRight' || e.key === 'ArrowUp') next = base + step;
          else if (e.key === 'PageDown') next = base - 10 * step;
          else if (e.key === 'PageUp') next = base + 10 * step;
          else if (e.key === 'Home') next = from;
          else if (e.key === 'End') next = Math.min(to, now);
          if (next === null) return;
          e.preventDefault();
          onPick(clamp(next));
        }}
      >
        {now < to ? <span class="timebar-future" style={{ left: pct(now), right: 0 }} /> : null}
        {coverage.filter(visible).map((span) => (
          <span
            key={span.from}
            class="timebar-coverage"
            style={{ left: pct(span.from), width: width(span) }}
          />
        ))}
        {suspect.filter(visible).map((span) => (
          <span
            key={`s${span.from}`}
            class="timebar-suspect"
            style={{ left: pct(span.from), width: width(span) }}
          />
        ))}
        {current !== null ? <span class="timebar-head" style={{ left: pct(current) }} /> : null}
      </div>
      <div class="timebar-ticks" aria-hidden="true">
        {ticks.map((at) => (
          <span key={at} style={{ left: pct(at) }}>
            {hourMinute(at, zone)}
          </span>
        ))}
      </div>
    </div>
  );
}
