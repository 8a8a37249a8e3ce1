import { useEffect } from 'preact/hooks';
import { type AiHealth, api, isMissingEndpoint } from '../api';
import { useCameras } from '../cameras';
import { Icon } from '../components/icons';
import { Alert, LoadError, Loading, PageHeader, useResource } from '../components/ui';
import { useFormatTime, usePageTitle } from '../hooks';
import { useT } from '../i18n';

/** The figures are counters and timings that change every second; no live topic carries them. */
const REFRESH_MS = 5000;

const ms = (value: number | null) => (value === null ? '–' : value.toFixed(value < 10 ? 1 : 0));

/** Settings → On-device AI: the inference backend, each model's speed, each camera's frames. */
export function AiHealthPage() {
  const t = useT();
  usePageTitle(t('ai.title'));
  const formatTime = useFormatTime();
  const health = useResource<AiHealth>(() => api.aiHealth());
  const cameras = useCameras();
  const cameraName = (id: string) => cameras.data?.find((camera) => camera.id === id)?.name ?? id;
  const missing = isMissingEndpoint(health.error);
  useEffect(() => {
    if (missing) return;
    const timer = setInterval(() => void health.reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [missing]);

  let body = null;
  const data = health.data;
  if (missing) body = <Alert kind="info">{t('ai.unavailable')}</Alert>;
  else if (health.error && !data) body = <LoadError error={health.error} onRetry={health.reload} />;
  else if (!data) body = <Loading />;
  else
    body = (
      <>
        <section class="card">
          <dl class="facts" id="ai-service" data-testid="ai-service">
            <dt>{t('ai.backend')}</dt>
            <dd>{data.backend ?? t('ai.backendNone')}</dd>
            <dt>{t('ai.workers')}</dt>
            <dd>{data.workers}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="ai-models">
          <h2 id="ai-models">{t('ai.models')}</h2>
          {data.models.length === 0 ? (
            <p class="empty">{t('ai.noModels')}</p>
          ) : (
            <div class="table-scroll">
              <table class="table" data-testid="ai-models">
                <thead>
                  <tr>
                    <th>{t('ai.model')}</th>
                    <th>{t('ai.version')}</th>
                    <th>{t('ai.state')}</th>
                    <th>{t('ai.inferences')}</th>
                    <th>{t('ai.msMean')}</th>
                    <th>{t('ai.msP95')}</th>
                    <th>{t('ai.errors')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.models.map((model) => (
                    <tr key={`${model.name}@${model.version}`}>
                      <td>{model.name}</td>
                      <td>{model.version}</td>
                      <td>{model.loaded ? t('ai.loaded') : t('ai.notLoaded')}</td>
                      <td class="num">{model.inferences}</td>
                      <td class="num">{ms(model.msMean)}</td>
                      <td class="num">{ms(model.msP95)}</td>
                      <td class="num">{model.errors}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <section class="card" aria-labelledby="ai-cameras">
          <h2 id="ai-cameras">{t('ai.cameras')}</h2>
          {data.cameras.length === 0 ? (
            <p class="empty">{t('ai.noCameras')}</p>
          ) : (
            <div class="table-scroll">
              <table class="table" data-testid="ai-cameras">
                <thead>
                  <tr>
                    <th>{t('detections.camera')}</th>
                    <th>{t('ai.sampled')}</th>
                    <th>{t('ai.gated')}</th>
                    <th>{t('ai.detected')}</th>
                    <th>{t('ai.dropped')}</th>
                    <th>{t('ai.lastFrame')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.cameras.map((camera) => (
                    <tr key={camera.cameraId}>
                      <td>{cameraName(camera.cameraId)}</td>
                      <td class="num">{camera.sampled}</td>
                      <td class="num">{camera.gated}</td>
                      <td class="num">{camera.detected}</td>
                      <td class="num">{camera.dropped}</td>
                      <td>{camera.lastFrameAt === null ? t('ai.never') : formatTime(camera.lastFrameAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </>
    );

  return (
    <>
      <PageHeader title={t('ai.title')}>
        <a class="btn" href="/settings">
          <Icon name="back" />
          {t('nav.settings')}
        </a>
      </PageHeader>
      <p class="hint">{t('ai.settingsHint')}</p>
      {body}
    </>
  );
}
