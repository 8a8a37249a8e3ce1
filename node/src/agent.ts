import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { deadline, type NodeCommand } from '@hearth/hub/protocol';
import pRetry, { AbortError } from 'p-retry';
import { crySensor } from './audio/cry-sensor.js';
import { startCameras } from './cameras.js';
import type { NodeConfig } from './config.js';
import { createDeadman, deadmanOrderSchema } from './deadman.js';
import { startCameraFeeds } from './feeds.js';
import { machineHealth } from './health.js';
import { bodyOf, HubRefused, hubClient, type NodeState } from './hub-link.js';
import { openOutbox } from './outbox.js';
import { detectorSensor } from './sensors/detector.js';
import type { SensorDriver } from './sensors/driver.js';
import { gpioSensor } from './sensors/gpio.js';
import { serialSensor } from './sensors/serial.js';
import { NODE_VERSION } from './version.js';
import { faceDirectionSensor } from './vision/face-direction.js';
import { sleep, wakeup } from './waiting.js';

export interface AgentLog {
  info(message: string): void;
  warn(message: string): void;
}

/** Retries with growing, jittered pauses while the hub is away; a 4xx ends it (the same call cannot succeed). */
const persistently = <T>(work: () => Promise<T>, signal: AbortSignal) =>
  pRetry(
    async () => {
      try {
        return await work();
      } catch (error) {
        if (error instanceof HubRefused) throw new AbortError(error);
        throw error;
      }
    },
    {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 500,
      maxTimeout: 30_000,
      factor: 2,
      randomize: true,
      signal,
    },
  );

/**
 * The agent's loops: sensors append to the outbox; the sender drains it in order; a heartbeat every
 * `heartbeatSeconds`; commands from the hub's long poll, each run at most once. Nothing waits on the hub
 * being there: readings pile up in the outbox (bounded) and go when it is back.
 */
