import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import { z } from 'zod';
import type { NewReading } from '../outbox.js';
import type { DetectorSensorConfig, SensorDriver } from './driver.js';
import { LineSplitter } from './lines.js';

/** One line from a detector: what it saw, with how sure it is. */
const detectionSchema = z
  .object({
    kind: z.string().regex(/^[a-z][a-z_]{0,31}$/),
    state: z.string().min(1).max(32).optional(),
    value: z.number().finite().optional(),
    confidence: z.number().min(0).max(1),
    /** ms since the epoch; now when absent. */
    at: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((d) => d.state !== undefined || d.value !== undefined, 'a state or a value');

/**
 * Detector outputs (cry detection, face direction: the on-device AI) arrive on a unix socket as JSON lines,
 * `{"kind":"crying","state":"crying","confidence":0.91}`, and become readings like any sensor's. Each line is
 * answered `{"ok":true}` or `{"error":"…"}`, so a detector knows a reading was taken (it is in the outbox).
 */
export function detectorSensor(config: DetectorSensorConfig, now: () => number = Date.now): SensorDriver {
  let server: net.Server | null = null;
  let accepted = 0;
  let refused = 0;
  let lastError: string | null = null;
  /** Listening, with the socket's mode set. */
  let ready = false;

  return {
    name: config.name,
    type: 'detector',
    start(emit) {
      rmSync(config.socket, { force: true }); // a socket file left by a killed agent
      server = net.createServer((socket) => {
        const lines = new LineSplitter(1024);
        socket.on('data', (chunk) => {
          for (const line of lines.push(chunk)) {
            if (!line.trim()) continue;
            let parsed: ReturnType<typeof detectionSchema.safeParse>;
            try {
              parsed = detectionSchema.safeParse(JSON.parse(line));
            } catch {
              refused++;
              socket.write('{"error":"not JSON"}\n');
              continue;
            }
            if (!parsed.success || !config.kinds.includes(parsed.data.kind)) {
              refused++;
              const why = parsed.success
                ? `kind ${parsed.data.kind} is not one of ${config.kinds.join(', ')}`
                : parsed.error.issues[0]?.message;
              socket.write(`${JSON.stringify({ error: why })}\n`);
              continue;
            }
            const { at, ...detection } = parsed.data;
            const reading: NewReading = { at: at ?? now(), sensor: config.name, ...detection };
            emit(reading);
            accepted++;
            socket.write('{"ok":true}\n');
          }
        });
        socket.on('error', () => socket.destroy());
      });
      server.on('error', (error) => {
        lastError = error.message;
      });
      server.listen(config.socket, () => {
        // The detectors run as the same user or the hearth group; nobody else may feed readings in.
        chmodSync(config.socket, 0o660);
        ready = true;
      });
    },
    async stop() {
      const open = server;
      server = null;
      ready = false;
      if (open) await new Promise<void>((resolve) => open.close(() => resolve()));
      rmSync(config.socket, { force: true });
    },
    health() {
      return {
        name: config.name,
        kind: 'detector',
        healthy: ready,
        ...(lastError
          ? { detail: lastError.slice(0, 200) }
          : { detail: `${accepted} detections taken, ${refused} refused` }),
      };
    },
  };
}
