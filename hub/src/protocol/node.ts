/**
 * What an edge node and the hub say to each other (docs/protocols.md, "Edge nodes"): enrolment, heartbeat,
 * readings and commands. zod schemas so both sides check the same shapes; no HTTP or database here.
 */
import { z } from 'zod';

/** `XXXX-XXXX` from an alphabet without look-alikes (no 0/O, 1/I/L, U). */
export const ENROLMENT_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
export const enrolmentCodeSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[2-9A-HJKMNP-TV-Z]{4}-?[2-9A-HJKMNP-TV-Z]{4}$/, 'an enrolment code looks like ABCD-EFGH');

export const enrolRequestSchema = z
  .object({
    code: enrolmentCodeSchema,
    /** The node's machine id or serial, when it has one. */
    hardwareId: z.string().trim().min(1).max(64).optional(),
    version: z.string().max(32).optional(),
  })
  .strict();
export type EnrolRequest = z.input<typeof enrolRequestSchema>;

const diskSchema = z
  .object({ freeBytes: z.number().nonnegative(), totalBytes: z.number().nonnegative() })
  .strict();
const healthSchema = z
  .object({
    name: z.string().min(1).max(64),
    kind: z.string().min(1).max(32),
    healthy: z.boolean(),
    detail: z.string().max(200).optional(),
  })
  .strict();

/** The default; the hub's answer to each heartbeat says the interval it expects (`nodes.heartbeatSeconds`). */
export const HEARTBEAT_SECONDS = 15;

export const heartbeatSchema = z
  .object({
    version: z.string().min(1).max(32),
    uptimeSeconds: z.number().nonnegative(),
    cpuTemperatureC: z.number().min(-50).max(150).nullable(),
    load1: z.number().nonnegative(),
    memory: z
      .object({ totalBytes: z.number().nonnegative(), availableBytes: z.number().nonnegative() })
      .strict(),
    disks: z.object({ state: diskSchema, nas: diskSchema.nullable() }).strict(),
    /** From timedatectl/chrony: true synchronised, false not, null unknown. */
    clockSynced: z.boolean().nullable(),
    sensors: z.array(healthSchema).max(32),
    cameras: z.array(healthSchema).max(8),
    outbox: z
      .object({ pending: z.number().int().nonnegative(), dropped: z.number().int().nonnegative() })
      .strict(),
    /**
     * The port the node serves its camera feeds on (`GET /cameras/<id>/live.ts`); the hub reads them at the
     * address the heartbeat came from, with the key its answer gives (`liveKey`).
     */
    live: z
      .object({ port: z.number().int().min(1).max(65535) })
      .strict()
      .optional(),
  })
  .strict();
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/** A reading kind: temperature, crying, direction, door, motion, button, battery… */
export const readingKindSchema = z.string().regex(/^[a-z][a-z_]{0,31}$/, 'lower-case letters and _');

export const readingSchema = z
  .object({
    /** Per node, from 1, without gaps: what makes a resend a no-op and lets the hub acknowledge in order. */
    seq: z.number().int().positive(),
    /** ms since the epoch, by the node's clock (chrony keeps it on the hub's). */
    at: z.number().int().nonnegative(),
    sensor: z.string().min(1).max(64),
    kind: readingKindSchema,
    value: z.number().finite().optional(),
    state: z.string().min(1).max(32).optional(),
    confidence: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((r) => r.value !== undefined || r.state !== undefined, 'a reading has a value or a state');
export type Reading = z.infer<typeof readingSchema>;

export const MAX_READINGS_PER_BATCH = 500;
export const readingBatchSchema = z
  .object({
    readings: z.array(readingSchema).max(MAX_READINGS_PER_BATCH),
    /** Readings up to this sequence were dropped on the node (its outbox was full): never wait for them. */
    droppedThrough: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((batch) => batch.readings.length > 0 || batch.droppedThrough !== undefined, 'no readings');

export const NODE_COMMAND_KINDS = ['rock', 'stop_rocking', 'capture_photo', 'check_in', 'restart'] as const;
export type NodeCommandKind = (typeof NODE_COMMAND_KINDS)[number];

export const nodeCommandArgsSchema = z
  .object({
    /** rock: how long (default 60 s). */
    seconds: z.number().int().min(1).max(1800).optional(),
    /** rock: 1 gentle … 3 strong (default 2). */
    intensity: z.number().int().min(1).max(3).optional(),
    /** check_in: how long to wait for the button (default 5 min). */
    minutes: z.number().int().min(1).max(120).optional(),
  })
  .strict();
export type NodeCommandArgs = z.infer<typeof nodeCommandArgsSchema>;

export interface NodeCommand {
  id: number;
  kind: NodeCommandKind;
  args: NodeCommandArgs;
  /** ms since the epoch; a node does not start a command after this. */
  expiresAt: number;
}

export const commandResultSchema = z
  .object({
    result: z.enum(['done', 'failed']),
    detail: z.string().max(200).optional(),
  })
  .strict();
export type CommandResult = z.infer<typeof commandResultSchema>;
