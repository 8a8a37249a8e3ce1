import { backoffDelay } from '../jobs/queue.js';
import { testPatternBurst } from '../media/index.js';
import {
  type CameraSettings,
  COMPACT_MEDIA_TYPE,
  type DeviceCommand,
  decodeUploadReply,
  type FrameSize,
  type UnknownCommand,
} from '../protocol/compact.js';

const FRAME_PIXELS: Record<FrameSize, [number, number]> = {
  QVGA: [320, 240],
  VGA: [640, 480],
  SVGA: [800, 600],
  XGA: [1024, 768],
  HD: [1280, 720],
  SXGA: [1280, 1024],
  UXGA: [1600, 1200],
};

export interface VirtualCameraEvent {
  kind: 'uploaded' | 'retrying' | 'dropped' | 'settings' | 'command';
  detail: unknown;
}

/**
 * Behaves like the battery ESP32-CAM firmware on the wire: wakes on its interval, takes a burst of real
 * JPEGs, uploads it with its device token asking for the compact reply, applies the settings it gets,
 * carries out and acknowledges commands, and keeps the same burst (same id, same sequence numbers) and
 * retries with backoff while the hub cannot take it.
 */
export function startVirtualCamera(options: {
  hubUrl: string;
  token: string;
  label?: string;
  /** Overrides the wake interval from the settings (the demo wakes more often than a real camera). */
  intervalSeconds?: number;
  onEvent?: (event: VirtualCameraEvent) => void;
}) {
  const settings: Required<Omit<CameraSettings, 'settingsVersion'>> & { settingsVersion: number } = {
    settingsVersion: 0,
    frameSize: 'VGA',
    jpegQuality: 12,
    wakeIntervalSeconds: 300,
    pirEnabled: true,
    burstLength: 3,
  };
  let acks: number[] = [];
  let bursts = 0;
  let wakeTimer: NodeJS.Timeout | undefined;
  /** Ends a backoff pause early (on stop). */
  let interruptPause: (() => void) | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const emit = (kind: VirtualCameraEvent['kind'], detail: unknown) => options.onEvent?.({ kind, detail });

  function apply(commands: (DeviceCommand | UnknownCommand)[]): boolean {
    let captureNow = false;
    for (const command of commands) {
      emit('command', command);
      if (command.kind === 'capture_now') captureNow = true;
      // Streams, sleep and reboot have nothing to act on in a simulator; acknowledging them is what counts.
      acks.push(command.id);
    }
    return captureNow;
  }

  async function wake(reason: 'timer' | 'command' | 'manual'): Promise<void> {
    bursts += 1;
    const burstId = `${Date.now().toString(36)}-${bursts}`;
    const [width, height] = FRAME_PIXELS[settings.frameSize];
    const photos = await testPatternBurst({
      count: settings.burstLength,
      width,
      height,
      jpegQuality: settings.jpegQuality,
      ...(options.label ? { label: options.label } : {}),
    });
    const capturedAt = Date.now();
    for (let attempt = 1; !stopped; attempt++) {
      const form = new FormData();
      for (const [i, photo] of photos.entries())
        form.append(
          'photo',
          new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }),
          `${burstId}_${i}.jpg`,
        );
      const sentAcks = acks;
      form.append(
        'meta',
        JSON.stringify({
          burstId,
          seq: 0,
          capturedAt,
          intervalMs: 200,
          wakeReason: reason,
          batteryMv: 4100 - (bursts % 50) * 4,
          rssi: -55 - (bursts % 10),
          firmware: 'virtual-0.1',
          settingsVersion: settings.settingsVersion,
          ...(sentAcks.length ? { ack: sentAcks } : {}),
        }),
      );
      let response: Response | undefined;
      try {
        response = await fetch(new URL('/api/device/photos', options.hubUrl), {
          method: 'POST',
          headers: { authorization: `Bearer ${options.token}`, accept: COMPACT_MEDIA_TYPE },
          body: form,
          signal: AbortSignal.timeout(30_000),
        });
      } catch (error) {
        response = undefined;
        emit('retrying', { burstId, attempt, error: (error as Error).message });
      }
      if (response?.ok) {
        const reply = decodeUploadReply(new Uint8Array(await response.arrayBuffer()));
        acks = acks.filter((id) => !sentAcks.includes(id));
        emit('uploaded', { burstId, stored: reply.stored, duplicates: reply.duplicates });
        if (reply.settings) {
          Object.assign(settings, reply.settings);
          emit('settings', { ...settings });
        }
        if (apply(reply.commands) && !stopped) running = running.then(() => wake('command'));
        return;
      }
      if (response && response.status !== 429 && response.status < 500) {
        emit('dropped', { burstId, status: response.status, body: await response.text() });
        return;
      }
      if (response) emit('retrying', { burstId, attempt, status: response.status });
      const retryAfter = Number(response?.headers.get('retry-after') ?? 0) * 1000;
      await new Promise<void>((resolve) => {
        const pause = setTimeout(resolve, Math.max(retryAfter, backoffDelay(attempt, 1000, 60_000)));
        interruptPause = () => {
          clearTimeout(pause);
          resolve();
        };
      });
    }
  }

  function schedule(delayMs: number) {
    if (stopped) return;
    wakeTimer = setTimeout(() => {
      running = running
        .then(() => wake('timer'))
        .catch((error: unknown) => emit('dropped', { error: (error as Error).message }))
        .finally(() => schedule((options.intervalSeconds ?? settings.wakeIntervalSeconds) * 1000));
    }, delayMs);
  }
  schedule(0);

  return {
    settings: () => ({ ...settings }),
    /** A PIR trigger or button press: one burst now. */
    trigger: () => {
      running = running.then(() => wake('manual'));
      return running;
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(wakeTimer);
      interruptPause?.();
      await running.catch(() => undefined);
    },
  };
}
