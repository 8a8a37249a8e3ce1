/**
 * The best shot with the inference service: real photos (human's sample pictures, composed into 640×480
 * JPEG frames with ffmpeg) uploaded as bursts to a real hub whose photo job asks the real detectors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { type TestPicture, testPictureSource } from '../ai/inference/fixtures/test-pictures.js';
import type { ConfigInput } from '../config/schema.js';
import { startTestHub, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';
import { BEST_SHOT_WEIGHTS, bestShotScore, type SubjectReading, subjectBonus } from './best-shot.js';
import { photos } from './photos.schema.js';
import { score } from './processing.js';

/** The test picture as an ESP32-sized JPEG: scaled up, centred on grey, `extra` filters after. */
function frame(name: TestPicture, extra?: string): Buffer {
  const { file, filter } = testPictureSource(name);
  const chain = [filter, 'scale=480:480', 'pad=640:480:80:0:gray', ...(extra ? [extra] : [])].join(',');
  return execFileSync('ffmpeg', [
    ...['-v', 'error', '-i', file, '-vf', chain, '-frames:v', '1', '-q:v', '3'],
    ...['-f', 'image2pipe', '-c:v', 'mjpeg', '-'],
  ]);
}

let pictures: Record<'frontal' | 'turned' | 'noFace' | 'blurredFace', Buffer>;
const hubs: TestHub[] = [];

before(() => {
  pictures = {
    // A man looking into the camera, as the sample photo has him.
    frontal: frame('frontal'),
    // A woman with her face turned (yaw ≈ −18°).
    turned: frame('turned'),
    // A seated woman too far for a face, sharpened: the sharpest and best-exposed of the burst.
    noFace: frame('personFar', 'unsharp=5:5:1.5'),
    // The frontal face badly out of focus.
    blurredFace: frame('frontal', 'gblur=sigma=4'),
  };
});
after(async () => {
  for (const hub of hubs) await hub.stop();
});

async function hubWithCamera(overrides: ConfigInput = {}) {
  const t = await startTestHub({
    photos: { uploadsPerMinute: 0 },
    jobs: { pollIntervalMs: 50 },
    ...overrides,
  });
  hubs.push(t);
  const made = t.hub.devices.create({ name: 'Hall cam', kind: 'camera' });
  t.hub.cameras.create({
    id: 'hall',
    name: 'Hall',
    kind: 'esp32',
    deviceId: made.device.id,
    powerProfile: 'battery',
    record: false,
  });

  /** Uploads a burst and waits for its best shot; the rows in upload order. */
  async function burst(burstId: string, files: Buffer[]) {
    const form = new FormData();
    for (const [i, data] of files.entries())
      form.append('photo', new Blob([new Uint8Array(data)], { type: 'image/jpeg' }), `${i}.jpg`);
    form.append('meta', JSON.stringify({ burstId, seq: 0, capturedAt: Date.now(), wakeReason: 'pir' }));
    const response = await fetch(`${t.url}/api/device/photos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${made.token}` },
      body: form,
    });
    assert.equal(response.status, 201, await response.clone().text());
    const ids = ((await response.json()) as { photos: { id: number }[] }).photos.map((p) => p.id);
    return waitFor(
      `burst ${burstId} ranked`,
      () => {
        const rows = ids.map((id) => t.hub.db.select().from(photos).where(eq(photos.id, id)).get()!);
        return rows.every((p) => p.state === 'completed') && rows.some((p) => p.best) ? rows : undefined;
      },
      20_000,
    );
  }
  return { t, burst };
}

const base = (p: { sharpness: number | null; exposure: number | null }) =>
  score({ sharpness: p.sharpness!, exposure: p.exposure! });

