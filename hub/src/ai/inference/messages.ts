import type { Backend, ModelName } from './models.js';

/** An RGB picture, row-major, 3 bytes a pixel. */
export interface RgbImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

export interface ObjectDetection {
  /** The COCO class name, e.g. `person`, `cat`. */
  label: string;
  score: number;
  /** Fractions of the picture: x, y of the top-left corner, width, height. */
  box: { x: number; y: number; w: number; h: number };
}

export interface FaceReading {
  score: number;
  /** Degrees. */
  yaw: number;
  pitch: number;
  roll: number;
  box: { x: number; y: number; w: number; h: number };
  /** Both eyes open (iris model), null when the eyes were not measured. */
  eyesOpen: boolean | null;
}

export type ModelOutput =
  | { model: 'objects'; objects: ObjectDetection[] }
  | { model: 'face'; faces: FaceReading[] };

export type ToWorker =
  | { type: 'init'; backend: Backend | 'auto'; models: ModelName[] }
  | { type: 'run'; id: number; model: ModelName; width: number; height: number; pixels: Uint8Array };

export type FromWorker =
  | { type: 'ready'; backend: Backend; loadMs: number }
  | { type: 'init-failed'; message: string }
  | { type: 'result'; id: number; ms: number; output: ModelOutput }
  | { type: 'failed'; id: number; ms: number; message: string };
