/**
 * The microphone driver end to end: real ffmpeg reading sox-made audio (a file looped at 4× speed stands in
 * for ALSA, which these machines lack), the real agent sending readings to a real hub, the hub's device routes
 * handing over models and taking snippets. A small proxy between node and hub can alter the model file in
 * transit, as a bad file from the hub would be.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestHub, type TestClient, type TestHub, tempDir, waitFor } from '@hearth/hub/testing';
import { startAgent } from '../agent.js';
import { nodeConfigSchema } from '../config.js';

const missing = [
  ['ffmpeg', '-version'],
  ['sox', '--version'],
].filter(([tool, flag]) => spawnSync(tool!, [flag!]).status !== 0);
const skip = missing.length > 0 && `${missing.map(([tool]) => tool).join(' and ')} not installed`;

const dir = tempDir('hearth-cry-node-');
const PCM = ['-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer'];

/** Cry-like: sawtooth bursts of 0.7–1.0 s at 400–520 Hz with a falling slide, short breathy gaps. */
function crying(seconds: number, variant: number): string[] {
  const parts: string[] = [];
  for (let i = 0, t = 0; t < seconds; i++) {
    const length = 0.7 + ((variant + i) % 4) * 0.1;
    const gap = 0.3 + ((variant * 3 + i) % 3) * 0.1;
    const f0 = 400 + ((variant * 5 + i * 3) % 7) * 20;
    parts.push(
      `|sox -R -n -p synth ${length.toFixed(2)} sawtooth ${f0 * 1.06}:${f0 * 0.95} vol 0.35 lowpass 4000 fade t 0.05 ${length.toFixed(2)} 0.1`,
      `|sox -R -n -p synth ${gap.toFixed(2)} pinknoise vol 0.01`,
    );
    t += length + gap;
  }
  return parts;
}
const quiet = (seconds: number, variant: number) => [
  variant % 2
    ? `|sox -R -n -p synth ${seconds} brownnoise vol 0.05`
    : `|sox -R -n -p synth ${seconds} sawtooth ${100 + variant * 10} vol 0.1 lowpass 900`,
];

function sox(name: string, inputs: string[], seconds: number): string {
  const out = path.join(dir, name);
  execFileSync('sox', ['-R', ...inputs, ...PCM, out, 'trim', '0', String(seconds)], { stdio: 'ignore' });
  return out;
}

