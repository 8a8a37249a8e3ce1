import type { Logger } from '../log/logger.js';

export interface LoopSpec {
  /** Stable, human-readable: shows in logs and `GET /api/system/loops`. */
  name: string;
  intervalMs: number;
  /** One pass. A throw is logged and the loop carries on at its next interval. */
  run(signal: AbortSignal): unknown;
  /** Run the first pass right after start instead of one interval later. */
  immediate?: boolean;
}

export interface LoopStatus {
  name: string;
  intervalMs: number;
  runs: number;
  failures: number;
  lastRunAt: number | null;
  lastError: string | null;
  running: boolean;
}

/**
 * Every periodic task of the hub, registered once by name, paced by its own timer, stopped
 * by one shared signal. A pass never overlaps the previous one of the same loop.
 */
export function createLoopRegistry(deps: { log: Logger }) {
  const loops = new Map<
    string,
    {
      spec: LoopSpec;
      status: LoopStatus;
      timer?: NodeJS.Timeout;
      pass?: Promise<void>;
      inFlight?: Promise<void>;
    }
  >();
  const stopper = new AbortController();
  let started = false;

  function schedule(name: string, delay: number) {
    const entry = loops.get(name)!;
    if (stopper.signal.aborted) return;
    entry.timer = setTimeout(() => {
      entry.pass = runOnce(name).finally(() => {
        entry.pass = undefined;
        schedule(name, entry.spec.intervalMs);
      });
    }, delay);
    entry.timer.unref();
  }

  /** Starts a pass unless one is in flight or the registry is stopped; `stop()` waits for it either way. */
  function runOnce(name: string): Promise<void> {
    const entry = loops.get(name);
    if (!entry || entry.status.running || stopper.signal.aborted) return Promise.resolve();
    const pass = runPass(name, entry).finally(() => {
      if (entry.inFlight === pass) entry.inFlight = undefined;
    });
    entry.inFlight = pass;
    return pass;
  }

  async function runPass(name: string, entry: { spec: LoopSpec; status: LoopStatus }): Promise<void> {
    entry.status.running = true;
    try {
      await entry.spec.run(stopper.signal);
      entry.status.lastError = null;
    } catch (error) {
      entry.status.failures += 1;
      entry.status.lastError = (error as Error).message ?? String(error);
      deps.log.error({ loop: name, err: error }, 'loop pass failed; it will run again at its next interval');
    } finally {
      entry.status.runs += 1;
      entry.status.lastRunAt = Date.now();
      entry.status.running = false;
    }
  }

  return {
    register(spec: LoopSpec): void {
      if (loops.has(spec.name)) throw new Error(`loop "${spec.name}" is registered twice`);
      const status: LoopStatus = {
        name: spec.name,
        intervalMs: spec.intervalMs,
        runs: 0,
        failures: 0,
        lastRunAt: null,
        lastError: null,
        running: false,
      };
      loops.set(spec.name, { spec, status });
      if (started) schedule(spec.name, spec.immediate ? 0 : spec.intervalMs);
    },

    start(): void {
      started = true;
      for (const { spec } of loops.values()) schedule(spec.name, spec.immediate ? 0 : spec.intervalMs);
    },

    /** Runs one pass now (tests, and "run now" buttons) without disturbing the schedule. */
    runNow: runOnce,

    list(): LoopStatus[] {
      return [...loops.values()].map((entry) => ({ ...entry.status }));
    },

    /** Aborts the shared signal and waits for passes in flight. */
    async stop(): Promise<void> {
      stopper.abort();
      for (const entry of loops.values()) clearTimeout(entry.timer);
      await Promise.allSettled([...loops.values()].flatMap((entry) => [entry.pass, entry.inFlight]));
    },
  };
}

export type LoopRegistry = ReturnType<typeof createLoopRegistry>;
