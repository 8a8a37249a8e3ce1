import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { manualClock } from '../../clock.js';
import { startTestHub, type TestClient, type TestHub } from '../../testing/index.js';
import { cryingClip, quietClip, soxClip } from './fixtures/clips.js';
import { parseWav } from './wav.js';

const missing = ['sox', 'espeak-ng'].filter((tool) => spawnSync(tool, ['--version']).status !== 0);
const skip = missing.length > 0 && `${missing.join(' and ')} not installed (the clips are made with them)`;

const HOUR = 3_600_000;

describe('household cry classifier', { skip }, () => {
  const clock = manualClock();
  let hub: TestHub;
  let member: TestClient;
  let subjectId = 0;
  const base = () => `/api/subjects/${subjectId}/cry`;
  const upload = (body: Uint8Array, type = 'audio/wav') =>
    member.request('POST', `${base()}/clips`, { body, headers: { 'content-type': type } });
  const clipFiles = () => {
    const dir = path.join(hub.dataDir, 'cry-clips', String(subjectId));
    return existsSync(dir) ? readdirSync(dir) : [];
  };
  const modelFiles = () => readdirSync(path.join(hub.dataDir, 'models', 'cry', String(subjectId))).sort();
  const active = async () => (await member.get(`${base()}/models`)).body.active as number | null;

  before(async () => {
    hub = await startTestHub({}, { clock });
    const owner = await hub.owner();
    const created = await owner.post('/api/subjects', { name: 'Mina', kind: 'baby', defaults: false });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    subjectId = created.body.subject.id;
    member = await hub.userWithRole('member');
  });
  after(() => hub.stop());

  test('clips are kept, labelled, and a training needs enough of each label', async () => {
    const labelled: number[] = [];
    for (let i = 0; i < 6; i++) {
      for (const [wav, label] of [
        [cryingClip(i), 'crying'],
        [quietClip(i), 'not_crying'],
      ] as const) {
        const kept = await upload(wav);
        assert.equal(kept.status, 201, JSON.stringify(kept.body));
        assert.equal(kept.body.clip.durationMs, 3000);
        assert.equal(typeof kept.body.clip.probability, 'number');
        assert.equal(kept.body.clip.expiresAt, clock.now() + 48 * HOUR);
        const marked = await member.put(`${base()}/clips/${kept.body.clip.id}/label`, { label });
        assert.equal(marked.status, 200);
        assert.equal(marked.body.clip.label, label);
        assert.equal(marked.body.clip.expiresAt, null);
        assert.ok(marked.body.clip.labelledBy > 0 && marked.body.clip.labelledAt === clock.now());
        labelled.push(kept.body.clip.id);
        if (labelled.length === 6) {
          const early = await member.post(`${base()}/models`);
          assert.equal(early.status, 409);
          assert.equal(early.body.error.code, 'not_enough_clips');
          assert.match(early.body.error.message, /at least 4 .* there are 3 and 3/);
          const counted = (await member.get(`${base()}/models`)).body.labelled;
          assert.deepEqual(counted, { crying: 3, notCrying: 3, needed: 4 });
        }
      }
    }
    const listed = await member.get(`${base()}/clips?label=crying`);
    assert.equal(listed.body.clips.length, 6);
    // An unlabelled clip does not count towards a training.
    const unlabelled = await upload(quietClip(7));
    const counted = (await member.get(`${base()}/models`)).body.labelled;
    assert.deepEqual(counted, { crying: 6, notCrying: 6, needed: 4 });
    assert.equal((await member.delete(`${base()}/clips/${unlabelled.body.clip.id}`)).status, 204);
    const audio = await member.get(`${base()}/clips/${labelled[0]}/audio`);
    assert.equal(audio.status, 200);
    assert.equal(audio.headers.get('content-type'), 'audio/wav');
    assert.equal(clipFiles().length, 12);
  });

  test('bad WAV uploads are refused and nothing is written', async () => {
    const before = clipFiles().length;
    const cases: [Uint8Array, number, RegExp, string?][] = [
      [soxClip(2, ['-c', '2']), 422, /2 channel\(s\)/],
      [soxClip(2, ['-r', '8000']), 422, /8000 Hz/],
      [cryingClip(1).subarray(0, 40_000), 422, /truncated/],
      [Buffer.from('hello, not audio'), 422, /not a RIFF\/WAVE/],
      [soxClip(0.5, []), 422, /at least 1000 ms/],
      [soxClip(10.3, []), 422, /at most 10000 ms/],
      [cryingClip(1), 415, /audio\/wav/, 'application/octet-stream'],
    ];
    for (const [body, status, message, type] of cases) {
      const response = await upload(body, type);
      assert.equal(response.status, status, JSON.stringify(response.body));
      assert.match(response.body.error.message, message);
    }
    // Refused from its Content-Length before it is read: the hub answers and drops the connection, so this one
    // goes on a connection of its own rather than one the next request would reuse.
    const oversized = soxClip(12, []);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        `${hub.url}${base()}/clips`,
        {
          method: 'POST',
          agent: false,
          headers: {
            cookie: member.cookie,
            origin: hub.url,
            'content-type': 'audio/wav',
            'content-length': oversized.byteLength,
          },
        },
        (response) => {
          let body = '';
          response.on('data', (chunk) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
      request.end(oversized);
    });
    assert.equal(answer.status, 413, answer.body);
    assert.match(answer.body, /A clip is at most/);
    assert.equal(clipFiles().length, before);
    assert.equal((await member.get(`${base()}/clips`)).body.clips.length, before);
  });

  test('train, activate, roll back; figures per version; the active model scores', async () => {
    const first = await member.post(`${base()}/models`);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const v1 = first.body.version;
    assert.equal(v1.version, 1);
    assert.equal(v1.active, false, 'a trained version waits to be activated');
    assert.equal(v1.kind, 'mlp8-mel40');
    assert.deepEqual([v1.clips, v1.positives, v1.negatives], [12, 6, 6]);
    // Every fourth clip of each label is held out: one of six.
    const held = v1.metrics.heldOut;
    assert.deepEqual([held.positives, held.negatives], [1, 1]);
    assert.equal(held.truePositives + held.trueNegatives, 2, JSON.stringify(v1.metrics));
    assert.equal(held.accuracy, 1);
    assert.equal(v1.metrics.training.positives, 5);
    assert.equal(v1.file, `${subjectId}/v1.json`);
    assert.equal(await active(), null);

    assert.equal((await member.post(`${base()}/models/1/activate`)).status, 200);
    const second = await member.post(`${base()}/models`);
    assert.equal(second.body.version.version, 2);
    assert.equal(await active(), 1, 'training v2 leaves v1 active');
    // The same clips give the same weights.
    const file1 = await member.request('GET', `${base()}/models/1/file`);
    const file2 = await member.request('GET', `${base()}/models/2/file`);
    assert.deepEqual(file1.body.layers, file2.body.layers);

    assert.equal((await member.post(`${base()}/models/2/activate`)).body.version.active, true);
    assert.equal(await active(), 2);
    const back = await member.post(`${base()}/models/rollback`);
    assert.equal(back.status, 200);
    assert.equal(back.body.active.version, 1);
    assert.equal(await active(), 1);

    // Scoring with the active model: a new crying clip comes out above its threshold, noise below.
    const score = (wav: Buffer) => hub.hub.cry.probability(subjectId, parseWav(wav).samples);
    const crying = await score(cryingClip(9));
    const quiet = await score(quietClip(9));
    assert.equal(crying.source, 'model');
    assert.equal(crying.version, 1);
    assert.ok(crying.crying && !quiet.crying, JSON.stringify({ crying, quiet }));

    const versions = (await member.get(`${base()}/models`)).body.versions;
    assert.deepEqual(
      versions.map((v: { version: number; active: boolean }) => [v.version, v.active]),
      [
        [2, false],
        [1, true],
      ],
    );
  });

  test('a truncated or tampered model file is refused; the active version stays and nothing is added', async () => {
    const exported = await member.request('GET', `${base()}/models/1/file`);
    assert.equal(exported.status, 200);
    const text = JSON.stringify(exported.body, null, 1);
    const filesBefore = modelFiles();
    const importFile = (body: string) =>
      member.request('POST', `${base()}/models/import?name=v1.json`, {
        body,
        headers: { 'content-type': 'application/json' },
      });

    const truncated = await importFile(text.slice(0, Math.floor(text.length / 2)));
    assert.equal(truncated.status, 422);
    assert.equal(truncated.body.error.code, 'model_invalid');
    assert.match(truncated.body.error.details.reason, /not JSON/);

    const tampered = structuredClone(exported.body);
    tampered.layers[0].weights[3][0] += 0.5;
    const edited = await importFile(JSON.stringify(tampered));
    assert.equal(edited.status, 422);
    assert.match(edited.body.error.details.reason, /does not match its checksum/);

    const wrongShape = structuredClone(exported.body);
    wrongShape.layers[0].weights.pop();
    assert.equal((await importFile(JSON.stringify(wrongShape))).status, 422);
    const otherFormat = await importFile(JSON.stringify({ ...exported.body, format: 'something/2' }));
    assert.match(otherFormat.body.error.details.reason, /format is "something\/2"/);

    assert.deepEqual(modelFiles(), filesBefore);
    assert.equal((await member.get(`${base()}/models`)).body.versions.length, 2);
    assert.equal(await active(), 1);

    // Damaged on disk: activating it is refused with the reason, v1 stays active.
    const onDisk = path.join(hub.dataDir, 'models', 'cry', String(subjectId), 'v2.json');
    writeFileSync(onDisk, readFileSync(onDisk).subarray(0, 200));
    const refused = await member.post(`${base()}/models/2/activate`);
    assert.equal(refused.status, 422);
    assert.match(refused.body.error.details.reason, /sha256 is not the one recorded/);
    assert.equal(await active(), 1);

    // The untouched export imports as a new, inactive version.
    const imported = await importFile(text);
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    assert.equal(imported.body.version.version, 3);
    assert.equal(imported.body.version.active, false);
    assert.equal(imported.body.version.note, 'imported from v1.json');
    assert.equal(await active(), 1);
  });

  test('rolling back past the first version returns to the default detector', async () => {
    const back = await member.post(`${base()}/models/rollback`);
    assert.equal(back.status, 200);
    assert.equal(back.body.active, null);
    assert.equal(await active(), null);
    assert.equal((await member.post(`${base()}/models/rollback`)).status, 409);
    const viewer = await hub.userWithRole('viewer');
    assert.equal((await viewer.post(`${base()}/models`)).status, 403);
  });

  test('unlabelled clips expire after 48 h; labelled ones stay', async () => {
    const kept = await upload(quietClip(4));
    assert.equal(kept.status, 201);
    assert.ok(
      (await member.get('/api/loops')).body.loops.some(
        (loop: { name: string }) => loop.name === 'cry.clips.expire',
      ),
    );
    clock.advance(47 * HOUR);
    assert.equal(await hub.hub.cry.expireClips(), 0);
    clock.advance(2 * HOUR);
    assert.equal(await hub.hub.cry.expireClips(), 1);
    assert.equal(clipFiles().length, 12);
    const owner = await hub.owner();
    const clips = (await owner.get(`${base()}/clips`)).body.clips;
    assert.equal(clips.length, 12);
    assert.ok(clips.every((clip: { label: string | null }) => clip.label !== null));
  });
});
