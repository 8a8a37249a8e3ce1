import { useRef, useState } from 'preact/hooks';
import { api, type Camera, type CameraDetection, type MaskShape } from '../api';
import { useIsOwner } from '../cameras';
import { useFormatTime } from '../hooks';
import { useT } from '../i18n';
import { CameraPicture } from './camera';
import {
  Alert,
  CheckboxField,
  ConfirmButton,
  FormError,
  LoadError,
  Loading,
  TextField,
  useResource,
  useSubmit,
} from './ui';

/** As many as the hub's schema takes (hub/src/ai/ai.config.ts). */
const MAX = { mask: 32, zone: 16 } as const;
/** A click or a slip of the finger is not an area (fraction of the picture's side). */
const MIN_SIDE = 0.02;
const SCORED = ['person', 'pet'] as const;

type Kind = keyof typeof MAX;
type Point = [number, number];
type Zone = CameraDetection['settings']['zones'][number];

const clamp = (value: number) => Math.min(1, Math.max(0, value));
const round = (value: number) => Math.round(value * 10_000) / 10_000;

function rectBetween(a: Point, b: Point): { rect: [number, number, number, number] } {
  return {
    rect: [
      round(Math.min(a[0], b[0])),
      round(Math.min(a[1], b[1])),
      round(Math.abs(a[0] - b[0])),
      round(Math.abs(a[1] - b[1])),
    ],
  };
}

/** Where a shape's name goes: its top-left corner. */
function cornerOf(shape: MaskShape): Point {
  if ('rect' in shape) return [shape.rect[0], shape.rect[1]];
  return [Math.min(...shape.polygon.map(([x]) => x)), Math.min(...shape.polygon.map(([, y]) => y))];
}

function Outline({ shape, kind }: { shape: MaskShape; kind: Kind | 'draft' }) {
  const className = `detection-shape shape-${kind}`;
  if ('rect' in shape) {
    const [x, y, width, height] = shape.rect;
    return (
      <rect class={className} x={x} y={y} width={width} height={height} vector-effect="non-scaling-stroke" />
    );
  }
  return (
    <polygon
      class={className}
      points={shape.polygon.map(([x, y]) => `${x},${y}`).join(' ')}
      vector-effect="non-scaling-stroke"
    />
  );
}

/** "Person and pet detection" on the camera settings page: everyone sees it, the owner edits it. */
export function DetectionSettings({ camera }: { camera: Camera }) {
  const t = useT();
  const detection = useResource(() => api.cameraDetection(camera.id));
  // A reset starts the form afresh: its checkbox and score fields only take their first values.
  const [resets, setResets] = useState(0);
  return (
    <section class="card" data-testid="detection-settings">
      <h2>{t('detectionSettings.title')}</h2>
      <p class="muted small">{t('detectionSettings.hint')}</p>
      {detection.data ? (
        <DetectionForm
          key={resets}
          camera={camera}
          detection={detection.data}
          justReset={resets > 0}
          onSaved={(next) => detection.update(() => next)}
          onReset={(next) => {
            detection.update(() => next);
            setResets(resets + 1);
          }}
        />
      ) : detection.error ? (
        <LoadError error={detection.error} onRetry={detection.reload} />
      ) : (
        <Loading />
      )}
    </section>
  );
}

