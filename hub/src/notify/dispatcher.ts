import { randomUUID } from 'node:crypto';
import pRetry from 'p-retry';
import type { ChannelConfig } from './channels.js';
import { meetsSeverity, type Notice, noticeSchema } from './notice.js';
import { DeliveryError, type SendOptions, sendNotice } from './senders.js';

/** How one channel is doing, for the UI: shown next to each channel, live on the `notify` topic. */
export interface ChannelStatus {
  id: string;
  lastAttemptAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  /** Failed attempts since the last success (0 when fine). */
  consecutiveFailures: number;
  /** Notices waiting or being delivered. */
  pending: number;
  /** Notices dropped because the queue was full, since the hub started. */
  dropped: number;
  /** Notices given up on (final refusal or out of retry time), since the hub started. */
  failed: number;
}

export type NotifierEvent =
  | { type: 'status'; status: ChannelStatus }
  | { type: 'gave_up'; channelId: string; noticeId: string; error: string }
  | { type: 'dropped'; channelId: string; noticeId: string; dropped: number };

export interface NotifierLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface RetryTimings {
  /** First pause after a failure (default 2 s); each next one doubles, jittered ×1–2. */
  minDelayMs: number;
  /** Longest pause between attempts (default 2 min). */
  maxDelayMs: number;
  /** How long one notice is retried before it is given up (default 10 min). */
  maxRetryTimeMs: number;
  /** One attempt's limit (default 10 s). */
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryTimings = {
  minDelayMs: 2000,
  maxDelayMs: 120_000,
  maxRetryTimeMs: 10 * 60_000,
  attemptTimeoutMs: 10_000,
};

export interface NotifierOptions {
  /** The channels as configured now; read on every notice and every attempt (cheap: a cached list). */
  channels: () => ChannelConfig[];
  log: NotifierLog;
  clock?: { now(): number };
  retry?: Partial<RetryTimings>;
  /** Notices waiting per channel before the oldest is dropped (default 100). */
  queueLimit?: number;
  onEvent?: (event: NotifierEvent) => void;
  /** The notice as one channel carries it (a member's own acknowledge link); default: as given. */
  personalize?: (channel: ChannelConfig, notice: Notice) => Notice;
  /** The delivery itself (default: the real senders). */
  send?: (channel: ChannelConfig, notice: Notice, options: SendOptions) => Promise<void>;
}

/** The channel was switched off or removed while a notice waited: not a failure, the notice is just not sent. */
class ChannelGone extends DeliveryError {
  constructor() {
    super('channel disabled or removed', true);
  }
}

interface Lane {
  id: string;
  waiting: Notice[];
  current: Notice | null;
  status: ChannelStatus;
  running: Promise<void> | null;
}

const emptyStatus = (id: string): ChannelStatus => ({
  id,
  lastAttemptAt: null,
  lastSuccessAt: null,
  lastError: null,
  consecutiveFailures: 0,
  pending: 0,
  dropped: 0,
  failed: 0,
});

/**
 * Delivers notices to the household's channels. `notify()` only queues and returns: each channel has
 * its own bounded queue and loop, delivering in order and retrying with exponential backoff and
 * jitter (p-retry) for a bounded time, so a slow or dead channel delays neither the caller nor the
 * other channels. Queues live in memory: the incident log, not this queue, is what survives a restart.
 */
export function createNotifier(options: NotifierOptions) {
  const { log } = options;
  const clock = options.clock ?? { now: () => Date.now() };
  const retry: RetryTimings = { ...DEFAULT_RETRY, ...options.retry };
  const queueLimit = options.queueLimit ?? 100;
  const send = options.send ?? sendNotice;
  const lanes = new Map<string, Lane>();
  const stopping = new AbortController();

  function lane(id: string): Lane {
    let found = lanes.get(id);
    if (!found) {
      found = { id, waiting: [], current: null, status: emptyStatus(id), running: null };
      lanes.set(id, found);
    }
    return found;
  }

  function emit(event: NotifierEvent): void {
    try {
      options.onEvent?.(event);
    } catch (error) {
      log.warn({ err: error }, 'notify event listener failed');
    }
  }

  function changed(lane: Lane): void {
    if (stopping.signal.aborted) return;
    lane.status.pending = lane.waiting.length + (lane.current ? 1 : 0);
    emit({ type: 'status', status: { ...lane.status } });
  }

  function configured(id: string): ChannelConfig | undefined {
    return options.channels().find((channel) => channel.id === id);
  }

  /** One attempt, with the status kept up to date. */
  async function attempt(lane: Lane, channel: ChannelConfig, notice: Notice): Promise<void> {
    lane.status.lastAttemptAt = clock.now();
    try {
      await send(channel, notice, { timeoutMs: retry.attemptTimeoutMs, signal: stopping.signal });
    } catch (error) {
      if (stopping.signal.aborted) throw error;
      lane.status.consecutiveFailures += 1;
      lane.status.lastError = error instanceof Error ? error.message : String(error);
      changed(lane);
      throw error;
    }
    lane.status.lastSuccessAt = clock.now();
    lane.status.lastError = null;
    lane.status.consecutiveFailures = 0;
  }

  async function deliver(lane: Lane, notice: Notice): Promise<void> {
    try {
      await pRetry(
        async () => {
          const channel = configured(lane.id);
          // Switched off or removed while the notice waited: it is not sent.
          if (!channel?.enabled) throw new ChannelGone();
          await attempt(lane, channel, notice);
        },
        {
          retries: Number.POSITIVE_INFINITY,
          factor: 2,
          minTimeout: retry.minDelayMs,
          maxTimeout: retry.maxDelayMs,
          maxRetryTime: retry.maxRetryTimeMs,
          randomize: true,
          signal: stopping.signal,
          shouldRetry: ({ error }) => !(error instanceof DeliveryError && error.final),
        },
      );
    } catch (error) {
      if (stopping.signal.aborted) return;
      if (error instanceof ChannelGone) {
        log.info({ channel: lane.id, notice: notice.id }, 'alert channel switched off; notice not sent');
        return;
      }
      const reason = error instanceof Error ? error.message : String(error);
      lane.status.failed += 1;
      log.warn({ channel: lane.id, notice: notice.id, err: reason }, 'alert notice not delivered; gave up');
      emit({ type: 'gave_up', channelId: lane.id, noticeId: notice.id, error: reason });
    }
  }

  async function run(lane: Lane): Promise<void> {
    // Never in the caller's turn: notify() has returned before the first byte is sent.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (!stopping.signal.aborted) {
      const notice = lane.waiting.shift();
      if (!notice) break;
      lane.current = notice;
      await deliver(lane, notice);
      lane.current = null;
      changed(lane);
    }
    lane.running = null;
  }

