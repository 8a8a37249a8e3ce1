/**
 * The inference service: a pool of worker threads (worker.ts) fed from one bounded frame queue.
 * Cameras (or a node's cradle camera) submit pictures at their sampling rate; each worker takes the
 * newest picture of the stream served least recently, so a detector slower than the cameras drops
 * pictures instead of backlogging them, and memory stays at `perCamera × streams` pictures whatever
 * the workers do. A worker that does not answer within `runTimeoutMs` is replaced.
 */
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../log/logger.js';
import { createFrameQueue, frameQueueConfigSchema } from '../frames/queue.js';
import type { FromWorker, ModelOutput, RgbImage, ToWorker } from './messages.js';
import { BACKENDS, type Backend, type ModelInfo, type ModelName, modelRegistry } from './models.js';

export const inferenceConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    backend: z.enum(['auto', ...BACKENDS]).default('auto'),
    /** Worker threads; each holds its own copy of the models (about 140 MB with both loaded, measured on x86). */
    workers: z.number().int().min(1).max(4).default(1),
    queue: frameQueueConfigSchema.default({ perCamera: 2, maxAgeMs: 2000 }),
    /** A picture not answered in this time means a stuck worker: it is replaced. */
    runTimeoutMs: z.number().int().min(100).max(300_000).default(30_000),
  })
  .strict();
export type InferenceConfig = z.infer<typeof inferenceConfigSchema>;

export interface InferenceJob {
  /** The stream the picture comes from: pictures of one stream replace each other in the queue. */
  cameraId: string;
  /** When the picture was taken (the queue's clock). */
  at: number;
  model: ModelName;
  image: RgbImage;
}

export interface InferenceResult {
  job: InferenceJob;
  output: ModelOutput;
  ms: number;
}

interface ModelStats {
  inferences: number;
  errors: number;
  recentMs: number[];
}

export interface InferenceHealth {
  /** idle: nothing asked for inference yet, so no model is loaded (workers start on the first picture). */
  state: 'off' | 'idle' | 'starting' | 'ready' | 'failed';
  error: string | null;
  backend: Backend | null;
  workers: number;
  busyWorkers: number;
  restarts: number;
  models: (Pick<ModelInfo, 'name' | 'version' | 'description'> & {
    loaded: boolean;
    inferences: number;
    errors: number;
    msMean: number | null;
    msP95: number | null;
  })[];
  queue: ReturnType<ReturnType<typeof createFrameQueue>['stats']>;
}

