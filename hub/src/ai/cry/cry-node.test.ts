import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestHub, type TestClient, type TestHub } from '../../testing/index.js';
import { cryingClip, quietClip } from './fixtures/clips.js';
import { parseModelFile, sha256 } from './model-file.js';

const missing = ['sox', 'espeak-ng'].filter((tool) => spawnSync(tool, ['--version']).status !== 0);
const skip = missing.length > 0 && `${missing.join(' and ')} not installed (the clips are made with them)`;

/** The device routes a node's microphone driver uses: its subject's active model, and its snippets. */
describe('cry routes for nodes', { skip }, () => {
  let hub: TestHub;
  let member: TestClient;
  let node: { id: number; token: string };
  let other: { id: number; token: string };
  let mina = 0;
  let leo = 0;

  const asDevice = (
    token: string,
    method: string,
    url: string,
    init: { body?: Uint8Array; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${hub.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
      ...(init.body ? { body: init.body } : {}),
    });
  const postClip = (token: string, wav: Uint8Array, query = '') =>
    asDevice(token, 'POST', `/api/device/cry/clips${query}`, {
      body: wav,
      headers: { 'content-type': 'audio/wav' },
    });

  before(async () => {
    hub = await startTestHub();
    const owner = await hub.owner();
    member = await hub.userWithRole('member');
    const make = (name: string) => {
      const { device, token } = hub.hub.devices.create({ name, kind: 'node' });
      return { id: device.id, token };
    };
    node = make('cradle');
    other = make('hallway');
    const subject = async (name: string, deviceIds: number[]) =>
      (await owner.post('/api/subjects', { name, kind: 'baby', defaults: false, deviceIds })).body.subject
        .id as number;
    mina = await subject('Mina', [node.id]);
    leo = await subject('Leo', []);
  });
  after(() => hub.stop());

  test('the node’s subject is the one it watches: none is 404, several need `subject`', async () => {
    const unwatched = await asDevice(other.token, 'GET', '/api/device/cry/model');
    assert.equal(unwatched.status, 404);
    assert.equal(((await unwatched.json()) as any).error.code, 'no_subject');
    assert.equal((await asDevice(node.token, 'GET', `/api/device/cry/model?subject=${leo}`)).status, 404);

    const none = await asDevice(node.token, 'GET', '/api/device/cry/model');
    assert.equal(none.status, 204, 'no active version: the default detector');
    assert.equal(none.headers.get('x-hearth-subject'), String(mina));

    hub.hub.care.updateSubject(leo, { deviceIds: [node.id] });
    const ambiguous = await asDevice(node.token, 'GET', '/api/device/cry/model');
    assert.equal(ambiguous.status, 409);
    assert.equal(((await ambiguous.json()) as any).error.code, 'subject_ambiguous');
    assert.equal((await asDevice(node.token, 'GET', `/api/device/cry/model?subject=${mina}`)).status, 204);
    hub.hub.care.updateSubject(leo, { deviceIds: [] });
  });

  test('a snippet from the node becomes an unlabelled clip of its subject, with the node and when it was recorded', async () => {
    const recordedAt = Date.now() - 7_000;
    const kept = await postClip(node.token, cryingClip(2, 5), `?recordedAt=${recordedAt}`);
    assert.equal(kept.status, 201);
    const { clip } = (await kept.json()) as any;
    assert.equal(clip.subjectId, mina);
    assert.equal(clip.deviceId, node.id);
    assert.equal(clip.recordedAt, recordedAt);
    assert.equal(clip.label, null);
    assert.ok(clip.expiresAt > Date.now() + 47 * 3_600_000);
    const listed = (await member.get(`/api/subjects/${mina}/cry/clips?label=unlabelled`)).body.clips;
    assert.deepEqual(
      listed.map((row: { id: number }) => row.id),
      [clip.id],
    );

    assert.equal(
      (await postClip(other.token, quietClip(0))).status,
      404,
      'a node without a subject keeps nothing',
    );
    const wrongType = await asDevice(node.token, 'POST', '/api/device/cry/clips', {
      body: quietClip(0),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(wrongType.status, 415);
    const stereo = await postClip(node.token, Buffer.from('RIFF....WAVEjunk'));
    assert.equal(stereo.status, 422);
    assert.equal((await member.get(`/api/subjects/${mina}/cry/clips`)).body.clips.length, 1);
  });

  test('the active version’s file with its sha256 as ETag, 304 while it is unchanged, 204 after rolling back; a damaged file is 422', async () => {
    for (let i = 0; i < 4; i++)
      for (const [wav, label] of [
        [cryingClip(i), 'crying'],
        [quietClip(i), 'not_crying'],
      ] as const) {
        const clip = await hub.hub.cry.addClip(mina, wav);
        hub.hub.cry.label(mina, clip.id, label, undefined);
      }
    const trained = await hub.hub.cry.train(mina);
    assert.equal(
      (await asDevice(node.token, 'GET', '/api/device/cry/model')).status,
      204,
      'trained, not active',
    );
    await hub.hub.cry.activate(mina, trained.version);

    const served = await asDevice(node.token, 'GET', '/api/device/cry/model');
    assert.equal(served.status, 200);
    const bytes = new Uint8Array(await served.arrayBuffer());
    assert.equal(served.headers.get('etag'), `"${sha256(bytes)}"`);
    assert.equal(served.headers.get('etag'), `"${trained.sha256}"`);
    assert.equal(served.headers.get('x-hearth-cry-version'), String(trained.version));
    assert.equal(parseModelFile(bytes, trained.sha256).threshold, trained.metrics.training.threshold);

    const again = await asDevice(node.token, 'GET', '/api/device/cry/model', {
      headers: { 'if-none-match': `"${'0'.repeat(64)}", "${trained.sha256}"` },
    });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('x-hearth-cry-version'), String(trained.version));
    const stale = await asDevice(node.token, 'GET', '/api/device/cry/model', {
      headers: { 'if-none-match': `"${'0'.repeat(64)}"` },
    });
    assert.equal(stale.status, 200);
    await stale.arrayBuffer();

    // Damaged on disk after activation: refused with the reason rather than handed to the node.
    const file = path.join(hub.dataDir, 'models', 'cry', trained.file);
    const good = readFileSync(file);
    writeFileSync(file, good.subarray(0, 300));
    const damaged = await asDevice(node.token, 'GET', '/api/device/cry/model');
    assert.equal(damaged.status, 422);
    assert.equal(((await damaged.json()) as any).error.code, 'model_invalid');
    writeFileSync(file, good);

    await hub.hub.cry.rollback(mina);
    assert.equal((await asDevice(node.token, 'GET', '/api/device/cry/model')).status, 204);
  });
});