  return {
    /** Queues `notice` for every enabled channel loud enough for it, and returns at once. */
    notify(notice: Notice): void {
      if (stopping.signal.aborted) return;
      // A malformed notice (a bug in the caller) is refused here, not retried for ten minutes later.
      const checked = noticeSchema.safeParse(notice);
      if (!checked.success) {
        log.warn({ notice: notice?.id, issues: checked.error.issues }, 'invalid alert notice not queued');
        return;
      }
      let channels: ChannelConfig[];
      try {
        channels = options.channels();
      } catch (error) {
        log.warn({ err: error }, 'alert channels unreadable; notice not queued');
        return;
      }
      for (const channel of channels) {
        if (!channel.enabled || !meetsSeverity(notice.severity, channel.minSeverity)) continue;
        const target = lane(channel.id);
        target.waiting.push(options.personalize ? options.personalize(channel, notice) : notice);
        if (target.waiting.length > queueLimit) {
          const dropped = target.waiting.shift()!;
          target.status.dropped += 1;
          log.warn(
            { channel: channel.id, notice: dropped.id, dropped: target.status.dropped },
            'alert channel queue full; oldest notice dropped',
          );
          emit({
            type: 'dropped',
            channelId: channel.id,
            noticeId: dropped.id,
            dropped: target.status.dropped,
          });
        }
        changed(target);
        target.running ??= run(target);
      }
    },

    /** One delivery of a `test` notice on `channelId` (enabled or not), now, without retries. */
    async sendTest(
      channelId: string,
      notice?: Partial<Notice>,
    ): Promise<{ ok: true } | { ok: false; error: string }> {
      const channel = configured(channelId);
      if (!channel) return { ok: false, error: 'no such channel' };
      const test: Notice = {
        id: randomUUID(),
        kind: 'test',
        severity: 'info',
        title: 'Hearth test notice',
        message: `If you can read this, the alert channel "${channel.name}" works.`,
        at: clock.now(),
        ...notice,
      };
      const target = lane(channelId);
      try {
        await attempt(target, channel, test);
        changed(target);
        return { ok: true };
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    },

    /** Every configured channel's status, in configuration order. */
    status(): ChannelStatus[] {
      return options.channels().map((channel) => {
        const found = lanes.get(channel.id);
        if (!found) return emptyStatus(channel.id);
        return { ...found.status, pending: found.waiting.length + (found.current ? 1 : 0) };
      });
    },

    /** Ends every loop (an attempt in flight is aborted); notices still queued are not sent. */
    async stop(): Promise<void> {
      stopping.abort();
      await Promise.all([...lanes.values()].map((entry) => entry.running));
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
