import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { useIsOwner } from '../cameras';
import {
  Alert,
  CheckboxField,
  FormError,
  LoadError,
  Loading,
  PageHeader,
  useResource,
  useSubmit,
} from '../components/ui';
import { useFormatTime, usePageTitle } from '../hooks';
import { type MessageKey, useT } from '../i18n';

/** `GET /api/tls`: the hub's CA and HTTPS certificate (hub/src/tls/tls.routes.ts). */
interface TlsInfo {
  caFingerprintSha256: string;
  caSubject: string;
  caNotAfter: string;
  serverNames: string[];
  serverAddresses: string[];
  serverNotAfter: string;
  httpsPort: number | null;
  httpPort: number;
  redirect: boolean;
}

/** The two TLS calls, with the same error shape as `api.ts` (kept here until they join the typed client). */
async function tlsRequest<T>(url: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', ...init });
  } catch {
    throw new ApiError(0, 'network', 'The hub did not answer.');
  }
  const body = (await res.json().catch(() => undefined)) as
    | (T & { error?: { code?: string; message?: string; details?: unknown } })
    | undefined;
  if (!res.ok)
    throw new ApiError(
      res.status,
      body?.error?.code ?? `http_${res.status}`,
      body?.error?.message ?? res.statusText,
      body?.error?.details,
    );
  return body as T;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Where a phone should fetch the CA: plain HTTP (it cannot check the hub's certificate yet), by the
 * name or address this browser used, unless that is loopback; then the hub's first LAN address.
 */
function downloadUrl(info: TlsInfo): string {
  const lan = info.serverAddresses.find((ip) => ip.includes('.') && !ip.startsWith('127.'));
  const mdns = info.serverNames.find((name) => name.endsWith('.local'));
  const host = LOOPBACK.has(location.hostname) ? (lan ?? mdns ?? location.hostname) : location.hostname;
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${info.httpPort}/api/tls/ca.crt`;
}

/** The QR code as SVG, drawn in the browser by the bundled `qrcode` package (loaded with this page only). */
function QrCode({ text, label }: { text: string; label: string }) {
  const [svg, setSvg] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    void import('qrcode')
      .then((qr) => qr.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }))
      .then((markup) => {
        if (!cancelled) setSvg(markup);
      });
    return () => {
      cancelled = true;
    };
  }, [text]);
  if (!svg) return null;
  return (
    <div
      role="img"
      aria-label={label}
      data-testid="ca-qr"
      style={{ width: '200px', maxWidth: '100%', background: '#fff' }}
      // The SVG is made here, by the qrcode package, from the hub's own URL.
      dangerouslySetInnerHTML={{ __html: svg }}
    />
  );
}

const STEPS: Record<'android' | 'ios' | 'desktop', MessageKey[]> = {
  android: ['secure.android.1', 'secure.android.2', 'secure.android.3', 'secure.android.4'],
  ios: ['secure.ios.1', 'secure.ios.2', 'secure.ios.3', 'secure.ios.4', 'secure.ios.5'],
  desktop: [
    'secure.desktop.windows',
    'secure.desktop.mac',
    'secure.desktop.linux',
    'secure.desktop.firefox',
    'secure.desktop.after',
  ],
};

function Instructions() {
  const t = useT();
  return (
    <section class="card" aria-labelledby="secure-install">
      <h2 id="secure-install">{t('secure.installTitle')}</h2>
      <p class="hint">{t('secure.installHint')}</p>
      {(['android', 'ios', 'desktop'] as const).map((platform) => (
        <details key={platform} class="device-settings" data-testid={`steps-${platform}`}>
          <summary>{t(`secure.${platform}` as MessageKey)}</summary>
          <ol>
            {STEPS[platform].map((key) => (
              <li key={key}>{t(key)}</li>
            ))}
          </ol>
        </details>
      ))}
    </section>
  );
}

function RedirectToggle({ info, onChanged }: { info: TlsInfo; onChanged: (redirect: boolean) => void }) {
  const t = useT();
  const { busy, errors, run } = useSubmit(['enabled']);
  // Shown at once; put back if the hub refuses.
  const [on, setOn] = useState(info.redirect);
  return (
    <section class="card" aria-labelledby="secure-redirect">
      <h2 id="secure-redirect">{t('secure.redirectTitle')}</h2>
      <CheckboxField
        label={t('secure.redirectLabel')}
        hint={t('secure.redirectHint')}
        checked={on}
        disabled={busy || info.httpsPort === null}
        onChange={(e) => {
          const enabled = e.currentTarget.checked;
          setOn(enabled);
          void run(async () => {
            const result = await tlsRequest<{ redirect: boolean }>('/api/tls/redirect', {
              method: 'PUT',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ enabled }),
            });
            onChanged(result.redirect);
          }).then((ok) => {
            if (!ok) setOn(!enabled);
          });
        }}
      />
      <FormError message={errors.form ?? errors.fields.enabled} />
    </section>
  );
}

export function SecureConnectionPage() {
  const t = useT();
  usePageTitle(t('secure.title'));
  const isOwner = useIsOwner();
  const formatTime = useFormatTime();
  const info = useResource(() => tlsRequest<TlsInfo>('/api/tls'));
  const secure = window.isSecureContext && location.protocol === 'https:';

  if (info.error) return <LoadError error={info.error} onRetry={info.reload} />;
  if (!info.data) return <Loading />;
  const data = info.data;
  const httpsUrl =
    data.httpsPort === null ? null : `https://${location.hostname}:${data.httpsPort}${location.pathname}`;
  const download = downloadUrl(data);

  return (
    <>
      <PageHeader title={t('secure.title')} />
      {secure ? (
        <Alert kind="success">
          <span data-testid="secure-state">{t('secure.isSecure')}</span>
        </Alert>
      ) : (
        <Alert kind="info">
          <p data-testid="secure-state">{t('secure.notSecure')}</p>
          {httpsUrl ? (
            <p>
              <a class="link" href={httpsUrl}>
                {httpsUrl}
              </a>
            </p>
          ) : null}
        </Alert>
      )}
      <section class="card" aria-labelledby="secure-ca">
        <h2 id="secure-ca">{t('secure.caTitle')}</h2>
        <p class="hint">{t('secure.caHint')}</p>
        <dl class="facts">
          <div class="facts-wide">
            <dt>{t('secure.fingerprint')}</dt>
            <dd>
              <code data-testid="ca-fingerprint">{data.caFingerprintSha256}</code>
            </dd>
          </div>
          <div>
            <dt>{t('secure.caName')}</dt>
            <dd>{data.caSubject}</dd>
          </div>
          <div>
            <dt>{t('secure.caUntil')}</dt>
            <dd>{formatTime(data.caNotAfter)}</dd>
          </div>
        </dl>
        <div class="actions">
          <a class="btn btn-primary" href="/api/tls/ca.crt" download="hearth-ca.crt">
            {t('secure.download')}
          </a>
          <a class="btn" href="/api/tls/ca.pem" download="hearth-ca.pem">
            {t('secure.downloadPem')}
          </a>
        </div>
        <p class="hint">{t('secure.qrHint')}</p>
        <QrCode text={download} label={t('secure.qrLabel', { url: download })} />
        <p class="small muted">
          <code data-testid="ca-url">{download}</code>
        </p>
      </section>
      <Instructions />
      <section class="card" aria-labelledby="secure-server">
        <h2 id="secure-server">{t('secure.serverTitle')}</h2>
        <dl class="facts">
          <div class="facts-wide">
            <dt>{t('secure.names')}</dt>
            <dd>{data.serverNames.join(', ')}</dd>
          </div>
          <div class="facts-wide">
            <dt>{t('secure.addresses')}</dt>
            <dd>{data.serverAddresses.join(', ')}</dd>
          </div>
          <div>
            <dt>{t('secure.serverUntil')}</dt>
            <dd>{formatTime(data.serverNotAfter)}</dd>
          </div>
          <div>
            <dt>{t('secure.port')}</dt>
            <dd>{data.httpsPort ?? '—'}</dd>
          </div>
        </dl>
      </section>
      {isOwner ? (
        <RedirectToggle
          info={data}
          onChanged={(redirect) => info.update((d) => (d ? { ...d, redirect } : d))}
        />
      ) : null}
    </>
  );
}
