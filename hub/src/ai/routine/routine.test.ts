import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  at,
  FIRST_MIDNIGHT,
  HOUR,
  liveUntil,
  SEED,
  type World,
  routineWorld as world,
} from './fixtures/routine-world.js';
import type { SyntheticPlan } from './fixtures/synthetic-weeks.js';

/** The nightly loop pass and the training job it enqueues, run through the real queue. */
async function nightly(w: World) {
  await w.t.hub.loops.runNow('ai.routine.nightly');
  w.t.hub.queue.pump();
  await w.t.hub.queue.idle();
}

/** Through the care service: weeks on the manual clock outlive the owner's session. */
function routineIncidents(w: World) {
  return w.t.hub.care
    .incidents({ subjectId: w.subjectId, limit: 100 })
    .filter((incident) => incident.title === 'Grandma: Unusual day')
    .map((incident) => ({
      ...incident,
      evidence: incident.evidence as { value: number; detail?: string[] }[],
    }));
}

test('routine: three noisy weeks, a morning nobody gets up → one alert through care; two more noisy weeks → at most one false alarm', async (t) => {
  const plan: SyntheticPlan = {
    seed: SEED,
    firstMidnight: FIRST_MIDNIGHT,
    days: 37,
    firstWeekday: 1,
    // Weeks 1–3: a visitor (Thu), a kitchen sensor silent at breakfast (Wed), a late Sunday.
    // Weeks 5–6 (after the test day): the same kinds of noise again.
    visitorDays: [3, 25, 31],
    missingSensorHours: [
      { day: 9, sensor: 'kitchen', hour: 7 },
      { day: 29, sensor: 'bathroom', hour: 7 },
    ],
    lateWeekendDays: [13, 27, 33],
    noMorningDays: [21],
  };
  const w = await world(t, plan);
  const failure = (what: string) => `seed ${SEED}: ${what}`;

  // Three weeks of readings, a day at a time; then the first night's training (day 21 begins at 04:00).
  for (let day = 0; day < 21; day++) await liveUntil(w, at(day + 1, 0));
  await liveUntil(w, at(21, 4, 5));
  const started = performance.now();
  await nightly(w);
  const trainWallMs = performance.now() - started;
  const v1 = w.routine.active(w.subjectId);
  assert.ok(v1, failure('a model after three weeks'));
  assert.equal(v1.version, 1);
  assert.equal(v1.ready, true, failure(`ready: ${v1.note}`));
  // Day 0 is left out: its first reading came after it began (04:00), so it may be a part of a day.
  assert.equal(v1.daysUsed, 20, failure('the whole days'));
  assert.ok(v1.streams >= 5, failure(`streams ${v1.streams}`));
  assert.deepEqual(
    w.t.hub.care.rules(w.subjectId).map((r: { name: string; kind: string }) => [r.name, r.kind]),
    [['Unusual day', 'threshold']],
    'the first model adds its care rule',
  );

  // Day 21: nobody gets up. Scored every 30 minutes as the loop does.
  let firedAt: number | null = null;
  let peak = 0;
  const dayReasons: string[] = [];
  for (let step = at(21, 4, 30); step <= at(22, 4); step += 30 * 60_000) {
    await liveUntil(w, step);
    const result = w.routine.check(w.subjectId);
    assert.ok(result.ready, failure('scores'));
    peak = Math.max(peak, result.score);
    if (step <= at(21, 11)) dayReasons.push(...result.reasons);
    if (firedAt === null && routineIncidents(w).length > 0) firedAt = step;
  }
  const anomaly = routineIncidents(w);
  assert.equal(anomaly.length, 1, failure('one alert for the morning nobody got up'));
  assert.ok(
    firedAt !== null && firedAt <= at(21, 11),
    failure(`alert by 11:00, was ${firedAt && new Date(firedAt + 9 * HOUR).toISOString()}`),
  );
  const reasons = anomaly[0]!.evidence.flatMap((signal) => signal.detail ?? []);
  assert.ok(
    reasons.some((reason) => /^no activity from any sensor since \d\d:\d\d/.test(reason)),
    failure(`reasons: ${reasons.join(' | ')}`),
  );
  assert.ok(
    dayReasons.some((reason) => /^no kitchen activity by \d\d:\d\d, usually by 0[6-9]:\d\d$/.test(reason)),
    failure(`reasons by 11:00: ${[...new Set(dayReasons)].join(' | ')}`),
  );

  // Two more noisy weeks, retrained every night by the job: at most one false alarm.
  const scores: number[] = [];
  for (let day = 22; day < 36; day++) {
    await liveUntil(w, at(day, 4, 5));
    await nightly(w);
    for (let step = at(day, 4, 30); step <= at(day + 1, 4); step += 30 * 60_000) {
      await liveUntil(w, step);
      const result = w.routine.checkAll().get(w.subjectId);
      if (result?.ready) scores.push(result.score);
    }
  }
  const falseAlarms = routineIncidents(w).filter((incident) => incident.firedAt >= at(22, 4));
  assert.ok(
    falseAlarms.length <= 1,
    failure(
      `false alarms: ${falseAlarms.map((a) => `${new Date(a.firedAt + 9 * HOUR).toISOString()} ${a.evidence.at(-1)?.detail}`).join('; ')}`,
    ),
  );
  const latest = w.routine.active(w.subjectId)!;
  assert.equal(latest.version, 15, 'retrained every night');
  assert.ok(w.routine.versions(w.subjectId).length <= 11, 'old versions pruned');
  console.log(
    `routine figures (seed ${SEED}): training over 3 weeks ${v1.trainMs} ms in the model (${Math.round(trainWallMs)} ms job, wall); ` +
      `flagged training days v1 ${v1.flaggedDays}/${v1.daysUsed}; anomalous day: peak ${peak}, alert at ${firedAt && new Date(firedAt + 9 * HOUR).toISOString().slice(11, 16)}; ` +
      `false alarms over 2 normal weeks ${falseAlarms.length} (${falseAlarms.map((a) => `${new Date(a.firedAt + 9 * HOUR).toISOString().slice(0, 16)}: ${a.evidence.at(-1)?.detail?.join(' | ')}`)}); normal-week scores: max ${Math.max(...scores)}, ` +
      `above 0.5 at ${scores.filter((s) => s > 0.5).length}/${scores.length} checks; latest v${latest.version} flagged ${latest.flaggedDays}/${latest.daysUsed}`,
  );
});

