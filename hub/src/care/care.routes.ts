import { Hono } from 'hono';
import { z } from 'zod';
import type { AllowFn } from '../http/access.js';
import type { AppEnv } from '../http/env.js';
import { AppError } from '../http/errors.js';
import { validate } from '../http/validate.js';
import { ALERT_SEVERITIES } from './care.schema.js';
import { type CareService, newRuleSchema, subjectPatchSchema, subjectSchema } from './care.service.js';
import { type HistoryService, historyCsv } from './history.js';

const idParam = z.object({ id: z.coerce.number().int().positive() });

/** `/api/subjects`: the people watched over, with their alert rules and who follows them. */
export function subjectRoutes(deps: { allow: AllowFn; care: CareService; history: HistoryService }) {
  const { allow, care, history } = deps;
  return new Hono<AppEnv>()
    .get('/', allow('viewer', 'The people (and pets) watched over, with their devices and followers'), (c) =>
      c.json({ subjects: care.listSubjects() }),
    )
    .post(
      '/',
      allow('member', 'Adds a person; `defaults` (true) gives them the rules for their kind'),
      validate('json', subjectSchema.extend({ defaults: z.boolean().default(true) }).strict()),
      (c) => {
        const { defaults, ...subject } = c.req.valid('json');
        return c.json({ subject: care.createSubject(subject, { defaults }) }, 201);
      },
    )
    .get('/:id', allow('viewer', 'One subject with its rules'), validate('param', idParam), (c) => {
      const { id } = c.req.valid('param');
      return c.json({ subject: care.subject(id), rules: care.rules(id) });
    })
    .patch(
      '/:id',
      allow('member', 'Changes a subject: name, notes, quiet hours, linked nodes and cameras'),
      validate('param', idParam),
      validate('json', subjectPatchSchema),
      (c) => c.json({ subject: care.updateSubject(c.req.valid('param').id, c.req.valid('json')) }),
    )
    .delete(
      '/:id',
      allow('member', 'Removes a subject and its rules (incidents stay)'),
      validate('param', idParam),
      (c) => {
        care.removeSubject(c.req.valid('param').id);
        return c.body(null, 204);
      },
    )
    .put(
      '/:id/follow',
      allow('viewer', 'Follow a subject (its alerts reach you) or stop following'),
      validate('param', idParam),
      validate('json', z.object({ following: z.boolean() }).strict()),
      (c) =>
        c.json({
          subject: care.follow(c.req.valid('param').id, c.get('user')!.id, c.req.valid('json').following),
        }),
    )
    .get(
      '/:id/history',
      allow(
        'viewer',
        "A reading kind's history across the subject's nodes: points at a step, as JSON or CSV",
      ),
      validate('param', idParam),
      validate(
        'query',
        z
          .object({
            kind: z.string().regex(/^[a-z][a-z_]{0,31}$/),
            sensor: z.string().min(1).max(64).optional(),
            deviceId: z.coerce.number().int().positive().optional(),
            from: z.coerce.number().int().nonnegative(),
            to: z.coerce.number().int().positive(),
            /** ms; one of the steps history.ts offers, or chosen for maxPoints. */
            step: z.coerce.number().int().positive().optional(),
            maxPoints: z.coerce.number().int().min(10).max(5000).default(500),
            format: z.enum(['json', 'csv']).default('json'),
          })
          .strict()
          .refine((q) => q.to > q.from, 'to must be after from')
          .refine((q) => q.to - q.from <= 800 * 86_400_000, 'at most 800 days at once')
          .refine(
            (q) => q.step === undefined || (q.to - q.from) / q.step <= 100_000,
            'too many points: a larger step',
          ),
      ),
      (c) => {
        const { id } = c.req.valid('param');
        const query = c.req.valid('query');
        const subject = care.subject(id);
        if (query.deviceId !== undefined && !subject.deviceIds.includes(query.deviceId))
          throw new AppError(400, 'invalid_request', 'That node does not watch this subject.');
        const result = history.query({
          deviceIds: query.deviceId !== undefined ? [query.deviceId] : subject.deviceIds,
          kind: query.kind,
          sensor: query.sensor,
          from: query.from,
          to: query.to,
          step: query.step,
          maxPoints: query.maxPoints,
        });
        if (query.format === 'json') return c.json(result);
        const name = `${subject.name.replace(/[^\p{L}\p{N}_-]+/gu, '-')}-${query.kind}.csv`;
        return c.body(historyCsv(result.points), 200, {
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="${encodeURIComponent(name)}"; filename*=UTF-8''${encodeURIComponent(name)}`,
        });
      },
    )
    .get(
      '/:id/rules',
      allow('viewer', "A subject's alert rules with their state"),
      validate('param', idParam),
      (c) => c.json({ rules: care.rules(c.req.valid('param').id) }),
    )
    .post(
      '/:id/rules',
      allow('member', 'Adds an alert rule: threshold, state, absence or check_in'),
      validate('param', idParam),
      validate('json', newRuleSchema),
      (c) => c.json({ rule: care.addRule(c.req.valid('param').id, c.req.valid('json')) }, 201),
    );
}

/** `/api/rules/:id`: one rule, edited or removed. */
export function ruleRoutes(deps: { allow: AllowFn; care: CareService }) {
  const { allow, care } = deps;
  return new Hono<AppEnv>()
    .put(
      '/:id',
      allow('member', 'Replaces an alert rule (a changed condition starts over)'),
      validate('param', idParam),
      validate('json', newRuleSchema),
      (c) => c.json({ rule: care.updateRule(c.req.valid('param').id, c.req.valid('json')) }),
    )
    .delete('/:id', allow('member', 'Removes an alert rule'), validate('param', idParam), (c) => {
      care.removeRule(c.req.valid('param').id);
      return c.body(null, 204);
    });
}

/** `/api/incidents`: the incident log, acknowledgement and notes. */
export function incidentRoutes(deps: { allow: AllowFn; care: CareService }) {
  const { allow, care } = deps;
  return new Hono<AppEnv>()
    .get(
      '/',
      allow('viewer', 'Incidents, newest first: filter by subject, state, severity; page with `before`'),
      validate(
        'query',
        z
          .object({
            subjectId: z.coerce.number().int().positive().optional(),
            state: z.enum(['open', 'acknowledged', 'resolved', 'unresolved']).optional(),
            severity: z.enum(ALERT_SEVERITIES).optional(),
            before: z.coerce.number().int().positive().optional(),
            limit: z.coerce.number().int().min(1).max(500).default(50),
          })
          .strict(),
      ),
      (c) => c.json({ incidents: care.incidents(c.req.valid('query')) }),
    )
    .get(
      '/:id',
      allow('viewer', 'One incident with its log: notified, escalated, acknowledged, resolved, notes'),
      validate('param', idParam),
      (c) => c.json(care.incident(c.req.valid('param').id)),
    )
    .post(
      '/:id/acknowledge',
      allow('viewer', 'Acknowledges an incident (stops its escalation); a repeat is harmless'),
      validate('param', idParam),
      (c) =>
        c.json({
          incident: care.acknowledge(c.req.valid('param').id, { userId: c.get('user')!.id, via: 'ui' }),
        }),
    )
    .post(
      '/:id/acknowledge-link',
      allow('public', 'Acknowledges from a notice’s signed link (an ntfy button): once, for a day'),
      validate('param', idParam),
      validate('query', z.object({ token: z.string().min(10).max(400) }).strict()),
      (c) =>
        c.json({ incident: care.acknowledgeWithLink(c.req.valid('param').id, c.req.valid('query').token) }),
    )
    .post(
      '/:id/notes',
      allow('member', 'Adds a note to an incident'),
      validate('param', idParam),
      validate('json', z.object({ text: z.string().trim().min(1).max(2000) }).strict()),
      (c) => c.json(care.addNote(c.req.valid('param').id, c.get('user')!.id, c.req.valid('json').text), 201),
    );
}