function DetectionForm({
  camera,
  detection,
  justReset,
  onSaved,
  onReset,
}: {
  camera: Camera;
  detection: CameraDetection;
  justReset: boolean;
  onSaved: (next: CameraDetection) => void;
  onReset: (next: CameraDetection) => void;
}) {
  const t = useT();
  const formatTime = useFormatTime();
  const editable = useIsOwner();
  const [mask, setMask] = useState(detection.settings.mask);
  const [zones, setZones] = useState(detection.settings.zones);
  const [kind, setKind] = useState<Kind>('mask');
  const [drag, setDrag] = useState<{ from: Point; to: Point } | null>(null);
  const [done, setDone] = useState<'saved' | 'reset' | null>(justReset ? 'reset' : null);
  const surface = useRef<SVGSVGElement>(null);
  const { busy, errors, setErrors, run } = useSubmit(SCORED);

  const full = (kind === 'mask' ? mask.length : zones.length) >= MAX[kind];
  const changed = () => setDone(null);
  const pointOf = (event: PointerEvent): Point => {
    const box = surface.current!.getBoundingClientRect();
    return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
  };

  function addShape(from: Point, to: Point) {
    const shape = rectBetween(from, to);
    if (shape.rect[2] < MIN_SIDE || shape.rect[3] < MIN_SIDE) return;
    if (kind === 'mask') setMask([...mask, shape]);
    else {
      let n = zones.length + 1;
      while (zones.some((zone) => zone.name === t('detectionSettings.zoneDefault', { n }))) n += 1;
      setZones([...zones, { name: t('detectionSettings.zoneDefault', { n }), shape }]);
    }
    changed();
  }

  const setZone = (index: number, zone: Zone | null) => {
    setZones(zones.flatMap((z, i) => (i !== index ? [z] : zone ? [zone] : [])));
    changed();
  };

  const source =
    detection.source === 'stored'
      ? t('detectionSettings.source.stored', { time: formatTime(detection.updatedAt) })
      : t(`detectionSettings.source.${detection.source}`);

  return (
    <form
      class="form"
      noValidate
      onSubmit={async (event) => {
        event.preventDefault();
        if (!editable) return;
        const form = new FormData(event.currentTarget);
        const minScore = { ...detection.settings.minScore };
        const fieldErrors: Record<string, string> = {};
        for (const label of SCORED) {
          const percent = Number(String(form.get(label) ?? '').trim());
          if (!Number.isInteger(percent) || percent < 5 || percent > 100)
            fieldErrors[label] = t('detectionSettings.range');
          else minScore[label] = percent / 100;
        }
        const named = zones.map((zone) => ({ ...zone, name: zone.name.trim() }));
        if (named.some((zone) => !zone.name)) fieldErrors.form = t('detectionSettings.zoneNameNeeded');
        if (Object.keys(fieldErrors).length) {
          const { form: formError, ...fields } = fieldErrors;
          setErrors({ fields, ...(formError ? { form: formError } : {}) });
          return;
        }
        const ok = await run(async () => {
          const next = await api.saveCameraDetection(camera.id, {
            enabled: form.get('enabled') === 'on',
            mask,
            zones: named,
            minScore,
          });
          setMask(next.settings.mask);
          setZones(next.settings.zones);
          onSaved(next);
        });
        setDone(ok ? 'saved' : null);
      }}
    >
      <p class="hint" data-testid="detection-source">
        {source}
      </p>
      {detection.hubEnabled ? null : <Alert kind="warning">{t('detectionSettings.hubOff')}</Alert>}
      {editable ? null : <Alert kind="info">{t('detectionSettings.readOnly')}</Alert>}
      <CheckboxField
        label={t('detectionSettings.enabled')}
        name="enabled"
        defaultChecked={detection.settings.enabled}
        disabled={!editable}
        onChange={changed}
      />
      {SCORED.map((label) => (
        <TextField
          key={label}
          label={t(`detectionSettings.minScore.${label}`)}
          name={label}
          type="number"
          inputMode="numeric"
          min={5}
          max={100}
          defaultValue={String(Math.round(detection.settings.minScore[label] * 100))}
          readOnly={!editable}
          hint={t('detectionSettings.minScoreHint')}
          error={errors.fields[label]}
          onInput={changed}
        />
      ))}

      {editable ? (
        <fieldset class="detection-draw">
          <legend>{t('detectionSettings.draw')}</legend>
          {(['mask', 'zone'] as const).map((option) => (
            <label key={option} class="scan-choice">
              <input
                type="radio"
                name="draw"
                value={option}
                checked={kind === option}
                onChange={() => setKind(option)}
              />
              <span>
                <strong>
                  {t(option === 'mask' ? 'detectionSettings.drawMask' : 'detectionSettings.drawZone')}
                </strong>
                <br />
                <span class="small muted">
                  {t(option === 'mask' ? 'detectionSettings.drawMaskHint' : 'detectionSettings.drawZoneHint')}
                </span>
              </span>
            </label>
          ))}
          <p class="hint">
            {full ? t('detectionSettings.full', { max: MAX[kind] }) : t('detectionSettings.dragHint')}
          </p>
        </fieldset>
      ) : null}

      <div class="detection-canvas">
        <CameraPicture camera={camera} />
        <svg
          ref={surface}
          class={editable && !full ? 'detection-overlay drawing' : 'detection-overlay'}
          data-testid="detection-canvas"
          viewBox="0 0 1 1"
          preserveAspectRatio="none"
          role="img"
          aria-label={t('detectionSettings.canvas', { name: camera.name })}
          onPointerDown={(event) => {
            if (!editable || full || event.button !== 0) return;
            event.preventDefault();
            event.currentTarget.setPointerCapture(event.pointerId);
            const at = pointOf(event);
            setDrag({ from: at, to: at });
          }}
          onPointerMove={(event) => {
            if (drag) setDrag({ ...drag, to: pointOf(event) });
          }}
          onPointerUp={(event) => {
            if (!drag) return;
            setDrag(null);
            addShape(drag.from, pointOf(event));
          }}
          onPointerCancel={() => setDrag(null)}
        >
          {mask.map((shape, i) => (
            <Outline key={`m${i}`} shape={shape} kind="mask" />
          ))}
          {zones.map((zone, i) => (
            <Outline key={`z${i}`} shape={zone.shape} kind="zone" />
          ))}
          {drag ? <Outline shape={rectBetween(drag.from, drag.to)} kind="draft" /> : null}
        </svg>
        {[
          ...mask.map((shape, i) => ({
            kind: 'mask',
            shape,
            name: t('detectionSettings.mask', { n: i + 1 }),
          })),
          ...zones.map((zone) => ({ kind: 'zone', shape: zone.shape, name: zone.name })),
        ].map(({ kind: shapeKind, shape, name }, i) => {
          const [x, y] = cornerOf(shape);
          return (
            <span
              key={i}
              class={`detection-tag tag-${shapeKind}`}
              style={{ left: `${x * 100}%`, top: `${y * 100}%` }}
              aria-hidden="true"
            >
              {name}
            </span>
          );
        })}
      </div>

      {mask.length + zones.length === 0 ? (
        <p class="muted small">{t('detectionSettings.none')}</p>
      ) : (
        <ul class="plain-list detection-shapes" data-testid="detection-shapes">
          {mask.map((_, i) => {
            const name = t('detectionSettings.mask', { n: i + 1 });
            return (
              <li key={`m${i}`} class="detection-shape-row" data-kind="mask">
                <span class="detection-swatch tag-mask" aria-hidden="true" />
                <span>{name}</span>
                {editable ? (
                  <button
                    type="button"
                    class="btn btn-small btn-quiet"
                    aria-label={t('detectionSettings.remove', { name })}
                    onClick={() => {
                      setMask(mask.filter((__, j) => j !== i));
                      changed();
                    }}
                  >
                    {t('common.remove')}
                  </button>
                ) : null}
              </li>
            );
          })}
          {zones.map((zone, i) => (
            <li key={`z${i}`} class="detection-shape-row" data-kind="zone">
              <span class="detection-swatch tag-zone" aria-hidden="true" />
              {editable ? (
                <>
                  <input
                    class="detection-zone-name"
                    aria-label={t('detectionSettings.zoneName')}
                    value={zone.name}
                    maxLength={40}
                    onInput={(event) => setZone(i, { ...zone, name: event.currentTarget.value })}
                  />
                  <button
                    type="button"
                    class="btn btn-small btn-quiet"
                    aria-label={t('detectionSettings.remove', { name: zone.name })}
                    onClick={() => setZone(i, null)}
                  >
                    {t('common.remove')}
                  </button>
                </>
              ) : (
                <span>{zone.name}</span>
              )}
            </li>
          ))}
        </ul>
      )}

      <FormError message={errors.form} />
      {done ? (
        <p class="hint" role="status">
          {t(done === 'saved' ? 'detectionSettings.saved' : 'detectionSettings.resetDone')}
        </p>
      ) : null}
      {editable ? (
        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? t('common.working') : t('common.save')}
          </button>
          {/* Only saved settings can be forgotten; the file's entry and the defaults are already the baseline. */}
          {detection.source === 'stored' ? (
            <ConfirmButton
              label={t('detectionSettings.reset')}
              confirmLabel={t('detectionSettings.confirmReset')}
              disabled={busy}
              onConfirm={async () => {
                await run(async () => onReset(await api.resetCameraDetection(camera.id)));
              }}
            />
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
