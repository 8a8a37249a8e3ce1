import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { tooManyRequests } from '../http/errors.js';
import { validate } from '../http/validate.js';
import {
  commandResultSchema,
  enrolRequestSchema,
  heartbeatSchema,
  NODE_COMMAND_KINDS,
  nodeCommandArgsSchema,
  readingBatchSchema,
  readingKindSchema,
} from '../protocol/node.js';
import type { NodeSegments } from './node-segments.js';
import type { NodeService } from './nodes.service.js';

const idParam = z.object({ id: z.coerce.number().int().positive() });
/** The longest a node's poll is held open (under common proxy and NAT idle timeouts). */
const MAX_WAIT_SECONDS = 30;

const newCommandSchema = nodeCommandArgsSchema
  .extend({
    kind: z.enum(NODE_COMMAND_KINDS),
    expiresInSeconds: z.number().int().min(5).max(3600).optional(),
  })
  .strict();

export function nodeRoutes(deps: { allow: AllowFn; nodes: NodeService }) {
  const { allow, nodes } = deps;
  return new Hono<AppEnv>()
    .get('/', allow('viewer', 'Edge nodes with their status and latest heartbeat'), (c) =>
      c.json({ nodes: nodes.list() }),
    )
    .post(
      '/codes',
      allow('owner', 'A one-time enrolment code for `hearth-node enrol` (15 minutes, single use)'),
      validate('json', z.object({ name: z.string().trim().min(1).max(64) }).strict()),
      (c) => c.json(nodes.createCode({ name: c.req.valid('json').name, createdBy: c.get('user')?.id }), 201),
    )
    .get(
      '/:id',
      allow('viewer', 'One node: heartbeat, recent commands, newest reading of each kind'),
      validate('param', idParam),
      (c) => c.json(nodes.detail(c.req.valid('param').id)),
    )
    .get(
      '/:id/readings',
      allow('viewer', "A node's readings in a time range (ms), oldest first"),
      validate('param', idParam),
      validate(
        'query',
        z
          .object({
            kind: readingKindSchema.optional(),
            from: z.coerce.number().int().nonnegative().default(0),
            to: z.coerce.number().int().positive().default(8_640_000_000_000_000),
            limit: z.coerce.number().int().min(1).max(10_000).default(1000),
          })
          .strict(),
      ),
      (c) => c.json({ readings: nodes.readings(c.req.valid('param').id, c.req.valid('query')) }),
    )
    .post(
      '/:id/commands',
      allow('member', 'Sends a node a command: rock, stop_rocking, capture_photo, check_in, restart'),
      validate('param', idParam),
      validate('json', newCommandSchema),
      (c) => {
        const { kind, expiresInSeconds, ...args } = c.req.valid('json');
        const command = nodes.queueCommand(
          c.req.valid('param').id,
          { kind, args, expiresInSeconds },
          c.get('user')?.id,
        );
        return c.json({ command }, 201);
      },
    );
}

export function deviceNodeRoutes(deps: { allow: AllowFn; nodes: NodeService; nodeSegments: NodeSegments }) {
  const { allow, nodes } = deps;
  // Codes are 8 characters from 30: guessing is hopeless, but a flood is still refused early.
  const enrolLimiter = new RateLimiterMemory({ points: 10, duration: 60 });
  return new Hono<AppEnv>()
    .post(
      '/enrol',
      allow('public', 'A node exchanges a one-time code for its device token'),
      async (c, next) => {
        try {
          await enrolLimiter.consume(getConnInfo(c).remote.address ?? 'unknown');
        } catch (error) {
          if (!(error instanceof RateLimiterRes)) throw error;
          throw tooManyRequests(
            Math.ceil(error.msBeforeNext / 1000),
            'Too many enrolment attempts; wait a minute.',
          );
        }
        await next();
      },
      validate('json', enrolRequestSchema),
      (c) => c.json(nodes.enrol(c.req.valid('json')), 201),
    )
    .post(
      '/heartbeat',
      allow('device', 'A node says it is alive, with its health'),
      validate('json', heartbeatSchema),
      (c) => c.json(nodes.heartbeat(c.get('device')!.id, c.req.valid('json'), getConnInfo(c).remote.address)),
    )
    .post(
      '/readings',
      allow('device', 'A node sends readings (batched, numbered); the answer acknowledges in order'),
      validate('json', readingBatchSchema),
      (c) => {
        const { readings, droppedThrough } = c.req.valid('json');
        return c.json(nodes.ingest(c.get('device')!.id, readings, droppedThrough));
      },
    )
    .get(
      '/commands',
      allow('device', "A node's long poll for commands (`wait` seconds, at most 30)"),
      validate(
        'query',
        z.object({ wait: z.coerce.number().int().min(0).max(MAX_WAIT_SECONDS).default(0) }).strict(),
      ),
      async (c) =>
        c.json({
          commands: await nodes.takeCommands(
            c.get('device')!.id,
            c.req.valid('query').wait * 1000,
            c.req.raw.signal,
          ),
        }),
    )
    .post(
      '/segments',
      allow(
        'device',
        'A node reports a segment it placed on the NAS (videos/…); the hub reads and indexes it',
      ),
      validate('json', z.object({ relPath: z.string().min(1).max(300) }).strict()),
      async (c) => {
        const { segment, created } = await deps.nodeSegments.report(
          c.get('device')!.id,
          c.req.valid('json').relPath,
        );
        return c.json({ segment }, created ? 201 : 200);
      },
    )
    .post(
      '/commands/:id/result',
      allow('device', 'A node reports how a command ended'),
      validate('param', idParam),
      validate('json', commandResultSchema),
      (c) =>
        c.json({
          command: nodes.finishCommand(c.get('device')!.id, c.req.valid('param').id, c.req.valid('json')),
        }),
    );
}
