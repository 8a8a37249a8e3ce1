import { eq, inArray } from 'drizzle-orm';
import { users } from '../accounts/accounts.schema.js';
import type { Clock } from '../clock.js';
import { createSealer } from '../config/sealed.js';
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
/** A stored secret field starting with this is sealed (`config/sealed.ts`); older rows hold plain text. */
const SEALED = 'sealed:';
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
  personalize?: (channel: ChannelConfig, notice: Notice) => Notice;
  /** Where `channels.key` seals the channels' secrets in the database (so its backups hold none in clear). */
  secretsDir: string;
}) {
  const { db, clock, bus, systemEvents, log } = deps;
  const sealer = createSealer(deps.secretsDir, 'channels.key');

  /** The channel as stored: its secret, if any, sealed. */
  function sealed(channel: ChannelConfig): Record<string, unknown> {
    const field = secretField(channel.type);
    const value = (channel as Record<string, unknown>)[field];
    return typeof value === 'string' ? { ...channel, [field]: `${SEALED}${sealer.seal(value)}` } : channel;
  }

  /** A stored channel with its secret opened; one sealed under another key (a database without its secrets folder) is left out. */
  function unsealed(stored: unknown): unknown {
    if (!stored || typeof stored !== 'object') return stored;
    const channel = stored as Record<string, unknown>;
    const field = secretField(channel.type as ChannelConfig['type']);
    const value = channel[field];
    if (typeof value !== 'string' || !value.startsWith(SEALED)) return stored;
    return { ...channel, [field]: sealer.unseal(value.slice(SEALED.length)) };
  }
  const lastDropEvent = new Map<string, number>();

  /** Each stored channel checked again: one that no longer passes is left out (and logged), not the rest. */
  function load(): ChannelConfig[] {
    const row = db.select().from(settings).where(eq(settings.key, NOTIFY_SETTINGS_KEY)).get();
    if (!row || !Array.isArray(row.value)) return [];
    const loaded: ChannelConfig[] = [];
    for (const stored of row.value) {
      let opened: unknown;
      try {
        opened = unsealed(stored);
      } catch {
        log.warn(
          { channel: (stored as { id?: unknown }).id },
          'an alert channel’s secret was sealed with another key (database restored without its secrets folder?); the channel is not used until its secret is entered again',
        );
        continue;
      }
      const parsed = channelConfigSchema.safeParse(opened);
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
    ...(deps.personalize ? { personalize: deps.personalize } : {}),
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
      const acting = new Set(
        db
          .select({ id: users.id })
          .from(users)
          .where(inArray(users.role, ['owner', 'member']))
          .all()
          .map((user) => user.id),
      );
      const strangers = parsed.data.flatMap((channel, index) =>
        channel.memberId !== undefined && !acting.has(channel.memberId)
          ? [{ path: `channels.${index}.memberId`, message: 'not a member who can acknowledge alerts' }]
          : [],
      );
      if (strangers.length) throw invalid(strangers);
      const now = new Date(clock.now());
      const stored = parsed.data.map(sealed);
      db.insert(settings)
        .values({ key: NOTIFY_SETTINGS_KEY, value: stored, updatedAt: now })
        .onConflictDoUpdate({ target: settings.key, set: { value: stored, updatedAt: now } })
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
