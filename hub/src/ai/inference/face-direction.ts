import { z } from 'zod';

export const FACE_DIRECTIONS = ['front', 'left', 'right', 'down', 'no_face'] as const;
export type FaceDirection = (typeof FACE_DIRECTIONS)[number];

export const faceDirectionConfigSchema = z
  .object({
    /** Below this face score there is no face. */
    minScore: z.number().min(0).max(1).default(0.5),
    /** |yaw| from here on is turned (degrees). */
    turnedYaw: z.number().min(5).max(80).default(15),
    /** Pitch from here on (head tilted forward) is down (degrees). */
    downPitch: z.number().min(5).max(80).default(20),
  })
  .strict();
export type FaceDirectionConfig = z.infer<typeof faceDirectionConfigSchema>;

export interface FaceAngles {
  score: number;
  /** Degrees; negative: the face turned to the picture's left. */
  yaw: number;
  /** Degrees; positive: the head tilted down. */
  pitch: number;
  roll: number;
}

/**
 * Where a face looks, as seen in the picture. Down wins over turned: a baby face-down is the case the
 * care rule exists for, however the head is also turned.
 */
export function faceDirection(face: FaceAngles | null, config: FaceDirectionConfig): FaceDirection {
  if (!face || face.score < config.minScore) return 'no_face';
  if (face.pitch >= config.downPitch) return 'down';
  if (face.yaw <= -config.turnedYaw) return 'left';
  if (face.yaw >= config.turnedYaw) return 'right';
  return 'front';
}