test('a frontal face beats a sharper photo without a face and a turned face; a badly blurred face does not', async (context) => {
  const { t, burst } = await hubWithCamera({ ai: { inference: { enabled: true } } });
  const started = performance.now();
  const [noFace, turned, frontal] = await burst('faces', [
    pictures.noFace,
    pictures.turned,
    pictures.frontal,
  ]);
  const ms = performance.now() - started;
  // By sharpness and exposure alone the photo without a face is the best, and the frontal one the worst.
  assert.ok(noFace!.sharpness! > frontal!.sharpness! && noFace!.sharpness! > turned!.sharpness!);
  assert.ok(base(noFace!) > base(turned!) && base(turned!) > base(frontal!));
  const best = [noFace!, turned!, frontal!].filter((p) => p.best);
  assert.deepEqual(
    best.map((p) => p.id),
    [frontal!.id],
    `scores ${[noFace, turned, frontal].map((p) => `${base(p!).toFixed(2)}→${p!.score!.toFixed(2)}`)}`,
  );
  // Each score was raised by what the detectors saw, and by no more than the largest bonus.
  const maxBonus = Object.values(BEST_SHOT_WEIGHTS).reduce((a, b) => a + b, 0);
  for (const p of [noFace!, turned!, frontal!]) {
    assert.ok(p.score! > base(p) && p.score! <= base(p) * (1 + maxBonus) + 1e-9, `${p.id}: ${p.score}`);
  }
  assert.ok(frontal!.score! / base(frontal!) > turned!.score! / base(turned!));
  const { body: health } = await (await t.owner()).get('/api/ai/health');
  for (const model of ['face', 'objects'])
    assert.equal(health.models.find((m: { name: string }) => m.name === model).inferences, 3, model);
  const figures = [noFace, turned, frontal].map((p) => `${base(p!).toFixed(2)} → ${p!.score!.toFixed(2)}`);
  context.diagnostic(
    `no face, turned, frontal: ${figures.join(', ')}; ranked in ${Math.round(ms)} ms (cold)`,
  );

  const [sharp, blurred] = await burst('blurred-face', [pictures.noFace, pictures.blurredFace]);
  assert.ok(blurred!.score! > base(blurred!), 'the blurred face is still a face');
  assert.deepEqual([sharp!.best, blurred!.best], [true, false]);
});

test('with the inference service off the sharpest photo wins as before', async () => {
  const { t, burst } = await hubWithCamera({ ai: { inference: { enabled: false } } });
  const [noFace, turned, frontal] = await burst('faces', [
    pictures.noFace,
    pictures.turned,
    pictures.frontal,
  ]);
  assert.deepEqual([noFace!.best, turned!.best, frontal!.best], [true, false, false]);
  for (const p of [noFace!, turned!, frontal!]) assert.equal(p.score, base(p));
  const { body: health } = await (await t.owner()).get('/api/ai/health');
  assert.equal(health.state, 'off');
});

test('the bonus: facing and open eyes count, a missing reading leaves the score as it was', () => {
  const person: SubjectReading = { subject: 0.7, face: { score: 0.95, yaw: 2, eyesOpen: true } };
  const closed = { ...person, face: { ...person.face!, eyesOpen: false } };
  const turnedAway = { ...person, face: { ...person.face!, yaw: -40 } };
  const pet: SubjectReading = { subject: 0.6, face: null };
  const empty: SubjectReading = { subject: 0, face: null };
  assert.ok(subjectBonus(person) > subjectBonus(closed));
  assert.ok(subjectBonus(closed) > subjectBonus(turnedAway));
  assert.ok(subjectBonus(turnedAway) > subjectBonus(pet));
  assert.ok(subjectBonus(pet) > subjectBonus(empty));
  assert.equal(subjectBonus(empty), 0);
  assert.equal(subjectBonus(pet), BEST_SHOT_WEIGHTS.subject);
  assert.ok(Math.abs(subjectBonus(closed) - (subjectBonus(person) - BEST_SHOT_WEIGHTS.eyesOpen)) < 1e-12);
  assert.equal(bestShotScore(4.2, null), 4.2);
  assert.ok(Math.abs(bestShotScore(4, person) - 4 * (1 + subjectBonus(person))) < 1e-12);
});
