import { eq } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import type { SystemEventService } from '../events/system-events.service.js';
import { AppError, notFound } from '../http/errors.js';
import { issuesOf } from '../http/validate.js';
import type { Logger } from '../log/logger.js';
import { settings } from '../settings/settings.schema.js';
import {
  type ChannelConfig,
  type ChannelInput,
  channelConfigSchema,
  channelListSchema,
  REDACTED,
  redactChannel,
  secretField,
} from './channels.js';
import { type ChannelStatus, createNotifier, type NotifierEvent, type RetryTimings } from './dispatcher.js';
import type { Notice } from './notice.js';
import type { SendOptions } from './senders.js';

/** The `settings` row holding the channel list (one JSON array). */
export const NOTIFY_SETTINGS_KEY = 'notifyChannels';
/** At most one "queue full" system event per channel in this time; the count is in each. */
const DROP_EVENT_EVERY_MS = 10 * 60_000;

export interface NotifyView {
  /** As configured, secrets shown as `***` (sent back unchanged, `***` keeps the stored secret). */
  channels: ChannelConfig[];
  status: ChannelStatus[];
}

function invalid(issues: { path: string; message: string }[]): AppError {
  return new AppError(400, 'invalid_input', 'Invalid alert channels.', { issues });
}

/**
 * The household's outbound alert channels: their configuration (in `settings`, key `notifyChannels`),
 * the notifier that delivers to them, and what the UI is told (`notify` topic, system events).
 */
export function createNotifyService(deps: {
  db: Db;
  clock: Clock;
  bus: EventBus;
  systemEvents: SystemEventService;
  log: Logger;
  retry?: Partial<RetryTimings>;
  queueLimit?: number;
  send?: (channel: ChannelConfig, notice: Notice, options: SendOptions) => Promise<void>;
}) {
  const { db, clock, bus, systemEvents, log } = deps;
  const lastDropEvent = new Map<string, number>();

  /** Each stored channel checked again: one that no longer passes is left out (and logged), not the rest. */
  function load(): ChannelConfig[] {
    const row = db.select().from(settings).where(eq(settings.key, NOTIFY_SETTINGS_KEY)).get();
    if (!row || !Array.isArray(row.value)) return [];
    const loaded: ChannelConfig[] = [];
    for (const stored of row.value) {
      const parsed = channelConfigSchema.safeParse(stored);
      if (parsed.success) loaded.push(parsed.data);
      else log.warn({ issues: issuesOf(parsed.error) }, 'a stored alert channel is invalid and is not used');
    }
    return loaded;
  }
  let channels = load();

  const nameOf = (id: string) => channels.find((channel) => channel.id === id)?.name ?? id;

  function onEvent(event: NotifierEvent): void {
    if (event.type === 'status') {
      bus.publish('notify', { change: 'status', status: event.status });
    } else if (event.type === 'gave_up') {
      systemEvents.record({
        kind: 'notify.failed',
        severity: 'error',
        subject: `notify:${event.channelId}`,
        message: `Alert channel "${nameOf(event.channelId)}" could not deliver a notice: ${event.error}`,
        details: { channelId: event.channelId, noticeId: event.noticeId, error: event.error },
      });
    } else {
      const last = lastDropEvent.get(event.channelId) ?? Number.NEGATIVE_INFINITY;
      if (clock.now() - last < DROP_EVENT_EVERY_MS) return;
      lastDropEvent.set(event.channelId, clock.now());
      systemEvents.record({
        kind: 'notify.dropped',
        severity: 'warning',
        subject: `notify:${event.channelId}`,
        message: `Alert channel "${nameOf(event.channelId)}" is not keeping up: its oldest waiting notices were dropped (${event.dropped} so far).`,
        details: { channelId: event.channelId, dropped: event.dropped },
      });
    }
  }

  const notifier = createNotifier({
    channels: () => channels,
    log,
    clock,
    onEvent,
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(deps.queueLimit ? { queueLimit: deps.queueLimit } : {}),
    ...(deps.send ? { send: deps.send } : {}),
  });

  function view(): NotifyView {
    return { channels: channels.map(redactChannel), status: notifier.status() };
  }

  /** `***` in a secret field means "the secret stored for this channel". */
  function keepSecrets(input: ChannelInput[]): ChannelInput[] {
    return input.map((channel, index) => {
      const field = secretField(channel.type);
      const value = (channel as Record<string, unknown>)[field];
      if (value !== REDACTED) return channel;
      const stored = channels.find((old) => old.id === channel.id && old.type === channel.type) as
        | Record<string, unknown>
        | undefined;
      if (stored?.[field] === undefined)
        throw invalid([
          {
            path: `channels.${index}.${field}`,
            message: `${REDACTED} keeps a stored ${field}, but this channel has none: type the ${field}, or leave it out`,
          },
        ]);
      return { ...channel, [field]: stored[field] } as ChannelInput;
    });
  }

  return {
    list: view,

    /** Replaces the whole list (validated as a whole, written in one statement), then tells the UI. */
    replace(input: ChannelInput[]): NotifyView {
      const parsed = channelListSchema.safeParse(keepSecrets(input));
      if (!parsed.success)
        throw invalid(issuesOf(parsed.error).map((issue) => ({ ...issue, path: `channels.${issue.path}` })));
      const now = new Date(clock.now());
      db.insert(settings)
        .values({ key: NOTIFY_SETTINGS_KEY, value: parsed.data, updatedAt: now })
        .onConflictDoUpdate({ target: settings.key, set: { value: parsed.data, updatedAt: now } })
        .run();
      channels = parsed.data;
      const enabled = channels.filter((channel) => channel.enabled);
      systemEvents.record({
        kind: 'notify.channels.changed',
        severity: 'info',
        subject: 'notify',
        message: `Alert channels changed: ${channels.length} configured, ${enabled.length} switched on.`,
        details: { channels: channels.map(({ id, type, enabled }) => ({ id, type, enabled })) },
      });
      bus.publish('notify', { change: 'channels' });
      return view();
    },

    /** Sends a `test` notice on one channel now (enabled or not) and says how it went. */
    async test(id: string): Promise<{ ok: true } | { ok: false; error: string }> {
      if (!channels.some((channel) => channel.id === id)) throw notFound('Alert channel');
      return notifier.sendTest(id);
    },

    /** Queues a notice for every enabled channel it is loud enough for; returns at once. */
    notify: notifier.notify,
    status: notifier.status,

    /**
     * What an edge node needs to send the dead-man notice itself: the enabled webhook and ntfy
     * channels, secrets included. Only for the node's authenticated link, never for the UI.
     */
    deadManChannels(): ChannelConfig[] {
      return channels.filter((channel) => channel.enabled && channel.type !== 'mqtt');
    },

    stop: notifier.stop,
  };
}

export type NotifyService = ReturnType<typeof createNotifyService>;
