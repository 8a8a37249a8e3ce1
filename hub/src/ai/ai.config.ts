import { z } from 'zod';
import { maskShapeSchema, motionGateConfigSchema } from './frames/motion.js';
import { frameSamplerConfigSchema } from './frames/sampler.js';
import { inferenceConfigSchema } from './inference/pool.js';

const scoreSchema = z.number().min(0.05).max(1);

/**
 * One camera's detection settings, from `ai.detections.cameras.<id>` or saved in the app
 * (detections/detection-settings.ts), checked by this one schema either way.
 */
export const cameraDetectionSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Areas where changes are ignored (a tree in the wind, a road), as in `motion.mask`. */
    mask: z.array(maskShapeSchema).max(32).optional(),
    /** Only detections whose centre lies in one of these count; none: the whole picture. */
    zones: z
      .array(z.object({ name: z.string().min(1).max(40), shape: maskShapeSchema }).strict())
      .max(16)
      .default([]),
    minScore: z.object({ person: scoreSchema, pet: scoreSchema, vehicle: scoreSchema }).partial().default({}),
  })
  .strict();
export type CameraDetectionSettings = z.infer<typeof cameraDetectionSchema>;

/** On-device intelligence (issue 13): the inference service and camera events. */
export const aiConfigSchema = z
  .object({
    inference: inferenceConfigSchema.prefault({}),
    detections: z
      .object({
        enabled: z.boolean().default(true),
        sampler: frameSamplerConfigSchema.prefault({}),
        motion: motionGateConfigSchema.prefault({}),
        minScore: z
          .object({
            person: scoreSchema.default(0.4),
            pet: scoreSchema.default(0.4),
            vehicle: scoreSchema.default(0.5),
          })
          .strict()
          .prefault({}),
        /** Frames a label must be seen in before it is an event: one stray frame is not. */
        minHits: z.number().int().min(1).max(20).default(2),
        /** An event ends when its label has not been seen for this long. */
        closeAfterSeconds: z.number().min(1).max(600).default(10),
        /** Footage kept with an event before its start and after its end. */
        paddingSeconds: z.number().int().min(0).max(300).default(10),
        /** Events (with their snapshots and the protection of their footage) are deleted after this. */
        keepDays: z.number().int().min(1).max(3650).default(30),
        /** Per camera id: off, masks, zones, scores. */
        cameras: z.record(z.string(), cameraDetectionSchema).default({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type AiConfig = z.infer<typeof aiConfigSchema>;
