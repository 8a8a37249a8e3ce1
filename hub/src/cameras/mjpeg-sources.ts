import type { Logger } from '../log/logger.js';
import type { CameraRow } from './cameras.service.js';
import { createMjpegUpstream, type MjpegUpstream } from './mjpeg-upstream.js';

/** One upstream per MJPEG camera for the whole hub: the recorder and every viewer share it. */
export function createMjpegSources(log: Logger) {
  const upstreams = new Map<string, { url: string; upstream: MjpegUpstream }>();
  return {
    forCamera(camera: Pick<CameraRow, 'id' | 'sourceUrl'>): MjpegUpstream {
      const existing = upstreams.get(camera.id);
      if (existing && existing.url === camera.sourceUrl) return existing.upstream;
      void existing?.upstream.stop();
      const upstream = createMjpegUpstream({ url: camera.sourceUrl!, log: log.child({ camera: camera.id }) });
      upstreams.set(camera.id, { url: camera.sourceUrl!, upstream });
      return upstream;
    },
    status(cameraId: string) {
      return upstreams.get(cameraId)?.upstream.status() ?? null;
    },
    async stopAll(): Promise<void> {
      await Promise.all([...upstreams.values()].map(({ upstream }) => upstream.stop()));
      upstreams.clear();
    },
  };
}

export type MjpegSources = ReturnType<typeof createMjpegSources>;
