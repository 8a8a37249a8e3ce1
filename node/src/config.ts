import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { nodeCameraSchema } from './cameras.js';
import { sensorSchema } from './sensors/driver.js';

/** `<state-dir>/config.json`; every field has a default, an unknown key is an error (a typo is not silent). */
export const nodeConfigSchema = z
  .object({
    /** Until the hub answers a heartbeat with the interval it wants. */
    heartbeatSeconds: z.number().int().min(1).max(300).default(15),
    /** Where the NAS is mounted on this node, for the heartbeat's disk figures. */
    nasDir: z.string().nullable().default(null),
    sensors: z.array(sensorSchema).default([]),
    /** This node's cameras: recorded onto `nasDir` (required with cameras), spooled locally while it is away. */
    cameras: z.array(nodeCameraSchema).max(4).default([]),
    /**
     * Where the node serves its camera feeds on the LAN: the hub (with its per-node key) reads them and fans
     * them out to the household; the node's own recorder reads them on loopback. Port 0: any free port.
     */
    live: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8081),
      })
      .strict()
      .prefault({}),
    /** False only where the NAS is a plain folder (a laptop, tests). */
    nasRequireMount: z.boolean().default(true),
    spoolQuotaBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 ** 3),
    outbox: z
      .object({
        maxDays: z.number().positive().default(14),
        maxRows: z.number().int().positive().default(1_000_000),
      })
      .strict()
      .prefault({}),
    /** Readings per request. */
    batchSize: z.number().int().min(1).max(500).default(100),
    /** How long the command poll is held open by the hub. */
    commandWaitSeconds: z.number().int().min(1).max(30).default(25),
  })
  .strict()
  .refine(
    (config) => config.cameras.length === 0 || config.nasDir !== null,
    'cameras need nasDir (the NAS mount)',
  )
  .refine(
    (config) =>
      config.sensors.every(
        (sensor) =>
          sensor.type !== 'face_direction' || config.cameras.some((camera) => camera.id === sensor.camera),
      ),
    { message: 'a face_direction sensor names one of this node’s cameras (its id)', path: ['sensors'] },
  );
export type NodeConfig = z.infer<typeof nodeConfigSchema>;

export async function loadNodeConfig(stateDir: string, file?: string): Promise<NodeConfig> {
  const configFile = file ?? path.join(stateDir, 'config.json');
  let raw: unknown = {};
  try {
    raw = JSON.parse(await readFile(configFile, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || file)
      throw new Error(`${configFile}: ${(error as Error).message}`);
  }
  const parsed = nodeConfigSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `${configFile}: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
    );
  return parsed.data;
}
