import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noticeFor } from '../../care/alert-links.js';
import type { AlertNotice, IncidentView } from '../../care/care.service.js';
import { at, FIRST_MIDNIGHT, HOUR, liveUntil, routineWorld, SEED } from './fixtures/routine-world.js';

const failure = (what: string) => `seed ${SEED}: ${what}`;
const local = (ms: number) => new Date(ms + 9 * HOUR).toISOString().slice(11, 16);

test('routine API in the running hub: versions trained, activated and rolled back; the scoring loop turns a morning nobody gets up into a care alert with its reasons', async (t) => {
  // Two weeks (Monday first) with a visitor, a kitchen sensor out at breakfast and a late Sunday; day 15 nobody gets up.
  const w = await routineWorld(t, {
    seed: SEED,
    firstMidnight: FIRST_MIDNIGHT,
    days: 16,
    firstWeekday: 1,
    visitorDays: [3],
    missingSensorHours: [{ day: 9, sensor: 'kitchen', hour: 7 }],
    lateWeekendDays: [13],
    noMorningDays: [15],
  });
  const base = `/api/subjects/${w.subjectId}/routine`;
  const viewer = await w.t.userWithRole('viewer');

  // Nothing trained yet; bad ids and missing subjects answer cleanly.
  assert.deepEqual((await w.owner.get(base)).body, {
    active: null,
    versions: [],
    now: { ready: false, reason: 'no routine model has been trained yet' },
  });
  assert.equal((await w.owner.get('/api/subjects/9999/routine')).status, 404);
  assert.equal((await w.owner.get('/api/subjects/abc/routine')).status, 400);
  assert.equal((await w.owner.post('/api/subjects/9999/routine/train', {})).status, 404);
  assert.equal((await w.owner.post(`${base}/rollback`, {})).status, 404, 'nothing active to roll back from');
  assert.equal((await viewer.post(`${base}/train`, {})).status, 403, 'training is for members');

  // Five whole days: a version that says why it cannot score.
  await liveUntil(w, at(6, 4, 5));
  const young = await w.owner.post(`${base}/train`, {});
  assert.equal(young.status, 201, JSON.stringify(young.body));
  assert.deepEqual(
    [young.body.version.version, young.body.version.ready, young.body.version.note],
    [1, false, 'trained on 5 days with activity; needs at least 7'],
  );
  assert.deepEqual((await w.owner.get(base)).body.now, {
    ready: false,
    reason: 'trained on 5 days with activity; needs at least 7',
  });

  // Two weeks: v2 scores, becomes active and brings the care rule. Sessions do not outlive days on the clock.
  await liveUntil(w, at(15, 4, 5));
  const owner = await w.t.owner();
  const trained = await owner.post(`${base}/train`, {});
  assert.equal(trained.status, 201, JSON.stringify(trained.body));
  const v2 = trained.body.version;
  assert.deepEqual([v2.version, v2.ready, v2.active, v2.daysUsed], [2, true, true, 14], failure('v2'));
  assert.equal(typeof v2.flaggedDays, 'number');
  assert.equal('model' in v2, false, 'the model itself stays in the database');
  const rules = (await owner.get(`/api/subjects/${w.subjectId}/rules`)).body.rules;
  assert.deepEqual(
    rules.map((rule: { name: string; readingKind: string }) => [rule.name, rule.readingKind]),
    [['Unusual day', 'routine']],
  );

  // Versions: a refusing one cannot be activated; unknown or malformed versions are 404 / 400.
  const refused = await owner.post(`${base}/versions/1/activate`, {});
  assert.equal(refused.status, 409);
  assert.match(refused.body.error.message, /needs at least 7/);
  assert.equal((await owner.post(`${base}/versions/99/activate`, {})).status, 404);
  assert.equal((await owner.post(`${base}/versions/x/activate`, {})).status, 400);
  assert.equal((await owner.post(`${base}/versions/0/activate`, {})).status, 400);

  // Day 15: nobody gets up. The hub's own scoring loop runs every half hour until 11:00.
  let firedAt: number | null = null;
  let latest: { state: string; score: number; reasons: string[] } | undefined;
  for (let step = at(15, 4, 30); step <= at(15, 11); step += 30 * 60_000) {
    await liveUntil(w, step);
    await w.t.hub.loops.runNow('ai.routine.score');
    const status = (await owner.get(base)).body;
    assert.deepEqual([status.now.ready, status.now.version], [true, 2], failure('scores with v2'));
    latest = status.now;
    const listed = await owner.get(`/api/incidents?subjectId=${w.subjectId}`);
    if (firedAt === null && listed.body.incidents.length > 0) {
      firedAt = step;
      assert.equal(status.now.state, 'anomaly');
      assert.ok(status.now.score > 0.8);
    }
  }
  assert.ok(firedAt !== null, failure('an alert by 11:00'));
  // By 11:00 the day says in plain words what is missing, kitchen included.
  assert.ok(
    latest!.reasons.some((reason) => /^no kitchen activity by 11:00, usually by 0\d:\d\d$/.test(reason)),
    failure(`reasons at 11:00: ${latest!.reasons.join(' | ')}`),
  );
  const incidents: IncidentView[] = (await owner.get(`/api/incidents?subjectId=${w.subjectId}`)).body
    .incidents;
  assert.deepEqual(
    incidents.map((incident) => [incident.title, incident.severity, incident.state]),
    [['Grandma: Unusual day', 'warning', 'open']],
  );
  const detail = incidents[0]!.evidence.at(-1)?.detail ?? [];
  assert.ok(
    detail.some((reason) => /^no activity from any sensor since \d\d:\d\d/.test(reason)),
    failure(`the reasons go with the alert: ${detail.join(' | ')}`),
  );
  const notice = noticeFor({ change: 'fired', incident: incidents[0]! } as AlertNotice, { baseUrl: null });
  assert.equal(notice?.message, `${detail.join('; ')}.`, 'the outbound notice says why');

  // Train again, roll back, activate: one active version at a time.
  const v3 = await owner.post(`${base}/train`, {});
  assert.deepEqual([v3.status, v3.body.version.version, v3.body.version.active], [201, 3, true]);
  const back = await owner.post(`${base}/rollback`, {});
  assert.deepEqual([back.status, back.body.version.version], [200, 2]);
  const none = await owner.post(`${base}/rollback`, {});
  assert.equal(none.status, 409, 'v1 cannot score, so there is nothing before v2');
  assert.equal(none.body.error.code, 'no_previous');
  const forward = await owner.post(`${base}/versions/3/activate`, {});
  assert.deepEqual([forward.status, forward.body.version.active], [200, true]);
  const status = (await owner.get(base)).body;
  assert.equal(status.active.version, 3);
  assert.deepEqual(
    status.versions.map((v: { version: number; active: boolean; ready: boolean }) => [
      v.version,
      v.active,
      v.ready,
    ]),
    [
      [3, true, true],
      [2, false, true],
      [1, false, false],
    ],
  );
  console.log(
    `routine API (seed ${SEED}): v2 trained on ${v2.daysUsed} days in ${v2.trainMs} ms, flagged ${v2.flaggedDays}; alert at ${firedAt && local(firedAt)}`,
  );
});
