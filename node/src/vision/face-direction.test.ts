/**
 * Face direction on the edge node: the reporter's rules with made-up faces, then the whole path — the Pi
 * camera (a stand-in filming a scene made from the test pictures), the node's feed, the sampled pictures,
 * human's face model in the inference worker, the outbox — into a real hub as `direction` readings, and
 * through its care engine as an alert.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FaceReading } from '@hearth/hub/ai';
import { startTestHub, type TestClient, type TestHub, tempDir, waitFor } from '@hearth/hub/testing';
import { nodeConfigSchema } from '../config.js';
import { agentProcess } from '../testing/agent-process.js';
import { directionReporter, faceDirectionSensorSchema } from './face-direction.js';
import { writeScene } from './fixtures/scene.js';

const face = (yaw: number, pitch = 0, score = 0.9): FaceReading => ({
  score,
  yaw,
  pitch,
  roll: 0,
  box: { x: 0.3, y: 0.3, w: 0.3, h: 0.3 },
  eyesOpen: true,
});

test('readings on each confirmed change (dated at its first picture) and again every repeatSeconds; one odd picture is not a turn', () => {
  const config = faceDirectionSensorSchema.parse({ type: 'face_direction', name: 'cradle', camera: 'c' });
  assert.equal(config.fps, 2);
  const reporter = directionReporter(config);
  const at = (second: number) => 1_000_000 + second * 1000;
  assert.deepEqual(reporter.observe({ at: at(0), face: face(2, -3) }), []);
  assert.deepEqual(reporter.observe({ at: at(0.5), face: face(3, -3) }), [
    { at: at(0), sensor: 'cradle', kind: 'direction', state: 'front', value: 2, confidence: 0.9 },
    { at: at(0), sensor: 'cradle', kind: 'face_pitch', value: -3, confidence: 0.9 },
  ]);
  // One picture turned, then front again: nothing to say.
  assert.deepEqual(reporter.observe({ at: at(1), face: face(-30) }), []);
  assert.deepEqual(reporter.observe({ at: at(1.5), face: face(1) }), []);
  // Unchanged: said again once repeatSeconds (10) have passed since the last reading.
  assert.deepEqual(reporter.observe({ at: at(9.5), face: face(1) }), []);
  assert.equal(reporter.observe({ at: at(10), face: face(1.04) })[0]?.value, 1);
  // Face down, though also turned; then gone: no_face has no yaw and no pitch.
  reporter.observe({ at: at(11), face: face(-30, 35) });
  assert.equal(reporter.observe({ at: at(11.5), face: face(-30, 35) })[0]?.state, 'down');
  reporter.observe({ at: at(12), face: null });
  assert.deepEqual(reporter.observe({ at: at(12.5), face: face(0, 0, 0.2) }), [
    { at: at(12), sensor: 'cradle', kind: 'direction', state: 'no_face' },
  ]);
  assert.equal(reporter.current(), 'no_face');
});

test('a face_direction sensor must name one of the node’s cameras', () => {
  const sensor = { type: 'face_direction', name: 'cradle', camera: 'nursery' };
  const camera = { id: 'nursery', source: { type: 'demo' } };
  assert.ok(nodeConfigSchema.safeParse({ nasDir: '/nas', sensors: [sensor], cameras: [camera] }).success);
  const wrong = nodeConfigSchema.safeParse({ nasDir: '/nas', sensors: [{ ...sensor, camera: 'hall' }] });
  assert.match(wrong.error?.issues[0]?.message ?? '', /face_direction sensor names one of this node/);
});

const root = tempDir('hearth-face-');
let hub: TestHub;
let owner: TestClient;
before(async () => {
  // One-second heartbeats: the sensor health with the model's figures arrives without a 15 s wait.
  hub = await startTestHub({ nodes: { heartbeatSeconds: 1 } });
  owner = await hub.owner();
});
after(() => hub.stop());

test('the cradle camera films a face front, turned left, turned right, gone: direction readings reach the hub in that order, and "not front" raises an alert', async (t) => {
  const { device, token } = hub.hub.devices.create({ name: 'cradle-pi', kind: 'node' });
  const stateDir = path.join(root, 'node');
  const nas = path.join(root, 'nas');
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(nas, { recursive: true });
  writeFileSync(path.join(stateDir, 'node.json'), JSON.stringify({ hubUrl: hub.url, token }), {
    mode: 0o600,
  });
  const scene = writeScene(path.join(root, 'scene.mp4'), ['frontal', 'turned', 'turnedMirrored', 'empty']);
  // The agent process inherits the environment: the stand-in camera reads its scene from it.
  process.env.SCENE_RPICAM_FILE = scene;
  writeFileSync(
    path.join(stateDir, 'config.json'),
    JSON.stringify({
      heartbeatSeconds: 1,
      nasDir: nas,
      nasRequireMount: false,
      live: { host: '127.0.0.1', port: 0 },
      cameras: [
        {
          id: 'cradle-cam',
          source: {
            type: 'rpicam',
            command: fileURLToPath(new URL('./fixtures/scene-rpicam', import.meta.url)),
            width: 640,
            height: 480,
            fps: 10,
          },
          segmentSeconds: 10,
        },
      ],
      sensors: [{ type: 'face_direction', name: 'cradle-face', camera: 'cradle-cam', backend: 'wasm' }],
    }),
  );
  const subject = await owner.post('/api/subjects', {
    name: 'Minji',
    kind: 'baby',
    deviceIds: [device.id],
    defaults: false,
  });
  assert.equal(subject.status, 201, JSON.stringify(subject.body));
  // The default rule "Face not up" waits 30 s; the scene turns away for 12 s at a time, so 6 s here.
  const rule = await owner.post(`/api/subjects/${subject.body.subject.id}/rules`, {
    name: 'Face not front',
    kind: 'state',
    readingKind: 'direction',
    severity: 'emergency',
    params: { state: 'front', negate: true, forSeconds: 6, resolveSeconds: 0, sensor: 'cradle-face' },
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));

  const agent = agentProcess(stateDir, ['run']);
  t.after(() => agent.stop('SIGKILL'));
  const readings = async () =>
    (await owner.get(`/api/nodes/${device.id}/readings?limit=1000`)).body.readings as {
      kind: string;
      sensor: string;
      state: string | null;
      value: number | null;
      confidence: number | null;
    }[];
  const directions = await waitFor(
    'front, left, right and no_face from the camera',
    async () => {
      const found = (await readings()).filter((r) => r.kind === 'direction');
      const states = new Set(found.map((r) => r.state));
      return ['front', 'left', 'right', 'no_face'].every((s) => states.has(s)) ? found : undefined;
    },
    40_000,
    250,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${agent.output().slice(-3000)}`);
  });

  // Every change is one the scene makes (it loops: front → left → right → no_face → front): no wrong label.
  const next: Record<string, string> = { front: 'left', left: 'right', right: 'no_face', no_face: 'front' };
  for (let i = 1; i < directions.length; i++) {
    const [before, now] = [directions[i - 1]!.state!, directions[i]!.state!];
    if (before !== now) assert.equal(now, next[before], JSON.stringify(directions));
  }
  for (const reading of directions) {
    assert.equal(reading.sensor, 'cradle-face');
    if (reading.state === 'no_face') assert.equal(reading.value, null);
    else assert.ok(reading.confidence! >= 0.5, JSON.stringify(reading));
    if (reading.state === 'front') assert.ok(Math.abs(reading.value!) < 15, JSON.stringify(reading));
    if (reading.state === 'left') assert.ok(reading.value! <= -15, JSON.stringify(reading));
    if (reading.state === 'right') assert.ok(reading.value! >= 15, JSON.stringify(reading));
  }
  const pitches = (await readings()).filter((r) => r.kind === 'face_pitch');
  assert.ok(pitches.length >= 3 && pitches.every((r) => Math.abs(r.value!) < 20), JSON.stringify(pitches));

  // The state rule on those readings: 6 s without a front face fires it, the face front again resolves it.
  const incident = await waitFor(
    'the "not front" alert',
    async () => {
      const found = (await owner.get(`/api/incidents?subjectId=${subject.body.subject.id}`)).body.incidents;
      return found.length ? found[0] : undefined;
    },
    30_000,
  );
  assert.equal(incident.title, 'Minji: Face not front');
  await waitFor(
    'the alert resolved by a front face',
    async () => {
      const found = (await owner.get(`/api/incidents/${incident.id}`)).body.incident;
      return found.state === 'resolved' ? true : undefined;
    },
    30_000,
  );

  // The node tells the hub how its face model does (heartbeat sensor health).
  const health = await waitFor('the sensor health in a heartbeat', async () => {
    const sensors = (await owner.get(`/api/nodes/${device.id}`)).body.node?.heartbeat?.sensors ?? [];
    const sensor = sensors.find((s: { name: string }) => s.name === 'cradle-face');
    return /\d+ ms per picture/.test(sensor?.detail) ? sensor : undefined;
  });
  assert.equal(health.healthy, true, JSON.stringify(health));
  assert.match(health.detail, /^(front|left|right|no_face); \d+ ms per picture on wasm, \d+ pictures/);
  t.diagnostic(`sensor health: ${health.detail}`);
});
