import { z } from 'zod';
import type { NewReading } from '../outbox.js';

export const serialSensorSchema = z
  .object({
    type: z.literal('serial'),
    name: z.string().min(1).max(64),
    path: z.string().min(1),
    baudRate: z.number().int().positive().default(9600),
    /** What the numbers on the line are. */
    kind: z
      .string()
      .regex(/^[a-z][a-z_]{0,31}$/)
      .default('temperature'),
    /** Values outside are not believed (a misread line). */
    min: z.number().default(-40),
    max: z.number().default(125),
    /** Lines this node writes for commands; `{seconds}` and `{intensity}` are filled in. */
    motor: z
      .object({ rock: z.string().default('servo\n'), stop: z.string().default('stop\n') })
      .strict()
      .optional(),
    /** A safety check-in on this device: `prompt` is written (a chime, a blinking light), `answer` is the line its button sends. */
    checkIn: z
      .object({ prompt: z.string().default('chime\n'), answer: z.string().min(1).default('button') })
      .strict()
      .optional(),
  })
  .strict();
export type SerialSensorConfig = z.infer<typeof serialSensorSchema>;

export const detectorSensorSchema = z
  .object({
    type: z.literal('detector'),
    name: z.string().min(1).max(64),
    /** The unix socket detectors write JSON lines to. */
    socket: z.string().min(1),
    /** The reading kinds it may send (the AI's cry detector: crying; face direction: direction). */
    kinds: z
      .array(z.string().regex(/^[a-z][a-z_]{0,31}$/))
      .min(1)
      .default(['crying', 'direction']),
  })
  .strict();
export type DetectorSensorConfig = z.infer<typeof detectorSensorSchema>;

export const sensorSchema = z.discriminatedUnion('type', [serialSensorSchema, detectorSensorSchema]);
export type SensorConfig = z.infer<typeof sensorSchema>;

export interface SensorHealth {
  name: string;
  kind: string;
  healthy: boolean;
  detail?: string;
}

/** One interface for every source of readings (serial, detectors; GPIO joins it). */
export interface SensorDriver {
  name: string;
  type: SensorConfig['type'];
  start(emit: (reading: NewReading) => void): void;
  stop(): Promise<void>;
  health(): SensorHealth;
  /** Drivers that can drive something (the cradle's motor) take lines. */
  write?(line: string): Promise<void>;
  /** Drivers that hear text lines (a button's message) let commands wait for one; returns the unsubscribe. */
  onLine?(listener: (line: string) => void): () => void;
}
