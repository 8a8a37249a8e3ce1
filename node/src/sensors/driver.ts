import { z } from 'zod';
import { audioSensorSchema } from '../audio/config.js';
import type { NewReading } from '../outbox.js';
import { faceDirectionSensorSchema } from '../vision/face-direction.js';

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

/** How a GPIO line is named in the config: its offset on the chip (17), or its name there (`GPIO17`). */
const gpioLineIdSchema = z.union([
  z.number().int().min(0).max(1023),
  z
    .string()
    .regex(/^[A-Za-z_][\w.-]{0,31}$/, 'a line name such as GPIO17 (an offset is a number: 17, not "17")'),
]);

export const gpioLineSchema = z
  .object({
    line: gpioLineIdSchema,
    /** door: open/closed (active = open); motion: motion/still; button: pressed (on the press only). */
    kind: z.enum(['door', 'motion', 'button']),
    /** The line is active when low (a switch to ground with a pull-up). */
    activeLow: z.boolean().default(false),
    /** Set on the line by the request; `as-is` leaves what the boot config (config.txt) set. */
    bias: z.enum(['as-is', 'pull-up', 'pull-down', 'disable']).default('as-is'),
    /** How long a new level must hold before it counts; absent: 50 for door and button, 0 for motion. */
    debounceMs: z.number().int().min(0).max(10_000).optional(),
    /** The readings' sensor; absent: `<sensor name>:<line>`, e.g. `hallway:17`. */
    name: z.string().min(1).max(64).optional(),
  })
  .strict();
export type GpioLineConfig = z.infer<typeof gpioLineSchema>;

/** The `sensor` of a GPIO line's readings. */
export function gpioLineSensor(sensorName: string, line: Pick<GpioLineConfig, 'line' | 'name'>): string {
  return line.name ?? `${sensorName}:${line.line}`;
}

/**
 * Door contacts, PIR motion sensors and buttons on the GPIO header, read through the kernel's GPIO character
 * device by libgpiod's own tools (gpiomon, gpioget; gpiofind for line names with libgpiod 1.x).
 */
export const gpioSensorSchema = z
  .object({
    type: z.literal('gpio'),
    name: z.string().min(1).max(64),
    /** gpiochip0, 0 or /dev/gpiochip0 (a Raspberry Pi's header; gpiochip4 on a Pi 5 with older kernels). */
    chip: z
      .string()
      .regex(/^(?:(?:\/dev\/)?gpiochip)?\d{1,3}$/, 'gpiochipN, N or /dev/gpiochipN')
      .default('gpiochip0'),
    lines: z.array(gpioLineSchema).min(1).max(64),
    /** The tools (Debian/Raspberry Pi OS package `gpiod`); a path when they are not on PATH. */
    gpiomon: z.string().min(1).default('gpiomon'),
    gpioget: z.string().min(1).default('gpioget'),
    /** Only libgpiod 1.x needs it, to find the offset of a line given by name. */
    gpiofind: z.string().min(1).default('gpiofind'),
    /**
     * A safety check-in with one of these buttons (its sensor name, e.g. `hallway:17`): `prompt` is a command
     * run to ask (a chime through the speaker: `["aplay", "/usr/share/sounds/chime.wav"]`); a press answers.
     */
    checkIn: z
      .object({ button: z.string().min(1).max(64), prompt: z.array(z.string().min(1)).min(1).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const lines = new Map<string | number, number>();
    const sensors = new Map<string, number>();
    config.lines.forEach((line, index) => {
      const sensor = gpioLineSensor(config.name, line);
      if (lines.has(line.line))
        ctx.addIssue({
          code: 'custom',
          path: ['lines', index, 'line'],
          message: `line ${line.line} is already lines[${lines.get(line.line)}]`,
        });
      else lines.set(line.line, index);
      if (sensor.length > 64)
        ctx.addIssue({
          code: 'custom',
          path: ['lines', index, 'name'],
          message: `the sensor "${sensor}" is over 64 characters: give the line a shorter name`,
        });
      if (sensors.has(sensor))
        ctx.addIssue({
          code: 'custom',
          path: ['lines', index, 'name'],
          message: `the sensor "${sensor}" is already lines[${sensors.get(sensor)}]`,
        });
      else sensors.set(sensor, index);
    });
    const button = config.checkIn?.button;
    if (
      button !== undefined &&
      !config.lines.some((line) => line.kind === 'button' && gpioLineSensor(config.name, line) === button)
    )
      ctx.addIssue({
        code: 'custom',
        path: ['checkIn', 'button'],
        message: `no button line is called "${button}" (${[...sensors.keys()].join(', ')})`,
      });
  });
export type GpioSensorConfig = z.infer<typeof gpioSensorSchema>;

export const sensorSchema = z.discriminatedUnion('type', [
  serialSensorSchema,
  detectorSensorSchema,
  gpioSensorSchema,
  faceDirectionSensorSchema,
  audioSensorSchema,
]);
export type SensorConfig = z.infer<typeof sensorSchema>;

export interface SensorHealth {
  name: string;
  kind: string;
  healthy: boolean;
  detail?: string;
}

/** One interface for every source of readings (serial, detectors, GPIO inputs). */
export interface SensorDriver {
  name: string;
  type: SensorConfig['type'];
  start(emit: (reading: NewReading) => void): void;
  stop(): Promise<void>;
  health(): SensorHealth;
  /** Drivers that can drive something (the cradle's motor) take lines. */
  write?(line: string): Promise<void>;
  /**
   * Drivers that hear text lines (a button's message) let commands wait for one; returns the unsubscribe.
   * Serial: every line from the device. GPIO: `pressed:<sensor>` for each button press (after debouncing).
   */
  onLine?(listener: (line: string) => void): () => void;
}
