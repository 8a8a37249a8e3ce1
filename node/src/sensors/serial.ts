import { SerialPort } from 'serialport';
import type { NewReading } from '../outbox.js';
import type { SensorDriver, SerialSensorConfig } from './driver.js';
import { LineSplitter, numberInLine } from './lines.js';

/**
 * An Arduino on a serial port (the cradle: body temperature as text lines, the rocking motor commanded on
 * the same port). Survives partial lines, garbage and the cable pulled: it reopens the port every second
 * until it is back.
 */
export function serialSensor(config: SerialSensorConfig, now: () => number = Date.now): SensorDriver {
  let port: SerialPort | null = null;
  let splitter = new LineSplitter();
  let emit: ((reading: NewReading) => void) | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let lastError: string | null = 'not opened yet';
  let lastReadingAt = 0;
  let ignoredLines = 0;
  const lineListeners = new Set<(line: string) => void>();

  function scheduleOpen(delayMs: number) {
    clearTimeout(retry);
    if (!stopped) retry = setTimeout(open, delayMs);
  }

  function open() {
    if (stopped) return;
    const candidate = new SerialPort({ path: config.path, baudRate: config.baudRate, autoOpen: false });
    candidate.open((error) => {
      if (error) {
        lastError = error.message;
        return scheduleOpen(1000);
      }
      if (stopped) return void candidate.close();
      port = candidate;
      splitter = new LineSplitter();
      lastError = null;
      candidate.on('data', (chunk: Buffer) => {
        for (const line of splitter.push(chunk)) {
          for (const listener of [...lineListeners]) listener(line);
          const value = numberInLine(line);
          if (value === null || value < config.min || value > config.max) {
            ignoredLines++;
            continue;
          }
          lastReadingAt = now();
          emit?.({ at: lastReadingAt, sensor: config.name, kind: config.kind, value });
        }
      });
      candidate.on('close', () => {
        port = null;
        lastError = 'port closed';
        scheduleOpen(1000);
      });
      candidate.on('error', (problem) => {
        lastError = problem.message;
      });
    });
  }

  return {
    name: config.name,
    type: 'serial',
    start(onReading) {
      emit = onReading;
      open();
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      const open = port;
      port = null;
      if (open?.isOpen) await new Promise<void>((resolve) => open.close(() => resolve()));
    },
    health() {
      return {
        name: config.name,
        kind: 'serial',
        healthy: port !== null,
        ...(lastError
          ? { detail: lastError.slice(0, 200) }
          : ignoredLines
            ? { detail: `${ignoredLines} lines not understood` }
            : {}),
      };
    },
    onLine(listener) {
      lineListeners.add(listener);
      return () => lineListeners.delete(listener);
    },
    async write(line) {
      const target = port;
      if (!target) throw new Error(`${config.path} is not open (${lastError ?? 'unknown'})`);
      await new Promise<void>((resolve, reject) =>
        target.write(line, (error) =>
          error ? reject(error) : target.drain((e) => (e ? reject(e) : resolve())),
        ),
      );
    },
  };
}
