import { and, asc, desc, eq, inArray, isNotNull, isNull, lt, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { users } from '../accounts/accounts.schema.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import { AppError, notFound } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import type { AckLinks } from './alert-links.js';
import {
  ALERT_SEVERITIES,
  type AlertSeverity,
  careRuleStates,
  careRules,
  incidentLog,
  incidents,
  type RuleKind,
  SUBJECT_KINDS,
  type SubjectKind,
  subjectCameras,
  subjectDevices,
  subjectFollowers,
  subjects,
} from './care.schema.js';
import {
  concerns,
  deadline,
  INITIAL_STATE,
  inDailySpan,
  onSignal,
  onTime,
  quietHoursSchema,
  type RuleParams,
  type RuleState,
  ruleParamsSchemas,
  type Signal,
  type Transition,
} from './rules.js';

export type SubjectRow = typeof subjects.$inferSelect;
export type RuleRow = typeof careRules.$inferSelect;
export type IncidentRow = typeof incidents.$inferSelect;

/**
 * Where a signal came from: a node (readings, heartbeats, check-ins), a camera (photos, events) or the hub's own
 * judgement about one person (their routine model), which reaches that person's rules only.
 */
export type SignalSource =
  | { deviceId: number; cameraId?: undefined; subjectId?: undefined }
  | { cameraId: string; deviceId?: undefined; subjectId?: undefined }
  | { subjectId: number; deviceId?: undefined; cameraId?: undefined };

/** What the alert is about, for the event stream and the outbound channels. */
export type AlertChangeKind = 'fired' | 'escalated' | 'acknowledged' | 'resolved' | 'repeated' | 'note';

export interface AlertNotice {
  change: AlertChangeKind;
  incident: IncidentView;
  /** Who should be told: the subject's followers, or every member (an escalation, nobody following). */
  audience: { everyone: boolean; userIds: number[] };
  /** Quiet hours: shown in the log, nobody woken. Escalations are louder. */
  loudness: 'silent' | 'normal' | 'loud';
}

export interface IncidentView {
  id: number;
  ruleId: number | null;
  subjectId: number | null;
  subjectName: string | null;
  severity: AlertSeverity;
  title: string;
  silent: boolean;
  firedAt: number;
  evidence: Signal[];
  acknowledgedAt: number | null;
  acknowledgedBy: { id: number; name: string } | null;
  escalations: number;
  resolvedAt: number | null;
  state: 'open' | 'acknowledged' | 'resolved';
}

const ruleBase = {
  name: z.string().trim().min(1).max(80),
  readingKind: z.string().regex(/^[a-z][a-z_]{0,31}$/),
  severity: z.enum(ALERT_SEVERITIES),
  dedupSeconds: z.number().int().min(0).max(86_400).default(300),
  enabled: z.boolean().default(true),
};

/** One schema per rule kind, so `params` is checked against its kind. */
export const newRuleSchema = z.discriminatedUnion('kind', [
  z.object({ ...ruleBase, kind: z.literal('threshold'), params: ruleParamsSchemas.threshold }).strict(),
  z.object({ ...ruleBase, kind: z.literal('state'), params: ruleParamsSchemas.state }).strict(),
  z.object({ ...ruleBase, kind: z.literal('absence'), params: ruleParamsSchemas.absence }).strict(),
  z.object({ ...ruleBase, kind: z.literal('check_in'), params: ruleParamsSchemas.check_in }).strict(),
]);
export type NewRule = z.input<typeof newRuleSchema>;

const subjectFields = {
  name: z.string().trim().min(1).max(64),
  kind: z.enum(SUBJECT_KINDS),
  notes: z.string().max(2000),
  photoId: z.number().int().positive().nullable(),
  quietHours: quietHoursSchema.nullable(),
  deviceIds: z.array(z.number().int().positive()).max(32),
  cameraIds: z.array(z.string().min(1).max(64)).max(32),
};
export const subjectSchema = z
  .object({
    ...subjectFields,
    notes: subjectFields.notes.default(''),
    photoId: subjectFields.photoId.default(null),
    quietHours: subjectFields.quietHours.default(null),
    deviceIds: subjectFields.deviceIds.default([]),
    cameraIds: subjectFields.cameraIds.default([]),
  })
  .strict();
/** A change: only the fields given (no defaults, which would wipe the links). */
export const subjectPatchSchema = z.object(subjectFields).partial().strict();

/** The rules a new subject starts with, from the cradle product and what carers asked for. */
export function defaultRules(kind: SubjectKind): NewRule[] {
  const nodeSilent: NewRule = {
    name: 'Node silent',
    kind: 'absence',
    readingKind: 'heartbeat',
    severity: 'warning',
    dedupSeconds: 300,
    params: { forSeconds: 45 },
  };
  switch (kind) {
    case 'baby':
      return [
        {
          name: 'Fever',
          kind: 'threshold',
          readingKind: 'temperature',
          severity: 'emergency',
          dedupSeconds: 300,
          params: { op: 'above', limit: 38.0, forSeconds: 60, resolveSeconds: 60 },
        },
        {
          name: 'Crying',
          kind: 'state',
          readingKind: 'crying',
          severity: 'warning',
          dedupSeconds: 180,
          params: { state: 'crying', forSeconds: 30, resolveSeconds: 10 },
        },
        {
          name: 'Face not up',
          kind: 'state',
          readingKind: 'direction',
          severity: 'emergency',
          dedupSeconds: 300,
          params: { state: 'front', negate: true, forSeconds: 30, resolveSeconds: 5 },
        },
        nodeSilent,
      ];
    case 'elder':
      return [
        {
          name: 'No movement',
          kind: 'absence',
          readingKind: 'motion',
          severity: 'warning',
          dedupSeconds: 3600,
          params: { forSeconds: 4 * 3600, state: 'motion', window: { from: '08:00', to: '22:00' } },
        },
        {
          name: 'Check-in not answered',
          kind: 'check_in',
          readingKind: 'check_in',
          severity: 'emergency',
          dedupSeconds: 0,
          params: {},
        },
        nodeSilent,
      ];
    default:
      return [];
  }
}

interface Runtime {
  rule: RuleRow & { params: RuleParams };
  state: RuleState;
  incidentId: number | null;
  lastFiredAt: number | null;
  /** The signals since the condition began (the first few and the latest), for the incident's evidence. */
  evidence: Signal[];
}

const EVIDENCE_KEEP = 20;

/**
 * People, their alert rules and incidents. Every signal (a node's reading, heartbeat or check-in) is
 * evaluated at once against the rules of the subjects its source watches; durations and absences are
 * looked at when their deadline comes (`tick`, which the service schedules itself and tests call after
 * moving the clock). Each transition is written before anyone is told, so a restart neither repeats nor
 * loses an alert.
 */
export function createCareService(deps: {
  db: Db;
  clock: Clock;
  bus: EventBus;
  log: Logger;
  timeZone: () => string;
  /** Unacknowledged emergencies are told to everyone again this often (default 2 minutes). */
  escalateAfterSeconds?: number;
  maxEscalations?: number;
  /** The outbound channels (webhook, ntfy, MQTT); must not block. */
  deliver?: (notice: AlertNotice) => void;
  /** One-click acknowledge links (outbound notices). */
  ackLinks?: AckLinks;
  /** Real timers for deadlines; off in tests that move a manual clock and call tick(). */
  timers?: boolean;
}) {
  const { db, clock, bus } = deps;
  const escalateAfterMs = (deps.escalateAfterSeconds ?? 120) * 1000;
  const maxEscalations = deps.maxEscalations ?? 5;
  const runtimes = new Map<number, Runtime>();
  /** `d:<deviceId>` / `c:<cameraId>` / `s:<subjectId>` → the rules its signals are evaluated against. */
  let bySource = new Map<string, Runtime[]>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function loadRules() {
    const rows = db.select().from(careRules).all();
    const states = new Map(
      db
        .select()
        .from(careRuleStates)
        .all()
        .map((s) => [s.ruleId, s]),
    );
    const previous = new Map(runtimes);
    runtimes.clear();
    for (const row of rows) {
      const stored = states.get(row.id);
      const rule = { ...row, params: { kind: row.kind, ...(row.params as object) } as RuleParams };
      runtimes.set(row.id, {
        rule,
        state: stored
          ? { state: stored.state, since: stored.since, lastSeenAt: stored.lastSeenAt }
          : { ...INITIAL_STATE, lastSeenAt: row.createdAt },
        incidentId: stored?.incidentId ?? null,
        lastFiredAt: stored?.lastFiredAt ?? null,
        evidence: previous.get(row.id)?.evidence ?? [],
      });
    }
    const links = [
      ...db
        .select({ subjectId: subjectDevices.subjectId, key: subjectDevices.deviceId })
        .from(subjectDevices)
        .all()
        .map((l) => ({ subjectId: l.subjectId, key: `d:${l.key}` })),
      ...db
        .select({ subjectId: subjectCameras.subjectId, key: subjectCameras.cameraId })
        .from(subjectCameras)
        .all()
        .map((l) => ({ subjectId: l.subjectId, key: `c:${l.key}` })),
    ];
    bySource = new Map();
    for (const link of links) {
      const list = bySource.get(link.key) ?? [];
      for (const runtime of runtimes.values())
        if (runtime.rule.subjectId === link.subjectId && runtime.rule.enabled) list.push(runtime);
      bySource.set(link.key, list);
    }
    for (const runtime of runtimes.values()) {
      if (!runtime.rule.enabled) continue;
      const key = `s:${runtime.rule.subjectId}`;
      bySource.set(key, [...(bySource.get(key) ?? []), runtime]);
    }
    schedule();
  }

  function saveState(runtime: Runtime) {
    const row = {
      ruleId: runtime.rule.id,
      state: runtime.state.state,
      since: runtime.state.since,
      lastSeenAt: runtime.state.lastSeenAt,
      incidentId: runtime.incidentId,
      lastFiredAt: runtime.lastFiredAt,
      updatedAt: clock.now(),
    };
    db.insert(careRuleStates)
      .values(row)
      .onConflictDoUpdate({ target: careRuleStates.ruleId, set: row })
      .run();
  }

  function subjectOf(id: number | null) {
    return id === null ? undefined : db.select().from(subjects).where(eq(subjects.id, id)).get();
  }

  function view(row: IncidentRow): IncidentView {
    const subject = subjectOf(row.subjectId);
    const by =
      row.acknowledgedBy === null
        ? undefined
        : db
            .select({ id: users.id, name: users.displayName })
            .from(users)
            .where(eq(users.id, row.acknowledgedBy))
            .get();
    return {
      id: row.id,
      ruleId: row.ruleId,
      subjectId: row.subjectId,
      subjectName: subject?.name ?? null,
      severity: row.severity,
      title: row.title,
      silent: row.silent,
      firedAt: row.firedAt,
      evidence: row.evidence as Signal[],
      acknowledgedAt: row.acknowledgedAt,
      acknowledgedBy: by ?? null,
      escalations: row.escalations,
      resolvedAt: row.resolvedAt,
      state: row.resolvedAt !== null ? 'resolved' : row.acknowledgedAt !== null ? 'acknowledged' : 'open',
    };
  }

  function incidentRow(id: number): IncidentRow {
    const row = db.select().from(incidents).where(eq(incidents.id, id)).get();
    if (!row) throw notFound('Incident');
    return row;
  }

  function logEntry(incidentId: number, kind: string, detail: unknown = null, userId: number | null = null) {
    db.insert(incidentLog).values({ incidentId, at: clock.now(), kind, userId, detail }).run();
  }

  function audience(subjectId: number | null, everyone: boolean) {
    const followers =
      subjectId === null
        ? []
        : db
            .select({ userId: subjectFollowers.userId })
            .from(subjectFollowers)
            .where(eq(subjectFollowers.subjectId, subjectId))
            .all()
            .map((f) => f.userId);
    if (!everyone && followers.length > 0) return { everyone: false, userIds: followers };
    // Nobody follows this subject (or it escalated): every member and owner, never a viewer-only account.
    const all = db
      .select({ id: users.id })
      .from(users)
      .where(inArray(users.role, ['owner', 'member']))
      .all()
      .map((u) => u.id);
    return { everyone: true, userIds: all };
  }

  function tell(
    change: AlertChangeKind,
    row: IncidentRow,
    options: { everyone?: boolean; log?: boolean } = {},
  ) {
    const incident = view(row);
    const loud = change === 'escalated';
    const notice: AlertNotice = {
      change,
      incident,
      audience: audience(row.subjectId, options.everyone ?? false),
      loudness: row.silent && !loud ? 'silent' : loud ? 'loud' : 'normal',
    };
    if (options.log && notice.loudness !== 'silent')
      logEntry(row.id, 'notified', { change, userIds: notice.audience.userIds, loudness: notice.loudness });
    bus.publish('alerts', notice);
    if (notice.loudness !== 'silent' || change === 'resolved') deps.deliver?.(notice);
  }

  function fire(runtime: Runtime, at: number) {
    const { rule } = runtime;
    const now = clock.now();
    const previous =
      runtime.incidentId === null
        ? undefined
        : db.select().from(incidents).where(eq(incidents.id, runtime.incidentId)).get();
    // Inside the dedup window of the last alert: the same incident again, nobody told twice.
    if (previous && runtime.lastFiredAt !== null && now - runtime.lastFiredAt < rule.dedupSeconds * 1000) {
      db.update(incidents).set({ resolvedAt: null }).where(eq(incidents.id, previous.id)).run();
      logEntry(previous.id, 'repeated', { evidence: runtime.evidence.slice(-3) });
      bus.publish('alerts', {
        change: 'repeated',
        incident: view(incidentRow(previous.id)),
        audience: { everyone: false, userIds: [] },
        loudness: 'silent',
      } satisfies AlertNotice);
      return;
    }
    const subject = subjectOf(rule.subjectId);
    const silent =
      rule.severity !== 'emergency' && inDailySpan(now, subject?.quietHours ?? null, deps.timeZone());
    const row = db
      .insert(incidents)
      .values({
        ruleId: rule.id,
        subjectId: rule.subjectId,
        severity: rule.severity,
        title: subject ? `${subject.name}: ${rule.name}` : rule.name,
        silent,
        firedAt: now,
        evidence: runtime.evidence,
      })
      .returning()
      .get();
    runtime.incidentId = row.id;
    runtime.lastFiredAt = now;
    logEntry(row.id, 'fired', { at, rule: rule.name });
    deps.log.info({ incident: row.id, rule: rule.name, severity: rule.severity, silent }, 'alert fired');
    tell('fired', row, { log: true });
  }

  function resolve(runtime: Runtime, at: number) {
    if (runtime.incidentId === null) return;
    const row = db.select().from(incidents).where(eq(incidents.id, runtime.incidentId)).get();
    if (!row || row.resolvedAt !== null) return;
    const resolved = db
      .update(incidents)
      .set({ resolvedAt: clock.now() })
      .where(eq(incidents.id, row.id))
      .returning()
      .get();
    logEntry(row.id, 'resolved', { at });
    tell('resolved', resolved);
  }

  function apply(runtime: Runtime, transition: Transition, at: number) {
    const changed =
      transition.next.state !== runtime.state.state ||
      transition.next.since !== runtime.state.since ||
      transition.next.lastSeenAt !== runtime.state.lastSeenAt;
    if (!changed && !transition.effect) return;
    runtime.state = transition.next;
    // The state first: a crash between it and the incident loses at most the notice, never repeats one.
    db.transaction(() => {
      if (transition.effect === 'fire') fire(runtime, at);
      if (transition.effect === 'resolve') resolve(runtime, at);
      saveState(runtime);
    });
    if (transition.next.state === 'ok' || transition.effect === 'fire') runtime.evidence = [];
  }

  function remember(runtime: Runtime, signal: Signal) {
    const evidence = runtime.evidence;
    evidence.push(signal);
    // The first readings (how it began) and the latest ones.
    if (evidence.length > EVIDENCE_KEEP) evidence.splice(5, 1);
  }

  function escalate(now: number) {
    const open = db
      .select()
      .from(incidents)
      .where(
        and(
          eq(incidents.severity, 'emergency'),
          isNull(incidents.acknowledgedAt),
          isNull(incidents.resolvedAt),
          lt(incidents.escalations, maxEscalations),
        ),
      )
      .all();
    for (const row of open) {
      const since = row.lastEscalatedAt ?? row.firedAt;
      if (now - since < escalateAfterMs) continue;
      const updated = db
        .update(incidents)
        .set({ escalations: row.escalations + 1, lastEscalatedAt: now })
        .where(eq(incidents.id, row.id))
        .returning()
        .get();
      logEntry(row.id, 'escalated', { escalation: updated.escalations });
      deps.log.warn(
        { incident: row.id, escalation: updated.escalations },
        'alert not acknowledged: escalated',
      );
      tell('escalated', updated, { everyone: true, log: true });
    }
  }

  /** The earliest moment something is due: a rule's deadline or an escalation. */
  function nextDue(now: number): number | null {
    let next: number | null = null;
    const zone = deps.timeZone();
    for (const runtime of runtimes.values()) {
      if (!runtime.rule.enabled) continue;
      const due = deadline(runtime.rule.params, runtime.state, now, zone);
      if (due !== null && (next === null || due < next)) next = due;
    }
    const oldest = db
      .select({ firedAt: incidents.firedAt, last: incidents.lastEscalatedAt })
      .from(incidents)
      .where(
        and(
          eq(incidents.severity, 'emergency'),
          isNull(incidents.acknowledgedAt),
          isNull(incidents.resolvedAt),
          lt(incidents.escalations, maxEscalations),
        ),
      )
      .all();
    for (const row of oldest) {
      const due = (row.last ?? row.firedAt) + escalateAfterMs;
      if (next === null || due < next) next = due;
    }
    return next;
  }

  function schedule() {
    if (!deps.timers || stopped) return;
    clearTimeout(timer);
    const now = clock.now();
    const due = nextDue(now);
    if (due === null) return;
    // Capped so a clock step (NTP) is noticed within a minute.
    timer = setTimeout(() => service.tick(), Math.min(60_000, Math.max(0, due - now)));
    timer.unref();
  }

  function mustExist<T>(row: T | undefined, what: string): T {
    if (!row) throw notFound(what);
    return row;
  }

  function saveLinks(subjectId: number, deviceIds: number[], cameraIds: string[]) {
    db.delete(subjectDevices).where(eq(subjectDevices.subjectId, subjectId)).run();
    db.delete(subjectCameras).where(eq(subjectCameras.subjectId, subjectId)).run();
    for (const deviceId of new Set(deviceIds))
      db.insert(subjectDevices).values({ subjectId, deviceId }).run();
    for (const cameraId of new Set(cameraIds))
      db.insert(subjectCameras).values({ subjectId, cameraId }).run();
  }

  function foreignKeyProblem(error: unknown): never {
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY')
      throw new AppError(400, 'invalid_request', 'A linked device or camera does not exist.');
    throw error;
  }

  const service = {
    /** A reading, heartbeat or check-in from a source: evaluated now against the rules watching it. */
    signal(source: SignalSource, signal: Signal) {
      const key =
        source.deviceId !== undefined
          ? `d:${source.deviceId}`
          : source.cameraId !== undefined
            ? `c:${source.cameraId}`
            : `s:${source.subjectId}`;
      const watching = bySource.get(key);
      if (!watching) return;
      let touched = false;
      for (const runtime of watching) {
        if (!concerns(runtime.rule, signal, deps.timeZone())) continue;
        const transition = onSignal(runtime.rule.params, runtime.state, signal);
        if (transition.next.state !== 'ok' || transition.effect) remember(runtime, signal);
        apply(runtime, transition, signal.at);
        touched = true;
      }
      if (touched) schedule();
    },

    /** Deadlines reached (pending durations, resolving, absences) and escalations due. */
    tick() {
      const now = clock.now();
      const zone = deps.timeZone();
      for (const runtime of runtimes.values()) {
        if (!runtime.rule.enabled) continue;
        apply(runtime, onTime(runtime.rule.params, runtime.state, now, zone), now);
      }
      escalate(now);
      schedule();
    },

    start() {
      loadRules();
      service.tick();
    },

    stop() {
      stopped = true;
      clearTimeout(timer);
    },

    // Subjects

    listSubjects() {
      const rows = db.select().from(subjects).orderBy(asc(subjects.name)).all();
      return rows.map((row) => service.subject(row.id));
    },

    subject(id: number) {
      const row = mustExist(db.select().from(subjects).where(eq(subjects.id, id)).get(), 'Subject');
      return {
        ...row,
        deviceIds: db
          .select()
          .from(subjectDevices)
          .where(eq(subjectDevices.subjectId, id))
          .all()
          .map((l) => l.deviceId),
        cameraIds: db
          .select()
          .from(subjectCameras)
          .where(eq(subjectCameras.subjectId, id))
          .all()
          .map((l) => l.cameraId),
        followers: db
          .select()
          .from(subjectFollowers)
          .where(eq(subjectFollowers.subjectId, id))
          .all()
          .map((f) => f.userId),
      };
    },

    createSubject(input: z.input<typeof subjectSchema>, options: { defaults?: boolean } = {}) {
      const parsed = subjectSchema.parse(input);
      const now = clock.now();
      const id = db.transaction(() => {
        const row = db
          .insert(subjects)
          .values({
            name: parsed.name,
            kind: parsed.kind,
            notes: parsed.notes,
            photoId: parsed.photoId,
            quietHours: parsed.quietHours,
            createdAt: now,
            updatedAt: now,
          })
          .returning()
          .get();
        try {
          saveLinks(row.id, parsed.deviceIds, parsed.cameraIds);
        } catch (error) {
          foreignKeyProblem(error);
        }
        if (options.defaults !== false)
          for (const rule of defaultRules(parsed.kind)) insertRule(row.id, newRuleSchema.parse(rule));
        return row.id;
      });
      loadRules();
      bus.publish('alerts', { change: 'subjects' });
      return service.subject(id);
    },

    updateSubject(id: number, patch: Partial<z.input<typeof subjectSchema>>) {
      const current = service.subject(id);
      const parsed = subjectSchema.parse({
        name: current.name,
        kind: current.kind,
        notes: current.notes,
        photoId: current.photoId,
        quietHours: current.quietHours,
        deviceIds: current.deviceIds,
        cameraIds: current.cameraIds,
        ...patch,
      });
      db.transaction(() => {
        db.update(subjects)
          .set({
            name: parsed.name,
            kind: parsed.kind,
            notes: parsed.notes,
            photoId: parsed.photoId,
            quietHours: parsed.quietHours,
            updatedAt: clock.now(),
          })
          .where(eq(subjects.id, id))
          .run();
        try {
          saveLinks(id, parsed.deviceIds, parsed.cameraIds);
        } catch (error) {
          foreignKeyProblem(error);
        }
      });
      loadRules();
      bus.publish('alerts', { change: 'subjects' });
      return service.subject(id);
    },

    removeSubject(id: number) {
      service.subject(id);
      db.delete(subjects).where(eq(subjects.id, id)).run();
      loadRules();
      bus.publish('alerts', { change: 'subjects' });
    },

    follow(subjectId: number, userId: number, following: boolean) {
      service.subject(subjectId);
      if (following) db.insert(subjectFollowers).values({ subjectId, userId }).onConflictDoNothing().run();
      else
        db.delete(subjectFollowers)
          .where(and(eq(subjectFollowers.subjectId, subjectId), eq(subjectFollowers.userId, userId)))
          .run();
      return service.subject(subjectId);
    },

    // Rules

    rules(subjectId: number) {
      service.subject(subjectId);
      return db
        .select()
        .from(careRules)
        .where(eq(careRules.subjectId, subjectId))
        .orderBy(asc(careRules.id))
        .all()
        .map((row) => ({ ...row, state: runtimes.get(row.id)?.state.state ?? 'ok' }));
    },

    addRule(subjectId: number, input: NewRule) {
      service.subject(subjectId);
      const id = insertRule(subjectId, newRuleSchema.parse(input));
      loadRules();
      return service.rule(id);
    },

    rule(id: number) {
      const row = mustExist(db.select().from(careRules).where(eq(careRules.id, id)).get(), 'Rule');
      return { ...row, state: runtimes.get(id)?.state.state ?? 'ok' };
    },

    updateRule(id: number, input: NewRule) {
      const current = service.rule(id);
      const parsed = newRuleSchema.parse(input);
      db.transaction(() => {
        db.update(careRules)
          .set({ ...parsed, updatedAt: clock.now() })
          .where(eq(careRules.id, id))
          .run();
        // A changed condition starts over; an open incident stays open until it resolves or is acknowledged.
        if (
          current.kind !== parsed.kind ||
          JSON.stringify(current.params) !== JSON.stringify(parsed.params)
        ) {
          const runtime = runtimes.get(id);
          if (runtime && runtime.state.state === 'pending') {
            runtime.state = { ...INITIAL_STATE, lastSeenAt: clock.now() };
            saveState(runtime);
          }
        }
      });
      loadRules();
      return service.rule(id);
    },

    removeRule(id: number) {
      service.rule(id);
      db.delete(careRules).where(eq(careRules.id, id)).run();
      loadRules();
    },

    // Incidents

    incidents(filter: {
      subjectId?: number | undefined;
      state?: 'open' | 'acknowledged' | 'resolved' | 'unresolved' | undefined;
      severity?: AlertSeverity | undefined;
      before?: number | undefined;
      limit: number;
    }) {
      const where: (SQL | undefined)[] = [
        filter.subjectId === undefined ? undefined : eq(incidents.subjectId, filter.subjectId),
        filter.severity === undefined ? undefined : eq(incidents.severity, filter.severity),
        filter.before === undefined ? undefined : lt(incidents.id, filter.before),
      ];
      if (filter.state === 'resolved') where.push(isNotNull(incidents.resolvedAt));
      if (filter.state === 'unresolved') where.push(isNull(incidents.resolvedAt));
      if (filter.state === 'open') where.push(isNull(incidents.resolvedAt), isNull(incidents.acknowledgedAt));
      if (filter.state === 'acknowledged')
        where.push(isNull(incidents.resolvedAt), isNotNull(incidents.acknowledgedAt));
      return db
        .select()
        .from(incidents)
        .where(and(...where))
        .orderBy(desc(incidents.id))
        .limit(filter.limit)
        .all()
        .map(view);
    },

    incident(id: number) {
      const row = incidentRow(id);
      const log = db
        .select({
          at: incidentLog.at,
          kind: incidentLog.kind,
          userId: incidentLog.userId,
          detail: incidentLog.detail,
          userName: users.displayName,
        })
        .from(incidentLog)
        .leftJoin(users, eq(users.id, incidentLog.userId))
        .where(eq(incidentLog.incidentId, id))
        .orderBy(asc(incidentLog.id))
        .all();
      return { incident: view(row), log };
    },

    /** Idempotent: the first acknowledgement counts, every one is audited. */
    acknowledge(id: number, by: { userId: number | null; via: 'ui' | 'link'; nonce?: string }) {
      const row = incidentRow(id);
      const detail = { via: by.via, ...(by.nonce ? { nonce: by.nonce } : {}) };
      if (row.acknowledgedAt !== null || row.resolvedAt !== null) {
        logEntry(id, 'acknowledged_again', detail, by.userId);
        return view(row);
      }
      const updated = db.transaction(() => {
        const next = db
          .update(incidents)
          .set({ acknowledgedAt: clock.now(), acknowledgedBy: by.userId })
          .where(eq(incidents.id, id))
          .returning()
          .get();
        logEntry(id, 'acknowledged', detail, by.userId);
        for (const runtime of runtimes.values())
          if (runtime.incidentId === id && runtime.state.state === 'firing') {
            runtime.state = { ...runtime.state, state: 'acknowledged' };
            saveState(runtime);
          }
        return next;
      });
      tell('acknowledged', updated);
      schedule();
      return view(updated);
    },

    /** A signed link from a notice (an ntfy button): once, before it expires, for its incident only. */
    acknowledgeWithLink(id: number, token: string) {
      incidentRow(id);
      const checked = deps.ackLinks?.check(token, id, clock.now());
      if (!checked?.ok) throw new AppError(403, 'invalid_link', checked?.reason ?? 'Links are not enabled.');
      const used = db.$client
        .prepare(
          "SELECT 1 FROM incident_log WHERE incident_id = ? AND kind IN ('acknowledged', 'acknowledged_again') AND json_extract(detail, '$.nonce') = ?",
        )
        .get(id, checked.nonce);
      if (used) throw new AppError(409, 'link_used', 'This link was used already.');
      // A member's link acts for them only while they are still a member.
      const member =
        checked.memberId === null
          ? null
          : db
              .select({ id: users.id })
              .from(users)
              .where(and(eq(users.id, checked.memberId), inArray(users.role, ['owner', 'member'])))
              .get();
      if (checked.memberId !== null && !member)
        throw new AppError(403, 'invalid_link', 'This link was for someone who is no longer a member.');
      return service.acknowledge(id, { userId: checked.memberId, via: 'link', nonce: checked.nonce });
    },

    addNote(id: number, userId: number, text: string) {
      const row = incidentRow(id);
      logEntry(id, 'note', { text }, userId);
      bus.publish('alerts', {
        change: 'note',
        incident: view(row),
        audience: { everyone: false, userIds: [] },
        loudness: 'silent',
      } satisfies AlertNotice);
      return service.incident(id);
    },
  };

  function insertRule(subjectId: number, rule: z.infer<typeof newRuleSchema>): number {
    const now = clock.now();
    const row = db
      .insert(careRules)
      .values({
        subjectId,
        name: rule.name,
        kind: rule.kind as RuleKind,
        readingKind: rule.readingKind,
        params: rule.params,
        severity: rule.severity,
        dedupSeconds: rule.dedupSeconds,
        enabled: rule.enabled,
        createdAt: now,
        updatedAt: now,
      })
      .returning()
      .get();
    return row.id;
  }

  return service;
}

export type CareService = ReturnType<typeof createCareService>;
