/**
 * Request and answer over the inference pool, for a caller that needs the answer about one picture (the
 * photo job ranking a burst) rather than a stream of answers (camera events). Each request is a stream of
 * its own in the pool's queue, so a camera's frames never supersede it nor it them. The pool reports no
 * drop, failure or lost worker per picture, so every request has a deadline and resolves null at it: a
 * caller is never held longer than it said.
 */
import type { Clock } from '../../clock.js';
import type { ModelOutput, RgbImage } from './messages.js';
import type { ModelName } from './models.js';
import type { InferencePool, InferenceResult } from './pool.js';

export type AnalysisPool = Pick<InferencePool, 'config' | 'start' | 'submit' | 'health'>;

export function createPictureAnalyser(deps: {
  pool: AnalysisPool;
  clock: Clock;
  /** Marks this analyser's streams in the pool (`photos:`): results under it are its own. */
  streamPrefix: string;
  /**
   * How long a request waits for the workers to load their models (once per process, seconds on a Pi,
   * longer on a busy one) before it gives up: its own deadline only starts once they are ready.
   */
  startTimeoutMs?: number;
}) {
  const startTimeoutMs = deps.startTimeoutMs ?? 60_000;
  const pending = new Map<string, (output: ModelOutput | null) => void>();
  let next = 0;
  let closed = false;

  return {
    /**
     * The model's answer about the picture, or null when the service is off or failed, did not start in
     * `startTimeoutMs`, or gave no answer within `timeoutMs` of the picture's submission.
     */
    analyse(model: ModelName, image: RgbImage, timeoutMs: number): Promise<ModelOutput | null> {
      if (closed) return Promise.resolve(null);
      next += 1;
      const stream = `${deps.streamPrefix}${next}`;
      return new Promise((resolve) => {
        const settle = (output: ModelOutput | null) => {
          clearTimeout(timer);
          pending.delete(stream);
          resolve(output);
        };
        let timer = setTimeout(() => settle(null), startTimeoutMs);
        pending.set(stream, settle);
        // Workers start on the first picture; one submitted while they load would go stale in the queue.
        void deps.pool.start().then(() => {
          if (!pending.has(stream)) return;
          if (deps.pool.health().state !== 'ready') return settle(null);
          clearTimeout(timer);
          timer = setTimeout(() => settle(null), timeoutMs);
          // The queue drops pictures older than its `maxAgeMs` (a live frame's worth is short); this one is
          // worth its caller's wait, so it is dated to stay fresh until the deadline and no longer.
          const fresh = Math.max(0, timeoutMs - deps.pool.config.queue.maxAgeMs);
          deps.pool.submit({ cameraId: stream, at: deps.clock.now() + fresh, model, image });
        });
      });
    },

    /** Takes the pool's result if it answers this analyser (also a late one, then ignored); false if not. */
    onResult(result: InferenceResult): boolean {
      if (!result.job.cameraId.startsWith(deps.streamPrefix)) return false;
      pending.get(result.job.cameraId)?.(result.output);
      return true;
    },

    /** Resolves every waiting request with null at once: the pool is going away. */
    close(): void {
      closed = true;
      for (const settle of [...pending.values()]) settle(null);
    },
  };
}

export type PictureAnalyser = ReturnType<typeof createPictureAnalyser>;
