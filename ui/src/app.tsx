import { useEffect } from 'preact/hooks';
import { LocationProvider, lazy, Route, Router } from 'preact-iso';
import { Logo } from './components/icons';
import { Shell } from './components/shell';
import { useT } from './i18n';
import { AddCameraPage } from './pages/add-camera';
import { AiHealthPage } from './pages/ai-health';
import { AlertChannelsPage } from './pages/alert-channels';
import { LoginPage, SetupPage } from './pages/auth';
import { CameraPage } from './pages/camera';
import { CameraSettingsPage } from './pages/camera-settings';
import { CamerasPage } from './pages/cameras';
import { CarePage, IncidentPage, IncidentsPage, SubjectPage } from './pages/care';
import { DashboardPage } from './pages/dashboard';
import { DetectionsPage } from './pages/detections';
import { DevicesPage } from './pages/devices';
import { EventsPage } from './pages/events';
import { FirmwarePage } from './pages/firmware';
import { NodePage, NodesPage } from './pages/nodes';
import { NotFoundPage } from './pages/not-found';
import { PhotosPage } from './pages/photos';
import { SecureConnectionPage } from './pages/secure-connection';
import { SettingsPage } from './pages/settings';
import { StoragePage } from './pages/storage';
import { UsersPage } from './pages/users';
import { authStore, boot } from './session';
import { useStore } from './store';

/** Playback (and hls.js behind it) loads only when someone opens recordings. */
const PlaybackPage = lazy(() => import('./pages/playback').then((m) => m.PlaybackPage));

function Splash({ message, onRetry }: { message?: string; onRetry?: () => void }) {
  const t = useT();
  return (
    <div class="splash">
      <Logo />
      {message ? (
        <div class="alert alert-error" role="alert">
          <p>{t('boot.unreachable')}</p>
          <p class="small">{message}</p>
          <button type="button" class="btn" onClick={onRetry}>
            {t('common.retry')}
          </button>
        </div>
      ) : (
        <p class="loading">{t('common.loading')}</p>
      )}
    </div>
  );
}

export function App() {
  const state = useStore(authStore);
  useEffect(() => {
    void boot();
  }, []);

  switch (state.status) {
    case 'loading':
      return <Splash />;
    case 'unreachable':
      return <Splash message={state.message} onRetry={() => void boot()} />;
    case 'setup':
      return <SetupPage />;
    case 'login':
      return <LoginPage expired={state.expired} />;
    case 'ready':
      return (
        <LocationProvider>
          <Shell user={state.user}>
            <Router>
              <Route path="/" component={DashboardPage} />
              <Route path="/cameras" component={CamerasPage} />
              <Route path="/cameras/add-bluetooth" component={AddCameraPage} />
              <Route path="/cameras/:id" component={CameraPage} />
              <Route path="/cameras/:id/playback" component={PlaybackPage} />
              <Route path="/cameras/:id/settings" component={CameraSettingsPage} />
              <Route path="/cameras/:id/photos" component={PhotosPage} />
              <Route path="/devices" component={DevicesPage} />
              <Route path="/firmware" component={FirmwarePage} />
              <Route path="/settings/alerts" component={AlertChannelsPage} />
              <Route path="/settings/ai" component={AiHealthPage} />
              <Route path="/care" component={CarePage} />
              <Route path="/care/:id" component={SubjectPage} />
              <Route path="/incidents" component={IncidentsPage} />
              <Route path="/incidents/:id" component={IncidentPage} />
              <Route path="/nodes" component={NodesPage} />
              <Route path="/nodes/:id" component={NodePage} />
              <Route path="/events" component={EventsPage} />
              <Route path="/detections" component={DetectionsPage} />
              <Route path="/storage" component={StoragePage} />
              <Route path="/users" component={UsersPage} />
              <Route path="/settings" component={SettingsPage} />
              <Route path="/secure" component={SecureConnectionPage} />
              <Route default component={NotFoundPage} />
            </Router>
          </Shell>
        </LocationProvider>
      );
  }
}
