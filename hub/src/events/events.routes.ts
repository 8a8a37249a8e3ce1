import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError } from '../http/errors.js';
import { validate } from '../http/validate.js';
import { type EventBus, type LiveEvent, TOPICS, type Topic } from './bus.js';
import { SEVERITIES } from './events.schema.js';
import type { SystemEventService } from './system-events.service.js';

/** Past this many unsent events a stream is too slow: it gets `resync` and is closed, never buffered without end. */
const MAX_PENDING = 256;

const streamQuery = z
  .object({
    topics: z
      .string()
      .optional()
      .transform((value, ctx) => {
        const names = value ? value.split(',').filter(Boolean) : [...TOPICS];
        const unknown = names.filter((name) => !(TOPICS as readonly string[]).includes(name));
        if (unknown.length)
          ctx.addIssue({ code: 'custom', message: `unknown topics: ${unknown.join(', ')}` });
        return new Set(names as Topic[]);
      }),
    lastEventId: z.string().max(64).optional(),
  })
  .strict();

const listQuery = z
  .object({
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    minSeverity: z.enum(SEVERITIES).optional(),
  })
  .strict();

/** The live stream's open connections, so shutdown can end them instead of waiting forever. */
export function createStreamRegistry() {
  const closers = new Set<() => void>();
  let closing = false;
  return {
    /** Set once shutdown began: a tab reconnecting over a kept-alive socket must not get a stream that hangs. */
    get closing() {
      return closing;
    },
    add(close: () => void) {
      closers.add(close);
      return () => closers.delete(close);
    },
    get size() {
      return closers.size;
    },
    closeAll() {
      closing = true;
      for (const close of closers) close();
    },
  };
}
export type StreamRegistry = ReturnType<typeof createStreamRegistry>;

export function eventRoutes(deps: {
  allow: AllowFn;
  bus: EventBus;
  systemEvents: SystemEventService;
  streams: StreamRegistry;
  config: Config['events'];
}) {
  const { allow, bus, systemEvents, streams, config } = deps;
  return new Hono<AppEnv>()
    .get(
      '/system-events',
      allow('viewer', 'System events, newest first'),
      validate('query', listQuery),
      (c) => c.json({ events: systemEvents.list(c.req.valid('query')) }),
    )
    .get(
      '/events/stream',
      allow('viewer', 'The one live stream per tab (SSE): topics, heartbeats, Last-Event-ID resume'),
      validate('query', streamQuery),
      (c) => {
        if (streams.closing)
          throw new AppError(
            503,
            'shutting_down',
            'The hub is restarting; reconnect in a moment.',
            undefined,
            {
              'Retry-After': '3',
            },
          );
        if (streams.size >= config.maxStreams)
          throw new AppError(503, 'too_many_streams', 'Too many open live streams; close a tab.', undefined, {
            'Retry-After': '10',
          });
        const { topics, lastEventId } = c.req.valid('query');
        const resumeFrom = c.req.header('last-event-id') ?? lastEventId;
        return streamSSE(c, async (stream) => {
          const pending: (LiveEvent | 'ping' | 'resync')[] = [];
          let wake: (() => void) | undefined;
          let closed = false;
          const notify = () => {
            wake?.();
            wake = undefined;
          };
          const close = () => {
            closed = true;
            notify();
          };
          const enqueue = (item: LiveEvent | 'ping' | 'resync') => {
            if (pending.length >= MAX_PENDING) {
              pending.length = 0;
              pending.push('resync');
              closed = true;
            } else pending.push(item);
            notify();
          };
          // Subscribe and read the replay in the same tick: nothing is missed, nothing doubled.
          const unsubscribe = bus.subscribe((event) => {
            if (topics.has(event.topic)) enqueue(event);
          });
          if (resumeFrom) {
            const replay = bus.since(resumeFrom);
            if (replay === null) pending.push('resync');
            else pending.push(...replay.filter((event) => topics.has(event.topic)));
          }
          const unregister = streams.add(close);
          const heartbeat = setInterval(() => enqueue('ping'), config.heartbeatSeconds * 1000);
          stream.onAbort(close);
          try {
            await stream.writeSSE({
              event: 'hello',
              data: JSON.stringify({ boot: bus.bootId, topics: [...topics] }),
              retry: 3000,
            });
            while (true) {
              while (pending.length > 0) {
                const item = pending.shift()!;
                if (item === 'ping') await stream.write(': ping\n\n');
                else if (item === 'resync') await stream.writeSSE({ event: 'resync', data: '{}' });
                else
                  await stream.writeSSE({ id: item.id, event: item.topic, data: JSON.stringify(item.data) });
              }
              if (closed) break;
              await new Promise<void>((resolve) => {
                wake = resolve;
              });
            }
          } finally {
            clearInterval(heartbeat);
            unsubscribe();
            unregister();
          }
        });
      },
    );
}