test('routine: versions are kept per subject, activated and rolled back; a model from under 7 days refuses to score and says why', async (t) => {
  const w = await world(t, { seed: SEED + 1, firstMidnight: FIRST_MIDNIGHT, days: 12, firstWeekday: 1 });

  // Five whole days (and the partial first night).
  await liveUntil(w, at(6, 4, 5));
  const young = w.routine.train(w.subjectId);
  assert.deepEqual([young.version, young.ready, young.daysUsed], [1, false, 5]);
  assert.equal(young.note, 'trained on 5 days with activity; needs at least 7');
  assert.equal(w.routine.active(w.subjectId)?.version, 1, 'nothing better: active, but refusing');
  assert.deepEqual(w.routine.check(w.subjectId), {
    ready: false,
    reason: 'trained on 5 days with activity; needs at least 7',
  });
  assert.equal((await w.owner.get(`/api/subjects/${w.subjectId}/rules`)).body.rules.length, 0, 'no rule yet');

  await liveUntil(w, at(8, 4, 5));
  const v2 = w.routine.train(w.subjectId);
  assert.deepEqual([v2.version, v2.ready, v2.daysUsed, v2.active], [2, true, 7, true]);
  await liveUntil(w, at(9, 4, 5));
  const v3 = w.routine.train(w.subjectId);
  assert.equal(v3.active, true);
  assert.equal(w.routine.versions(w.subjectId).filter((v) => v.active).length, 1);

  assert.equal(w.routine.rollback(w.subjectId).version, 2);
  assert.equal(w.routine.active(w.subjectId)?.version, 2);
  assert.ok(w.routine.score(w.subjectId).ready, 'v2 scores');
  assert.throws(
    () => w.routine.rollback(w.subjectId),
    /no earlier version/,
    'v1 cannot score: not a rollback target',
  );
  assert.throws(() => w.routine.activate(w.subjectId, 1), /needs at least 7/);
  assert.throws(() => w.routine.activate(w.subjectId, 9), /not found/);
  assert.equal(w.routine.activate(w.subjectId, 3).version, 3);
  assert.equal(w.routine.active(w.subjectId)?.version, 3);

  // A too-small retraining never replaces a model that scores.
  const other = await w.owner.post('/api/subjects', {
    name: 'Grandpa',
    kind: 'elder',
    deviceIds: [w.node.id],
    defaults: false,
  });
  assert.equal(other.status, 201);
  assert.deepEqual(w.routine.versions(other.body.subject.id), [], 'versions are per subject');
  const stored = w.t.hub.db.$client
    .prepare('SELECT COUNT(*) AS n FROM routine_models WHERE subject_id = ?')
    .get(w.subjectId) as { n: number };
  assert.equal(stored.n, 3, 'in SQLite');
});
