import { encodeWav, pcmFromS16le, SAMPLE_RATE } from '@hearth/hub/ai';
import type { AgentLog } from '../agent.js';
import { HubRefused, type NodeState } from '../hub-link.js';
import type { SensorDriver } from '../sensors/driver.js';
import { sleep, wakeup } from '../waiting.js';
import { captureArgs, superviseCapture } from './capture.js';
import type { AudioSensorConfig } from './config.js';
import { fetchActiveModel, uploadSnippet } from './hub-cry.js';
import { createScorer, type Decision } from './scorer.js';

const PER_MS = SAMPLE_RATE / 1000;
const MAX_LAG_HOPS = 3;

interface Snippet {
  wav: Uint8Array;
  recordedAt: number;
  reason: 'crying' | 'quiet';
}

/**
 * The microphone as a `crying` sensor (config.ts says what each setting does). Scoring runs on this node:
 * the hub only hands over the subject's active model file and takes the snippets. Positions are counted in
 * samples, not wall time, so a hop is exactly `hopMs` of audio however the pipe delivers it.
 */
export function crySensor(
  config: AudioSensorConfig,
  deps: { hub: NodeState; log: AgentLog; now?: () => number; random?: () => number },
): SensorDriver & { status(): ReturnType<typeof status> } {
  const { hub, log } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const hop = config.hopMs * PER_MS;
  const context = config.contextMs * PER_MS;
  const snippetLength = config.snippets.seconds * SAMPLE_RATE;
  const keep = Math.max(context, snippetLength);
  const scorer = createScorer(config);
  const stopping = new AbortController();
  const signal = stopping.signal;

  // This run of ffmpeg: the recent audio and positions in samples from its start.
  let recent = Buffer.alloc(0);
  let recentStart = 0;
  let total = 0;
  let nextHop = 0;
  let lastReport = Number.NEGATIVE_INFINITY;
  let snippetDue: number | null = null;
  let lastCrySnippet = 0;
  let nextQuiet = 0;
  /** The last hop that heard anything like crying: a quiet snippet must not reach back to it. */
  let lastHeard = Number.NEGATIVE_INFINITY;
  let pumping = false;
  let skipped = 0;

  let emit: Parameters<SensorDriver['start']>[0] | null = null;
  let capture: ReturnType<typeof superviseCapture> | null = null;
  let last: Decision | null = null;
  let hops = 0;
  let scoringMs = 0;
  let modelError: string | null = null;
  let warnedRefusal = '';
  const queue: Snippet[] = [];
  const snippets = { uploaded: 0, dropped: 0, refused: 0, lastError: null as string | null };
  const uploader = wakeup(signal);
  const loops: Promise<void>[] = [];

  const quietInterval = () => config.snippets.quietEverySeconds * SAMPLE_RATE * (0.5 + random());

  function restarted() {
    recent = Buffer.alloc(0);
    recentStart = 0;
    total = 0;
    nextHop = Math.max(context, hop);
    lastReport = Number.NEGATIVE_INFINITY;
    snippetDue = null;
    lastCrySnippet = 0;
    nextQuiet = quietInterval();
    lastHeard = Number.NEGATIVE_INFINITY;
  }

  const slice = (from: number, to: number) =>
    recent.subarray((from - recentStart) * 2, (to - recentStart) * 2);

  function keepSnippet(end: number, reason: Snippet['reason']) {
    if (!config.snippets.enabled || end < snippetLength) return;
    const lagMs = (total - end + snippetLength) / PER_MS;
    queue.push({
      wav: encodeWav(slice(end - snippetLength, end)),
      recordedAt: Math.round(now() - lagMs),
      reason,
    });
    while (queue.length > config.snippets.max) {
      queue.shift();
      snippets.dropped++;
    }
    uploader.wake();
  }

  function decided(decision: Decision, at: number) {
    last = decision;
    hops++;
    scoringMs += decision.ms;
    if (decision.changed || at - lastReport >= config.reportSeconds * SAMPLE_RATE) {
      lastReport = at;
      emit?.({
        at: now(),
        sensor: config.name,
        kind: 'crying',
        state: decision.crying ? 'crying' : 'quiet',
        confidence: decision.probability,
      });
    }
    if (decision.crying) {
      // The first snippet is centred on the moment crying was decided; later ones are the latest audio.
      if (decision.changed) snippetDue = at + snippetLength / 2;
      else if (snippetDue === null && at - lastCrySnippet >= config.snippets.everySeconds * SAMPLE_RATE)
        snippetDue = at;
      if (snippetDue !== null) lastCrySnippet = snippetDue;
    }
    if (decision.heard) lastHeard = at;
    else if (config.snippets.quietEverySeconds > 0 && at >= nextQuiet && at - snippetLength >= lastHeard) {
      keepSnippet(at, 'quiet');
      nextQuiet = at + quietInterval();
    }
  }

  function cutDue() {
    if (snippetDue === null || snippetDue > total) return;
    keepSnippet(snippetDue, 'crying');
    snippetDue = null;
  }

  /**
   * One hop per turn of the event loop, so the agent's sender and heartbeat are never held up for long.
   * Audio more than `MAX_LAG_HOPS` hops behind is skipped rather than queued: a node too slow for its
   * settings scores fewer hops (counted in `skipped`) instead of running ever further behind.
   */
  function pump() {
    pumping = false;
    if (nextHop > total || signal.aborted) return;
    decided(scorer.score(pcmFromS16le(slice(nextHop - context, nextHop))), nextHop);
    nextHop += hop;
    cutDue();
    if (nextHop <= total) {
      pumping = true;
      setImmediate(pump);
    }
  }

  function onPcm(pcm: Buffer) {
    recent = recent.length ? Buffer.concat([recent, pcm]) : Buffer.from(pcm);
    total += pcm.length / 2;
    const behind = Math.floor((total - nextHop) / hop);
    if (behind > MAX_LAG_HOPS) {
      nextHop += (behind - 1) * hop;
      skipped += behind - 1;
    }
    cutDue();
    const needed = Math.min(
      nextHop - context,
      total - keep,
      snippetDue === null ? total : snippetDue - snippetLength,
    );
    if (needed > recentStart) {
      recent = recent.subarray((needed - recentStart) * 2);
      recentStart = needed;
    }
    if (!pumping && nextHop <= total) {
      pumping = true;
      setImmediate(pump);
    }
  }

  async function modelLoop() {
    while (!signal.aborted) {
      const current = scorer.model();
      try {
        const answer = await fetchActiveModel(hub, {
          have: current?.sha256 ?? null,
          subject: config.subject,
          signal,
        });
        modelError = null;
        if (answer.kind === 'model') {
          scorer.setModel(answer.model);
          log.info(`${config.name}: household cry model v${answer.model.version} in use`);
        } else if (answer.kind === 'none' && current) {
          scorer.setModel(null);
          log.info(`${config.name}: no active cry model on the hub; the default detector scores`);
        } else if (answer.kind === 'refused') {
          modelError = `model v${answer.version ?? '?'} refused: ${answer.reason}`;
          // Asked again next time (damage in transit passes), said once.
          if (warnedRefusal !== modelError)
            log.warn(
              `${config.name}: ${modelError}; keeping ${current ? `v${current.version}` : 'the default detector'}`,
            );
          warnedRefusal = modelError;
        }
      } catch (error) {
        if (signal.aborted) return;
        modelError = (error as Error).message;
        // No subject watched by this node (any more): its model is not this audio's.
        if (error instanceof HubRefused && error.code === 'no_subject' && current) scorer.setModel(null);
      }
      await sleep(config.modelCheckSeconds * 1000, signal);
    }
  }

  async function uploadLoop() {
    let failures = 0;
    while (!signal.aborted) {
      const next = queue[0];
      if (!next) {
        await uploader.wait();
        continue;
      }
      const done = () => {
        const index = queue.indexOf(next);
        if (index >= 0) queue.splice(index, 1);
      };
      try {
        await uploadSnippet(hub, next, { subject: config.subject, signal });
        done();
        snippets.uploaded++;
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        snippets.lastError = (error as Error).message;
        if (error instanceof HubRefused) {
          // The same bytes cannot succeed (no subject yet, a refused clip): drop them, not the queue.
          done();
          snippets.refused++;
        } else await sleep(Math.min(60_000, 2_000 * 2 ** failures++), signal);
      }
    }
  }

  function status() {
    const model = scorer.model();
    return {
      scorer: model ? `model v${model.version}` : 'default detector',
      version: model?.version ?? null,
      modelError,
      hops,
      skipped,
      msPerHop: hops ? scoringMs / hops : null,
      last,
      snippets: { pending: queue.length, ...snippets },
      capture: capture?.health() ?? { running: false, restarts: 0, lastError: null },
    };
  }

  return {
    name: config.name,
    type: 'audio',
    start(sink) {
      emit = sink;
      capture = superviseCapture({
        command: config.ffmpeg,
        args: captureArgs(config.input ?? ['-f', 'alsa', '-i', config.device]),
        restartMs: config.restartMs,
        onStart: restarted,
        onPcm,
      });
      loops.push(modelLoop(), uploadLoop());
    },
    async stop() {
      stopping.abort();
      emit = null;
      await Promise.allSettled([capture?.stop(), ...loops]);
    },
    health() {
      const s = status();
      const parts = [
        s.scorer,
        s.msPerHop === null
          ? 'no audio yet'
          : `${hops} hops at ${s.msPerHop.toFixed(0)} ms${skipped ? `, ${skipped} skipped` : ''}`,
        `snippets ${s.snippets.uploaded} sent, ${s.snippets.dropped} dropped`,
        ...(s.capture.restarts ? [`ffmpeg restarted ${s.capture.restarts}×`] : []),
        ...(s.capture.lastError ? [s.capture.lastError] : []),
        ...(modelError ? [modelError] : []),
      ];
      return {
        name: config.name,
        kind: 'audio',
        healthy: s.capture.running,
        detail: parts.join('; ').slice(0, 200),
      };
    },
    status,
  };
}
