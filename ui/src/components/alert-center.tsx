import { useEffect, useState } from 'preact/hooks';
import { api, type Incident } from '../api';
import { type Translate, useT } from '../i18n';
import { useLive } from '../live';
import { AcknowledgeButton, SeverityTag } from '../pages/care';
import { authStore } from '../session';
import { useStore } from '../store';

type Loudness = 'normal' | 'loud';

/** A short tone made here (nothing fetched): two beeps, five when it escalated. */
function ring(loudness: Loudness) {
  const Context =
    window.AudioContext ?? (window as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Context) return;
  const audio = new Context();
  // Browsers start audio only after the person has used the page; a page left open usually has been.
  void audio.resume().catch(() => {});
  const beeps = loudness === 'loud' ? 5 : 2;
  for (let i = 0; i < beeps; i++) {
    const start = audio.currentTime + i * 0.35;
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = loudness === 'loud' ? 1046 : 880;
    gain.gain.setValueAtTime(loudness === 'loud' ? 0.5 : 0.25, start);
    gain.gain.exponentialRampToValueAtTime(0.001, start + 0.3);
    tone.connect(gain).connect(audio.destination);
    tone.start(start);
    tone.stop(start + 0.3);
  }
  setTimeout(() => void audio.close(), beeps * 350 + 500);
}

/** A system notification: through the service worker where there is one (phones need that), else directly. */
async function notify(incident: Incident, loudness: Loudness, t: Translate) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const title = loudness === 'loud' ? t('alerts.escalatedTitle', { title: incident.title }) : incident.title;
  const options: NotificationOptions = {
    body: t(`care.severity.${incident.severity}`),
    tag: `incident-${incident.id}`,
    requireInteraction: incident.severity === 'emergency',
    data: { url: `/incidents/${incident.id}` },
  };
  const registration = await navigator.serviceWorker?.getRegistration().catch(() => undefined);
  if (registration) await registration.showNotification(title, options);
  else new Notification(title, options);
}

/**
 * Alerts for the signed-in person, on every page: a banner with an acknowledge button for each open alert
 * that is theirs (followed subject, or everyone's after an escalation), a sound, and a system notification
 * when they allowed it. Silent (quiet-hours) incidents only go to the log.
 */
export function AlertCenter() {
  const t = useT();
  const auth = useStore(authStore);
  const me = auth.status === 'ready' ? auth.user.id : null;
  const [open, setOpen] = useState<Incident[]>([]);
  const [sound, setSound] = useState<Loudness | null>(null);
  const [permission, setPermission] = useState(() =>
    'Notification' in window ? Notification.permission : 'unsupported',
  );

  // What is open already when the page loads (a reload in the middle of an alert).
  useEffect(() => {
    void api
      .incidents({ state: 'open', limit: 20 })
      .then(({ incidents }) => setOpen(incidents.filter((incident) => !incident.silent)))
      .catch(() => {});
  }, []);

  useLive('alerts', (change) => {
    if (!('incident' in change)) return;
    const incident = change.incident;
    if (change.change === 'fired' || change.change === 'escalated') {
      if (change.loudness === 'silent' || me === null || !change.audience.userIds.includes(me)) return;
      setOpen((list) => [incident, ...list.filter((other) => other.id !== incident.id)]);
      const loudness = change.loudness;
      setSound(loudness);
      ring(loudness);
      void notify(incident, loudness, t);
    } else if (incident.state !== 'open') {
      setOpen((list) => list.filter((other) => other.id !== incident.id));
    }
  });

  const askPermission =
    permission === 'default' && window.isSecureContext ? (
      <button
        type="button"
        class="btn btn-quiet"
        onClick={async () => setPermission(await Notification.requestPermission())}
      >
        {t('alerts.enableNotifications')}
      </button>
    ) : null;

  if (open.length === 0) return askPermission ? <div class="alert-permission">{askPermission}</div> : null;
  return (
    <div class="alert-banner" role="alert" data-testid="alert-banner" data-sound={sound ?? 'none'}>
      {open.map((incident) => (
        <div class={`alert-item severity-${incident.severity}`} key={incident.id}>
          <SeverityTag severity={incident.severity} />
          <a href={`/incidents/${incident.id}`}>
            <strong>{incident.title}</strong>
          </a>
          {incident.escalations > 0 ? (
            <span class="badge">{t('care.escalations', { count: incident.escalations })}</span>
          ) : null}
          <AcknowledgeButton
            incident={incident}
            onDone={() => setOpen((list) => list.filter((other) => other.id !== incident.id))}
          />
        </div>
      ))}
      {askPermission}
    </div>
  );
}
