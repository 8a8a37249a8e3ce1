/**
 * Per-camera detection settings: on/off, masks (areas the motion gate ignores), named zones (detections
 * count only when centred in one) and minimum scores.
 *
 * Which wins: settings saved in the app (table `camera_detection_settings`) replace the camera's entry in
 * the configuration file (`ai.detections.cameras.<id>`) as a whole, not field by field, so what the
 * household drew is exactly what runs. The file's entry is the installer's baseline until then, and again
 * once the saved settings are reset (removed). Fields left out of either fall back to the hub-wide `minScore`
 * and `motion.mask`; a camera with neither is watched unless it is a demo camera (its moving test pattern
 * would keep the detector busy for nothing).
 */
import { eq } from 'drizzle-orm';
import type { CameraRow } from '../../cameras/cameras.service.js';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/client.js';
import { type AiConfig, type CameraDetectionSettings, cameraDetectionSchema } from '../ai.config.js';
import type { MaskShape } from '../frames/motion.js';
import { cameraDetectionSettings } from './detection-settings.schema.js';
import type { DetectionLabel } from './detections.schema.js';

export type DetectionSettingsSource = 'stored' | 'config' | 'default';

/** What a camera's detection runs with, every fallback resolved. */
export interface EffectiveDetectionSettings {
  enabled: boolean;
  mask: MaskShape[];
  zones: CameraDetectionSettings['zones'];
  minScore: Record<DetectionLabel, number>;
}

export function createDetectionSettings(deps: { db: Db; clock: Clock; config: AiConfig['detections'] }) {
  const { db, config } = deps;
  const listeners = new Set<(cameraId: string) => void>();

  function stored(cameraId: string) {
    const row = db
      .select()
      .from(cameraDetectionSettings)
      .where(eq(cameraDetectionSettings.cameraId, cameraId))
      .get();
    if (!row) return undefined;
    // Checked again on the way out: a row saved under an older, looser schema must not reach the gate.
    const parsed = cameraDetectionSchema.safeParse(row.settings);
    return parsed.success ? { settings: parsed.data, updatedAt: row.updatedAt } : undefined;
  }

  function resolve(camera: Pick<CameraRow, 'id' | 'kind'>) {
    const saved = stored(camera.id);
    const configured = config.cameras[camera.id];
    const entry = saved?.settings ?? configured;
    const source: DetectionSettingsSource = saved ? 'stored' : configured ? 'config' : 'default';
    const settings: EffectiveDetectionSettings = {
      enabled: entry?.enabled ?? camera.kind !== 'demo',
      mask: entry?.mask ?? config.motion.mask,
      zones: entry?.zones ?? [],
      minScore: { ...config.minScore, ...entry?.minScore },
    };
    return { settings, source, updatedAt: saved?.updatedAt ?? null };
  }

  return {
    effective: (camera: Pick<CameraRow, 'id' | 'kind'>): EffectiveDetectionSettings =>
      resolve(camera).settings,
    /** The effective settings with where they come from, for the API. */
    read(camera: Pick<CameraRow, 'id' | 'kind'>) {
      const { settings, source, updatedAt } = resolve(camera);
      return {
        cameraId: camera.id,
        source,
        updatedAt,
        settings,
        /** Off for the whole hub (`ai.detections.enabled`): nothing runs whatever a camera says. */
        hubEnabled: config.enabled,
      };
    },
    /** Stores a camera's settings (already parsed by `cameraDetectionSchema`); the detector applies them now. */
    save(cameraId: string, settings: CameraDetectionSettings): void {
      const updatedAt = deps.clock.now();
      db.insert(cameraDetectionSettings)
        .values({ cameraId, settings, updatedAt })
        .onConflictDoUpdate({ target: cameraDetectionSettings.cameraId, set: { settings, updatedAt } })
        .run();
      for (const listener of listeners) listener(cameraId);
    },
    /** Drops a camera's saved settings: its configuration-file entry (or the defaults) runs again at once. */
    reset(cameraId: string): void {
      const { changes } = db
        .delete(cameraDetectionSettings)
        .where(eq(cameraDetectionSettings.cameraId, cameraId))
        .run();
      // Nothing was saved: nothing changed, so the running detector is left alone.
      if (changes === 0) return;
      for (const listener of listeners) listener(cameraId);
    },
    onChange(listener: (cameraId: string) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type DetectionSettings = ReturnType<typeof createDetectionSettings>;
