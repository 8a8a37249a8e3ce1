import type { CameraService } from '../cameras/cameras.service.js';
import type { DeviceService } from '../devices/devices.service.js';
import type { Logger } from '../log/logger.js';
import type { DeviceSettings } from './device-settings.js';
import { startVirtualCamera } from './virtual-camera.js';

export const DEMO_PHOTO_CAMERA = 'demo-garden';
const DEMO_HARDWARE_ID = 'demo-virtual-esp32cam';

/**
 * The demo's battery camera: a device and an ESP32-CAM camera seeded on the first demo start, then
 * on every start a virtual camera that talks to this hub over HTTP with a fresh device token, exactly
 * as a real one would (so the gallery, settings and commands all work on the laptop demo).
 */
export function createDemoPhotoCamera(deps: {
  devices: DeviceService;
  cameras: CameraService;
  deviceSettings: DeviceSettings;
  log: Logger;
  /** A real camera sleeps minutes; the demo wakes often enough for a newcomer to see bursts arrive. */
  wakeSeconds: number;
}) {
  let camera: ReturnType<typeof startVirtualCamera> | undefined;

  return {
    /** With the other demo cameras, on a first start only: a camera removed by the user stays removed. */
    seed(): void {
      const { device } = deps.devices.create({
        name: 'Garden camera (demo)',
        kind: 'camera',
        hardwareId: DEMO_HARDWARE_ID,
      });
      deps.deviceSettings.update(device.id, { wakeIntervalSeconds: deps.wakeSeconds });
      deps.cameras.create({
        id: DEMO_PHOTO_CAMERA,
        name: 'Garden (demo)',
        kind: 'esp32',
        deviceId: device.id,
        powerProfile: 'battery',
        record: false,
      });
    },

    start(hubUrl: string): void {
      if (!deps.cameras.exists(DEMO_PHOTO_CAMERA)) return;
      const row = deps.cameras.get(DEMO_PHOTO_CAMERA);
      if (!row.deviceId || !row.enabled) return;
      const device = deps.devices.list().find((d) => d.id === row.deviceId);
      if (device?.hardwareId !== DEMO_HARDWARE_ID) return;
      // The token lives only in this process; the previous run's tokens are revoked, not piled up.
      for (const token of deps.devices.listTokens(device.id))
        if (!token.revokedAt) deps.devices.revokeToken(device.id, token.id);
      const { token } = deps.devices.createToken(device.id);
      const log = deps.log.child({ part: 'demo-camera' });
      camera = startVirtualCamera({
        hubUrl,
        token,
        label: 'Garden (demo)',
        onEvent: (event) =>
          event.kind === 'retrying' || event.kind === 'dropped'
            ? log.warn({ detail: event.detail }, `demo camera: ${event.kind}`)
            : log.debug({ detail: event.detail }, `demo camera: ${event.kind}`),
      });
    },

    async stop(): Promise<void> {
      await camera?.stop();
      camera = undefined;
    },
  };
}