describe('cry sensor on the node', { skip }, () => {
  let hub: TestHub;
  let member: TestClient;
  let subjectId = 0;
  let nodeId = 0;
  let agent: ReturnType<typeof startAgent>;
  let proxy: http.Server;
  /** When set, the proxy changes a weight in the model file the hub sends. */
  let damageModels = false;
  const logged: string[] = [];

  /** Everything the node asks goes through here, unchanged unless `damageModels`. */
  async function startProxy(target: URL): Promise<string> {
    proxy = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => {
        const upstream = http.request(
          new URL(request.url!, target),
          { method: request.method, headers: { ...request.headers, host: target.host } },
          (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (chunk) => body.push(chunk));
            answer.on('end', () => {
              let bytes = Buffer.concat(body);
              if (
                damageModels &&
                request.url!.startsWith('/api/device/cry/model') &&
                answer.statusCode === 200
              ) {
                // Still JSON, still the right shape: only the checks of the file itself can tell.
                const model = JSON.parse(bytes.toString());
                model.layers[0].weights[0][0] += 1;
                bytes = Buffer.from(JSON.stringify(model));
              }
              const headers = { ...answer.headers, 'content-length': String(bytes.length) };
              delete headers['transfer-encoding'];
              response.writeHead(answer.statusCode!, headers).end(bytes);
            });
          },
        );
        upstream.on('error', () => response.destroy());
        upstream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  }

  /**
   * Polls tolerate a dropped connection (a keep-alive socket the loaded hub closed as it was reused):
   * a poll that keeps failing still ends in waitFor's timeout.
   */
  const poll =
    <T>(check: () => Promise<T | undefined>) =>
    () =>
      check().catch((error: Error) => {
        if (error.message === 'fetch failed') return undefined;
        throw error;
      });
  const readings = async () =>
    (await member.get(`/api/nodes/${nodeId}/readings?kind=crying`)).body.readings as {
      at: number;
      state: string;
      confidence: number;
    }[];
  const sensorDetail = async () => {
    const detail = (await member.get(`/api/nodes/${nodeId}`)).body;
    return (detail.heartbeat?.sensors ?? detail.node?.heartbeat?.sensors ?? []).find(
      (sensor: { name: string }) => sensor.name === 'nursery-mic',
    )?.detail as string | undefined;
  };
  const detailMatching = (pattern: RegExp) =>
    waitFor(
      `sensor detail ${pattern}`,
      poll(async () => {
        const detail = await sensorDetail();
        return detail && pattern.test(detail) ? detail : undefined;
      }),
      30_000,
    );

  before(async () => {
    // 4 s of room, 8 s of crying, 6 s of room: looped, one scene every 4.5 s at 4× speed.
    const scene = sox('scene.wav', [...quiet(4, 1), ...crying(8, 0), ...quiet(6, 2)], 18);
    hub = await startTestHub({ nodes: { heartbeatSeconds: 1 } });
    const owner = await hub.owner();
    member = await hub.userWithRole('member');
    const code = (await owner.post('/api/nodes/codes', { name: 'Cradle' })).body.code as string;
    const enrolled = await hub.client().post('/api/device/enrol', { code });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    nodeId = enrolled.body.device.id;
    const subject = await owner.post('/api/subjects', {
      name: 'Mina',
      kind: 'baby',
      defaults: false,
      deviceIds: [nodeId],
    });
    subjectId = subject.body.subject.id;

    const hubUrl = await startProxy(new URL(hub.url));
    const config = nodeConfigSchema.parse({
      heartbeatSeconds: 1,
      commandWaitSeconds: 1,
      sensors: [
        {
          type: 'audio',
          name: 'nursery-mic',
          input: ['-readrate', '4', '-stream_loop', '-1', '-i', scene],
          modelCheckSeconds: 1,
          reportSeconds: 30,
          snippets: { everySeconds: 30, quietEverySeconds: 10 },
        },
      ],
    });
    const stateDir = path.join(dir, 'node');
    mkdirSync(stateDir);
    agent = startAgent({
      stateDir,
      state: { hubUrl, token: enrolled.body.token },
      config,
      log: { info: (line) => logged.push(line), warn: (line) => logged.push(line) },
    });
  });
  after(async () => {
    await agent?.stop();
    proxy?.close();
    await hub?.stop();
  });

  test('the default detector: crying and quiet readings reach the hub with the probability; snippets arrive as unlabelled clips', async () => {
    const seen = await waitFor(
      'crying then quiet',
      poll(async () => {
        const all = await readings();
        const cry = all.findIndex((r) => r.state === 'crying');
        return cry >= 0 && all.slice(cry).some((r) => r.state === 'quiet') ? all : undefined;
      }),
      30_000,
    );
    const cry = seen.find((r) => r.state === 'crying')!;
    assert.ok(cry.confidence >= 0.6, JSON.stringify(cry));
    assert.ok(
      seen.filter((r) => r.state === 'quiet').every((r) => r.confidence < 0.6),
      JSON.stringify(seen),
    );
    assert.match((await detailMatching(/default detector/))!, /hops at \d+ ms/);

    const clips = await waitFor(
      'a crying and a quiet snippet',
      poll(async () => {
        const all = (await member.get(`/api/subjects/${subjectId}/cry/clips?label=unlabelled`)).body
          .clips as {
          deviceId: number;
          durationMs: number;
          probability: number;
        }[];
        return all.some((c) => c.probability >= 0.6) && all.some((c) => c.probability < 0.3)
          ? all
          : undefined;
      }),
      30_000,
    );
    for (const clip of clips) {
      assert.equal(clip.deviceId, nodeId);
      assert.equal(clip.durationMs, 5_000);
    }
  });

  test('a model file damaged on its way is refused and the default detector stays; intact, the household model takes over', async () => {
    for (let i = 0; i < 4; i++)
      for (const [file, label] of [
        [sox(`cry-${i}.wav`, crying(3, i + 1), 3), 'crying'],
        [sox(`quiet-${i}.wav`, quiet(3, i), 3), 'not_crying'],
      ] as const) {
        const kept = await member.request('POST', `/api/subjects/${subjectId}/cry/clips`, {
          body: readFileSync(file),
          headers: { 'content-type': 'audio/wav' },
        });
        assert.equal(kept.status, 201, JSON.stringify(kept.body));
        await member.put(`/api/subjects/${subjectId}/cry/clips/${kept.body.clip.id}/label`, { label });
      }
    const trained = await member.post(`/api/subjects/${subjectId}/cry/models`);
    assert.equal(trained.status, 201, JSON.stringify(trained.body));
    damageModels = true;
    assert.equal((await member.post(`/api/subjects/${subjectId}/cry/models/1/activate`)).status, 200);
    const refused = await detailMatching(/model v1 refused/);
    assert.match(refused!, /^default detector/);
    assert.ok(
      logged.some((line) => /model v1 refused: .*sha256/.test(line)),
      logged.join('\n'),
    );

    damageModels = false;
    await detailMatching(/^model v1;/);
    assert.ok(logged.includes('nursery-mic: household cry model v1 in use'));
    const switched = Date.now();
    const byModel = await waitFor(
      'a crying reading scored by the model',
      poll(async () => (await readings()).find((r) => r.at > switched && r.state === 'crying')),
      30_000,
    );
    assert.ok(byModel.confidence >= trained.body.version.metrics.training.threshold, JSON.stringify(byModel));
  });

  test('rolled back on the hub, the node goes back to the default detector', async () => {
    assert.equal((await member.post(`/api/subjects/${subjectId}/cry/models/rollback`)).status, 200);
    await detailMatching(/^default detector/);
  });
});