const RECENT = 200;
const WORKER_URL = new URL(`./worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * Worker threads do not inherit the main thread's `--import tsx` loader: from the TypeScript sources
 * (tests, `npm run dev`) a worker registers tsx itself before importing its module.
 */
function startWorker(url: URL): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { eval: true });
}

export function createInferencePool(options: {
  config?: z.input<typeof inferenceConfigSchema>;
  models: ModelName[];
  clock: Clock;
  log: Logger;
  onResult: (result: InferenceResult) => void;
  /** Tests: a worker script speaking the same messages (a pinned one, say). */
  workerUrl?: URL;
}) {
  const config = inferenceConfigSchema.parse(options.config ?? {});
  const queue = createFrameQueue<InferenceJob>(options.clock, config.queue);
  const stats = new Map<ModelName, ModelStats>(
    options.models.map((name) => [name, { inferences: 0, errors: 0, recentMs: [] }]),
  );
  const abort = new AbortController();
  let state: InferenceHealth['state'] = config.enabled ? 'idle' : 'off';
  let starting: Promise<void> | undefined;
  let error: string | null = null;
  let backend: Backend | null = null;
  let busy = 0;
  let restarts = 0;
  const live = new Set<Worker>();

  function record(model: ModelName, ms: number | null) {
    const entry = stats.get(model);
    if (!entry) return;
    if (ms === null) {
      entry.errors += 1;
      return;
    }
    entry.inferences += 1;
    entry.recentMs.push(ms);
    if (entry.recentMs.length > RECENT) entry.recentMs.shift();
  }

  /** Starts a worker and waits for its models; rejects with the worker's reason. */
  function spawn(): Promise<Worker> {
    const worker = startWorker(options.workerUrl ?? WORKER_URL);
    live.add(worker);
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === 'ready') {
          backend = message.backend;
          options.log.info(
            { backend: message.backend, loadMs: Math.round(message.loadMs) },
            'inference worker ready',
          );
          cleanup();
          resolve(worker);
        } else if (message.type === 'init-failed') {
          cleanup();
          void worker.terminate();
          reject(new Error(message.message));
        }
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`inference worker exited while loading (code ${code})`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      worker.on('exit', () => live.delete(worker));
      worker.on('error', (e) => options.log.warn({ err: e.message }, 'inference worker error'));
      const init: ToWorker = { type: 'init', backend: config.backend, models: options.models };
      worker.postMessage(init);
    });
  }

  let nextId = 1;
  /** One picture on one worker; resolves null when the worker failed, timed out or died. */
  function runOn(
    worker: Worker,
    job: InferenceJob,
  ): Promise<{ output: ModelOutput; ms: number } | { failed: string }> {
    const id = nextId++;
    // A private copy: the sampler's Buffer may be a view into a shared pool, which must not be detached.
    const pixels = new Uint8Array(job.image.pixels);
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => finish({ failed: `no answer in ${config.runTimeoutMs} ms` }),
        config.runTimeoutMs,
      );
      const onMessage = (message: FromWorker) => {
        if (message.type === 'result' && message.id === id)
          finish({ output: message.output, ms: message.ms });
        else if (message.type === 'failed' && message.id === id) finish({ failed: message.message });
      };
      const onExit = (code: number) => finish({ failed: `worker exited (code ${code})` });
      const finish = (outcome: { output: ModelOutput; ms: number } | { failed: string }) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(outcome);
      };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      const message: ToWorker = {
        type: 'run',
        id,
        model: job.model,
        width: job.image.width,
        height: job.image.height,
        pixels,
      };
      worker.postMessage(message, [pixels.buffer]);
    });
  }

  async function serve(first: Worker) {
    let worker = first;
    while (!abort.signal.aborted) {
      let job: InferenceJob;
      try {
        job = await queue.take(abort.signal);
      } catch {
        return;
      }
      busy += 1;
      const outcome = await runOn(worker, job);
      busy -= 1;
      if ('failed' in outcome) {
        record(job.model, null);
        options.log.warn(
          { model: job.model, cameraId: job.cameraId, err: outcome.failed },
          'inference failed',
        );
        if (outcome.failed.startsWith('no answer') || outcome.failed.startsWith('worker exited')) {
          void worker.terminate();
          if (abort.signal.aborted) return;
          restarts += 1;
          try {
            worker = await spawn();
          } catch (e) {
            state = 'failed';
            error = (e as Error).message;
            return;
          }
        }
        continue;
      }
      record(job.model, outcome.ms);
      try {
        options.onResult({ job, output: outcome.output, ms: outcome.ms });
      } catch (e) {
        options.log.warn({ err: (e as Error).message }, 'inference result handler failed');
      }
    }
  }

  async function startWorkers(): Promise<void> {
    state = 'starting';
    try {
      const workers = await Promise.all(Array.from({ length: config.workers }, () => spawn()));
      if (abort.signal.aborted) return;
      state = 'ready';
      for (const worker of workers) void serve(worker);
    } catch (e) {
      state = 'failed';
      error = (e as Error).message;
      options.log.error({ err: error }, 'inference service could not start');
      for (const worker of live) void worker.terminate();
    }
  }

  return {
    config,
    /** Loads the models in every worker; the service reports `failed` (and drops nothing silently) if it cannot. */
    start(): Promise<void> {
      if (!config.enabled) return Promise.resolve();
      starting ??= startWorkers();
      return starting;
    },

    /** Hands a picture to the service; it may be dropped for a newer one (see the queue's stats). */
    submit(job: InferenceJob): void {
      if (state === 'off' || state === 'failed') return;
      if (state === 'idle') {
        state = 'starting';
        starting ??= startWorkers();
      }
      queue.push(job);
    },

    health(): InferenceHealth {
      const registry = modelRegistry();
      return {
        state,
        error,
        backend,
        workers: live.size,
        busyWorkers: busy,
        restarts,
        models: options.models.map((name) => {
          const info = registry.find((m) => m.name === name)!;
          const entry = stats.get(name)!;
          const sorted = [...entry.recentMs].sort((a, b) => a - b);
          return {
            name,
            version: info.version,
            description: info.description,
            loaded: state === 'ready',
            inferences: entry.inferences,
            errors: entry.errors,
            msMean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null,
            msP95: sorted.length
              ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!
              : null,
          };
        }),
        queue: queue.stats(),
      };
    },

    async close(): Promise<void> {
      abort.abort();
      await Promise.all([...live].map((worker) => worker.terminate()));
      live.clear();
      if (state !== 'off') state = 'off';
    },
  };
}

export type InferencePool = ReturnType<typeof createInferencePool>;