export function startAgent(options: {
  stateDir: string;
  state: NodeState;
  config: NodeConfig;
  log: AgentLog;
}) {
  const { stateDir, state, config, log } = options;
  const stopping = new AbortController();
  const signal = stopping.signal;
  const outbox = openOutbox(path.join(stateDir, 'outbox.db'), config.outbox);
  const client = hubClient(state, (config.commandWaitSeconds + 10) * 1000);
  const sensors: SensorDriver[] = config.sensors.map((sensor) =>
    sensor.type === 'serial'
      ? serialSensor(sensor)
      : sensor.type === 'gpio'
        ? gpioSensor(sensor)
        : sensor.type === 'face_direction'
          ? faceDirectionSensor(sensor, {
              camera: config.cameras.find((camera) => camera.id === sensor.camera)!,
              // Asked at start(), after the feeds below are set up.
              feedUrl: async () => (await feeds)?.localUrl(sensor.camera) ?? null,
              log,
            })
          : sensor.type === 'audio'
            ? crySensor(sensor, { hub: state, log })
            : detectorSensor(sensor),
  );
  // A camera set-up that fails (port taken, no fs worker) leaves the sensors and the link running.
  const feeds = config.cameras.length
    ? startCameraFeeds({ cameras: config.cameras, ...config.live, log }).catch((error: Error) => {
        log.warn(`camera feeds not started: ${error.message}`);
        return null;
      })
    : Promise.resolve(null);
  const cameras = feeds
    .then((running) =>
      running
        ? startCameras({
            cameras: config.cameras,
            storage: {
              stateDir,
              nasDir: config.nasDir!,
              nasRequireMount: config.nasRequireMount,
              spoolQuotaBytes: config.spoolQuotaBytes,
            },
            outbox,
            feeds: running,
            log,
            report: async (relPath) => {
              try {
                await bodyOf(await client.device.segments.$post({ json: { relPath } }, { init: { signal } }));
                return 'done';
              } catch (error) {
                if (!(error instanceof HubRefused)) return 'retry'; // the hub or its NAS away: later
                log.warn(`segment ${relPath} refused by the hub: ${error.message}`);
                return 'done';
              }
            },
          })
        : null,
    )
    .catch((error: Error) => {
      log.warn(`cameras not started: ${error.message}`);
      return null;
    });
  const deadman = createDeadman({ stateDir, nodeName: () => os.hostname(), log });
  const sender = wakeup(signal);
  let droppedWarned = 0;

  for (const sensor of sensors)
    sensor.start((reading) => {
      const { dropped } = outbox.append(reading);
      if (dropped && outbox.stats().dropped > droppedWarned) {
        droppedWarned = outbox.stats().dropped;
        log.warn(`outbox full: dropped the ${dropped} oldest readings (${droppedWarned} in all)`);
      }
      sender.wake();
    });

  async function sendLoop() {
    while (!signal.aborted) {
      const batch = outbox.unsent(config.batchSize);
      const { droppedThrough, acked } = outbox.stats();
      if (batch.length === 0 && droppedThrough <= acked) {
        await sender.wait();
        continue;
      }
      try {
        const answer = await persistently(async () => {
          const response = await client.device.readings.$post(
            { json: { readings: batch, ...(droppedThrough > acked ? { droppedThrough } : {}) } },
            { init: { signal } },
          );
          return bodyOf<{ ackedSeq: number }>(response);
        }, signal);
        outbox.acknowledge(answer.ackedSeq);
      } catch (error) {
        if (signal.aborted) return;
        // Refused for good (a revoked token, a reading the hub will never take): say so, keep the outbox.
        log.warn(`readings refused: ${(error as Error).message}; trying again in a minute`);
        await sleep(60_000, signal);
      }
    }
  }

  let interval = config.heartbeatSeconds;
  async function heartbeatLoop() {
    while (!signal.aborted) {
      try {
        const liveFeeds = await feeds;
        const body = {
          version: NODE_VERSION,
          ...(await machineHealth(stateDir, config.nasDir)),
          sensors: sensors.map((sensor) => sensor.health()),
          cameras: (await cameras)?.health() ?? [],
          outbox: { pending: outbox.stats().pending, dropped: outbox.stats().dropped },
          ...(liveFeeds ? { live: { port: liveFeeds.port } } : {}),
        };
        const answer = await bodyOf<{ intervalSeconds: number; liveKey?: string; deadman?: unknown }>(
          await client.device.heartbeat.$post({ json: body }, { init: { signal } }),
        );
        if (answer.liveKey) liveFeeds?.setHubKey(answer.liveKey);
        const order = deadmanOrderSchema.safeParse(answer.deadman);
        await deadman.contact(order.success ? order.data : undefined);
        // The hub says how often it expects us: it is the one counting missed heartbeats.
        interval = answer.intervalSeconds;
      } catch (error) {
        if (!signal.aborted) {
          log.warn(`heartbeat not delivered: ${(error as Error).message}`);
          await deadman.silence().catch((e: Error) => log.warn(`dead-man: ${e.message}`));
        }
      }
      await sleep(interval * 1000, signal);
    }
  }

  /**
   * What asks for a safety check-in and hears the answer: a serial device (its chime line out, its button's
   * line back) or a GPIO button (a prompt command such as a chime through the speaker; a press answers).
   */
  function checkInDevice(): { device: SensorDriver; answer: string; prompt: () => Promise<void> } | null {
    for (const sensor of config.sensors) {
      const device = sensors.find((driver) => driver.name === sensor.name);
      if (!device?.onLine) continue;
      if (sensor.type === 'serial' && sensor.checkIn && device.write) {
        const { prompt, answer } = sensor.checkIn;
        return { device, answer: answer.trim(), prompt: () => device.write!(prompt) };
      }
      if (sensor.type === 'gpio' && sensor.checkIn) {
        const argv = sensor.checkIn.prompt;
        return {
          device,
          answer: `pressed:${sensor.checkIn.button}`,
          prompt: async () => {
            if (!argv) return;
            // The chime plays on its own; a missing player is worth a warning, not a failed check-in.
            const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
            child.on('error', (error) => log.warn(`check-in prompt ${argv[0]}: ${error.message}`));
          },
        };
      }
    }
    return null;
  }

  /** The serial sensor whose Arduino drives the cradle's motor, and its driver. */
  const motorConfig = () => config.sensors.find((s) => s.type === 'serial' && s.motor !== undefined);
  const motor = () => sensors.find((sensor) => sensor.write && sensor.name === motorConfig()?.name);
  let stopRocking: NodeJS.Timeout | undefined;

  async function execute(command: NodeCommand): Promise<string> {
    const driver = motor();
    const serial = motorConfig();
    const lines = serial?.type === 'serial' ? serial.motor : undefined;
    switch (command.kind) {
      case 'rock': {
        if (!driver || !lines) throw new Error('no cradle motor on this node');
        const seconds = command.args.seconds ?? 60;
        const fill = (line: string) =>
          line
            .replace('{seconds}', String(seconds))
            .replace('{intensity}', String(command.args.intensity ?? 2));
        await driver.write!(fill(lines.rock));
        clearTimeout(stopRocking);
        stopRocking = setTimeout(() => void driver.write!(lines.stop).catch(() => undefined), seconds * 1000);
        return `rocking for ${seconds} s`;
      }
      case 'stop_rocking': {
        if (!driver || !lines) throw new Error('no cradle motor on this node');
        clearTimeout(stopRocking);
        await driver.write!(lines.stop);
        return 'stopped';
      }
      case 'check_in': {
        const asker = checkInDevice();
        if (!asker) throw new Error('no check-in button on this node');
        const minutes = command.args.minutes ?? 5;
        const started = Date.now();
        const answered = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => finish(false), minutes * 60_000);
          const unsubscribe = asker.device.onLine!((line) => {
            if (line.trim().toLowerCase() === asker.answer.toLowerCase()) finish(true);
          });
          const onAbort = () => finish(false);
          signal.addEventListener('abort', onAbort, { once: true });
          function finish(ok: boolean) {
            clearTimeout(timer);
            unsubscribe();
            signal.removeEventListener('abort', onAbort);
            resolve(ok);
          }
        });
        await asker.prompt();
        if (!(await answered)) throw new Error(`not answered within ${minutes} min`);
        return `answered after ${Math.round((Date.now() - started) / 1000)} s`;
      }
      case 'restart':
        // systemd (Restart=always) starts the agent again; the result goes first.
        setTimeout(() => process.kill(process.pid, 'SIGTERM'), 500);
        return 'restarting';
      case 'capture_photo': {
        const running = await cameras;
        const shot = running ? await running.snapshot() : null;
        if (!shot) throw new Error(running ? 'no camera picture yet' : 'no camera on this node');
        // Into the camera's gallery, like a battery camera's burst of one.
        const form = new FormData();
        form.append('photo', new Blob([new Uint8Array(shot.jpeg)], { type: 'image/jpeg' }), 'snapshot.jpg');
        form.append(
          'meta',
          JSON.stringify({
            burstId: `cmd-${command.id}`,
            seq: 0,
            capturedAt: shot.at,
            wakeReason: 'command',
          }),
        );
        const limit = deadline(30_000, signal);
        const stored = await fetch(new URL('/api/device/photos', state.hubUrl), {
          method: 'POST',
          headers: { authorization: `Bearer ${state.token}` },
          body: form,
          signal: limit.signal,
        })
          .then((response) => bodyOf<{ photos: { id: number }[] }>(response))
          .finally(limit.done);
        return `photo ${stored.photos[0]?.id} of ${shot.cameraId}`;
      }
      default:
        throw new Error(`${command.kind} needs hardware this node does not have`);
    }
  }

  async function report(id: number, result: 'done' | 'failed', detail: string) {
    try {
      await persistently(
        async () =>
          bodyOf(
            await client.device.commands[':id'].result.$post(
              { param: { id: String(id) }, json: { result, detail: detail.slice(0, 200) } },
              { init: { signal } },
            ),
          ),
        signal,
      );
      outbox.markReported(id);
    } catch (error) {
      // 409/404: the hub has an answer already, or forgot the command; either way stop telling it.
      if (error instanceof AbortError || error instanceof HubRefused) outbox.markReported(id);
    }
  }

  /** Commands in progress: the hub sends an unfinished command again on every poll. */
  const inProgress = new Set<number>();

  async function runCommand(command: NodeCommand) {
    inProgress.add(command.id);
    let result: 'done' | 'failed' = 'done';
    let detail: string;
    try {
      detail = await execute(command);
    } catch (error) {
      result = 'failed';
      detail = (error as Error).message;
    }
    outbox.finishCommand(command.id, result, detail);
    inProgress.delete(command.id);
    await report(command.id, result, detail);
  }

  async function commandLoop() {
    for (const left of outbox.unreported()) await report(left.id, left.result, left.detail);
    while (!signal.aborted) {
      let commands: NodeCommand[] = [];
      try {
        commands = (
          await bodyOf<{ commands: NodeCommand[] }>(
            await client.device.commands.$get(
              { query: { wait: String(config.commandWaitSeconds) } },
              { init: { signal } },
            ),
          )
        ).commands;
      } catch (error) {
        if (signal.aborted) return;
        log.warn(`command poll failed: ${(error as Error).message}`);
        await sleep(2000 + Math.random() * 3000, signal);
        continue;
      }
      for (const command of commands) {
        if (inProgress.has(command.id)) continue;
        if (!outbox.claimCommand(command.id, command.kind)) {
          // Seen before: run, or cut short by a crash. Never again; tell the hub what is known.
          const known = outbox.commandOutcome(command.id);
          await report(
            command.id,
            known?.result ?? 'failed',
            known?.detail ?? 'interrupted by a restart of the node',
          );
          continue;
        }
        if (command.expiresAt < Date.now()) {
          outbox.finishCommand(command.id, 'failed', 'expired before it could start');
          await report(command.id, 'failed', 'expired before it could start');
          continue;
        }
        log.info(`command ${command.id}: ${command.kind}`);
        const run = runCommand(command);
        // A check-in waits minutes for its button: other commands (stop rocking!) must not wait behind it.
        if (command.kind !== 'check_in') await run;
      }
    }
  }

  const loops = [sendLoop(), heartbeatLoop(), commandLoop()];
  log.info(`running: ${sensors.length} sensor(s), ${config.cameras.length} camera(s), hub ${state.hubUrl}`);
  return {
    outbox,
    async stop() {
      stopping.abort();
      clearTimeout(stopRocking);
      await Promise.allSettled([
        ...loops,
        ...sensors.map((sensor) => sensor.stop()),
        cameras.then((running) => running?.stop()).then(() => feeds.then((running) => running?.stop())),
      ]);
      outbox.close();
    },
  };
}
