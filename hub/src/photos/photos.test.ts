import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { decodeUploadReply } from '../protocol/compact.js';
import { tempDir } from '../testing/spawn-hub.js';
import { startTestHub, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';
import { cameraDeviceSettings, deviceCommands, photos } from './photos.schema.js';
import { photoRelPath } from './photos.service.js';
import { derivedPath } from './processing.js';

let t: TestHub;
let token = '';
let deviceId = 0;
let orphanToken = '';
const nas = path.join(tempDir('hearth-nas-'), 'nas');
const NOW = Date.now();

async function jpeg(seed: number, width = 640, height = 480): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: seed % 255, g: 80, b: 160 } } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

function upload(
  files: { data: Uint8Array; name?: string; field?: string }[],
  meta: unknown,
  options: { token?: string | null; accept?: string; rawMeta?: string } = {},
) {
  const form = new FormData();
  for (const file of files)
    form.append(
      file.field ?? 'photo',
      new Blob([new Uint8Array(file.data)], { type: 'image/jpeg' }),
      file.name ?? 'p.jpg',
    );
  if (meta !== undefined) form.append('meta', options.rawMeta ?? JSON.stringify(meta));
  const headers: Record<string, string> = {};
  const bearer = options.token === undefined ? token : options.token;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (options.accept) headers.accept = options.accept;
  return fetch(`${t.url}/api/device/photos`, { method: 'POST', headers, body: form });
}

const meta = (burstId: string, extra: Record<string, unknown> = {}) => ({
  burstId,
  seq: 0,
  capturedAt: NOW - 5000,
  intervalMs: 200,
  wakeReason: 'pir',
  batteryMv: 3950,
  rssi: -61,
  firmware: '0.3.1',
  ...extra,
});

const rows = () => t.hub.db.select().from(photos).all();
const nasPhotos = () =>
  existsSync(path.join(nas, 'photos'))
    ? (readdirSync(path.join(nas, 'photos'), { recursive: true }) as string[]).filter((n) =>
        n.endsWith('.jpg'),
      )
    : [];
const incoming = () => {
  const dir = path.join(t.dataDir, 'photos-incoming');
  return existsSync(dir) ? readdirSync(dir) : [];
};

before(async () => {
  mkdirSync(nas);
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  t = await startTestHub({
    // Bursts ranked by sharpness and exposure alone; with the detectors: best-shot.test.ts.
    ai: { inference: { enabled: false } },
    nasDir: nas,
    storage: { requireNasMount: false, nasCheckSeconds: 1 },
    photos: { uploadsPerMinute: 0, maxUploadBytes: 10 * 1024 * 1024 },
    jobs: { pollIntervalMs: 50, backoffBaseMs: 20, backoffMaxMs: 100 },
  });
  const made = t.hub.devices.create({ name: 'Pet cam', kind: 'camera' });
  token = made.token;
  deviceId = made.device.id;
  t.hub.cameras.create({
    id: 'pet',
    name: 'Pet',
    kind: 'esp32',
    deviceId,
    sourceUrl: 'http://127.0.0.1:9/stream',
  });
  orphanToken = t.hub.devices.create({ name: 'No camera', kind: 'camera' }).token;
});
after(async () => {
  await t?.stop();
  rmSync(path.dirname(nas), { recursive: true, force: true });
});

test('a burst is stored durably on the NAS in the documented layout; a retry stores nothing twice', async () => {
  const data = await Promise.all([1, 2, 3].map((i) => jpeg(i)));
  const first = await upload(
    data.map((d) => ({ data: d })),
    meta('burst-a'),
  );
  assert.equal(first.status, 201);
  const body = (await first.json()) as any;
  assert.equal(body.stored, 3);
  assert.equal(body.duplicates, 0);
  assert.deepEqual(
    body.photos.map((p: { seq: number }) => p.seq),
    [0, 1, 2],
  );
  const stored = rows();
  assert.equal(stored.length, 3);
  for (const [i, row] of stored.entries()) {
    assert.equal(row.location, 'nas');
    assert.equal(row.relPath, photoRelPath('pet', NOW - 5000 + i * 200, i));
    assert.match(row.relPath, /^photos\/pet\/\d{4}-\d{2}-\d{2}\/pet_\d{8}_\d{6}_\d{3}_\d\.jpg$/);
    assert.deepEqual(readFileSync(path.join(nas, row.relPath)), data[i], 'the bytes are the upload');
    assert.equal(statSync(path.join(nas, row.relPath)).size, row.bytes);
    assert.deepEqual([row.width, row.height, row.clockSuspect], [640, 480, false]);
    assert.equal(body.photos[i].state, 'queued', 'answered before any processing');
  }
  const device = t.hub.devices.list().find((d) => d.id === deviceId) as unknown as Record<string, unknown>;
  assert.ok(device);

  // The response was lost; the camera sends the same burst again.
  const retry = await upload(
    data.map((d) => ({ data: d })),
    meta('burst-a'),
  );
  assert.equal(retry.status, 200);
  const again = (await retry.json()) as any;
  assert.deepEqual([again.stored, again.duplicates], [0, 3]);
  assert.deepEqual(
    again.photos.map((p: { id: number }) => p.id),
    body.photos.map((p: { id: number }) => p.id),
  );
  assert.equal(rows().length, 3);
  assert.equal(nasPhotos().length, 3);
  assert.deepEqual(incoming(), [], 'no temporaries are left');
});

test('bad uploads get a clear 4xx and leave nothing behind', async () => {
  const before = { rows: rows().length, files: nasPhotos().length };
  const good = await jpeg(9);
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    [
      'truncated JPEG',
      () => upload([{ data: good }, { data: good.subarray(0, good.length >> 1) }], meta('bad-1')),
      422,
      /Photo part 1 .* is truncated/,
    ],
    [
      'JPEG cut in the middle of its scan, with an end marker put back',
      () =>
        upload(
          [{ data: Buffer.concat([good.subarray(0, good.length >> 1), Buffer.from([0xff, 0xd9])]) }],
          meta('bad-1b'),
        ),
      422,
      /Photo part 0 .* does not decode/,
    ],
    [
      'PNG named .jpg',
      () => upload([{ data: png, name: 'cat.jpg' }], meta('bad-2')),
      422,
      /Photo part 0 \("cat\.jpg"\) is not a JPEG/,
    ],
    ['0 bytes', () => upload([{ data: new Uint8Array(0) }], meta('bad-3')), 422, /is empty/],
    [
      'JPEG markers around garbage',
      () =>
        upload(
          [
            {
              data: Buffer.concat([
                Buffer.from([0xff, 0xd8, 0xff]),
                Buffer.alloc(5000, 7),
                Buffer.from([0xff, 0xd9]),
              ]),
            },
          ],
          meta('bad-4'),
        ),
      422,
      /does not decode/,
    ],
    [
      '11 MB body',
      () => upload([{ data: Buffer.alloc(11 * 1024 * 1024, 1) }], meta('bad-5')),
      413,
      /over 10485760 bytes/,
    ],
    ['no token', () => upload([{ data: good }], meta('bad-6'), { token: null }), 401, /device token/],
    [
      'unknown token',
      () => upload([{ data: good }], meta('bad-7'), { token: 'hd_not-a-token' }),
      401,
      /device token/,
    ],
    [
      'a device without a camera',
      () => upload([{ data: good }], meta('bad-8'), { token: orphanToken }),
      409,
      /no camera/,
    ],
    [
      'path characters in the burst id',
      () => upload([{ data: good }], meta('../../etc')),
      400,
      /Invalid meta/,
    ],
    ['no meta', () => upload([{ data: good }], undefined), 400, /meta.*missing/],
    ['meta not JSON', () => upload([{ data: good }], {}, { rawMeta: '{nope' }), 400, /not JSON/],
    ['unknown meta key', () => upload([{ data: good }], meta('bad-9', { extra: 1 })), 400, /Invalid meta/],
    [
      'wrong field name',
      () => upload([{ data: good, field: 'file' }], meta('bad-10')),
      400,
      /Unexpected file part/,
    ],
    ['no photo', () => upload([], meta('bad-11')), 400, /No `photo` part/],
    [
      'not multipart',
      () =>
        fetch(`${t.url}/api/device/photos`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
          body: new Uint8Array(good),
        }),
      415,
      /multipart/,
    ],
  ];
  for (const [name, send, status, message] of cases) {
    const response = await send();
    const text = await response.text();
    assert.equal(response.status, status, `${name}: ${text}`);
    assert.match(JSON.parse(text).error.message, message, name);
  }
  // A file name with path characters is only ever a label.
  const named = await upload([{ data: good, name: '../../../etc/passwd' }], meta('named'));
  assert.equal(named.status, 201);
  assert.equal(existsSync('/etc/passwd.jpg'), false);
  assert.deepEqual(
    { rows: rows().length, files: nasPhotos().length },
    { rows: before.rows + 1, files: before.files + 1 },
  );
  assert.deepEqual(incoming(), []);
  // A revoked token stops working at once.
  const extra = t.hub.devices.createToken(deviceId);
  assert.equal((await upload([{ data: good }], meta('rev-1'), { token: extra.token })).status, 201);
  t.hub.devices.revokeToken(deviceId, extra.info.id);
  assert.equal((await upload([{ data: good }], meta('rev-2'), { token: extra.token })).status, 401);
});

test('a capture time far from the hub clock is replaced by the receive time and flagged', async () => {
  const response = await upload([{ data: await jpeg(5) }], meta('clock', { capturedAt: 0 }));
  assert.equal(response.status, 201);
  const row = rows().find((r) => r.burstId === 'clock')!;
  assert.equal(row.clockSuspect, true);
  assert.equal(row.deviceTime, 0);
  assert.ok(Math.abs(row.capturedAt - Date.now()) < 60_000);
});

test('pending settings and commands ride on the reply (JSON and compact); acknowledged commands stop', async () => {
  t.hub.db
    .insert(cameraDeviceSettings)
    .values({ deviceId, settings: { frameSize: 'SVGA', burstLength: 5 }, version: 4, updatedAt: Date.now() })
    .run();
  const command = t.hub.db
    .insert(deviceCommands)
    .values({ deviceId, kind: 'capture_now', createdAt: Date.now() })
    .returning()
    .get();
  const json = (await (
    await upload([{ data: await jpeg(11) }], meta('cmd-1', { settingsVersion: 3 }))
  ).json()) as any;
  assert.deepEqual(json.settings, { settingsVersion: 4, frameSize: 'SVGA', burstLength: 5 });
  assert.deepEqual(json.commands, [{ id: command.id, kind: 'capture_now' }]);

  const compact = await upload([{ data: await jpeg(12) }], meta('cmd-2', { settingsVersion: 3 }), {
    accept: 'application/x-hearth-tlv',
  });
  assert.equal(compact.headers.get('content-type'), 'application/x-hearth-tlv');
  const reply = decodeUploadReply(new Uint8Array(await compact.arrayBuffer()));
  assert.equal(reply.stored, 1);
  assert.deepEqual(reply.settings, { settingsVersion: 4, frameSize: 'SVGA', burstLength: 5 });
  assert.deepEqual(reply.commands, [{ id: command.id, kind: 'capture_now' }]);

  // The camera applied version 4 and ran the command: neither comes again.
  const later = (await (
    await upload([{ data: await jpeg(13) }], meta('cmd-3', { settingsVersion: 4, ack: [command.id] }))
  ).json()) as any;
  assert.equal(later.settings, undefined);
  assert.deepEqual(later.commands, []);
});

test('processing: thumbnails and previews upright (EXIF), the sharpest photo of a burst is the best shot, enlarged 2×', async () => {
  // A sharp checkerboard, the same blurred, and the same very dark: the first must win.
  const checker = await sharp(
    Buffer.from(
      Array.from({ length: 480 * 640 }, (_, i) =>
        (Math.floor(i / 640 / 16) + Math.floor((i % 640) / 16)) % 2 ? 230 : 30,
      ),
    ),
    { raw: { width: 640, height: 480, channels: 1 } },
  )
    .jpeg({ quality: 90 })
    .toBuffer();
  const blurred = await sharp(checker).blur(6).jpeg().toBuffer();
  const dark = await sharp(checker).linear(0.1, 0).jpeg().toBuffer();
  // Stored sideways with EXIF orientation 6 (rotate 90° to view): the previews must come out portrait.
  const sideways = await sharp(checker).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  const response = await upload(
    [{ data: blurred }, { data: checker }, { data: dark }, { data: sideways }],
    meta('best-of'),
  );
  assert.equal(response.status, 201);
  const ids = ((await response.json()) as any).photos.map((p: { id: number }) => p.id) as number[];
  const done = await waitFor('the burst processed', () => {
    const burst = ids.map((id) => t.hub.db.select().from(photos).where(eq(photos.id, id)).get()!);
    return burst.every((p) => p.state === 'completed') && burst.some((p) => p.best) ? burst : undefined;
  });
  const [blurRow, sharpRow, darkRow, sidewaysRow] = done;
  assert.ok(
    sharpRow!.sharpness! > 5 * blurRow!.sharpness!,
    `${sharpRow!.sharpness} vs ${blurRow!.sharpness}`,
  );
  assert.ok(darkRow!.exposure! < sharpRow!.exposure!);
  assert.deepEqual(
    done.filter((p) => p.best).map((p) => p.id),
    [sharpRow!.score! >= sidewaysRow!.score! ? sharpRow!.id : sidewaysRow!.id],
    'exactly one best shot, the highest score',
  );
  const best = done.find((p) => p.best)!;
  const enlarged = await sharp(derivedPath(t.dataDir, best.id, 'enlarged')).metadata();
  const upright = best.id === sidewaysRow!.id ? { width: 480, height: 640 } : { width: 640, height: 480 };
  assert.deepEqual([enlarged.width, enlarged.height], [upright.width * 2, upright.height * 2]);
  const thumb = await sharp(derivedPath(t.dataDir, sidewaysRow!.id, 'thumb')).metadata();
  assert.ok(
    thumb.height! > thumb.width!,
    `the sideways photo's thumbnail is portrait: ${thumb.width}×${thumb.height}`,
  );
  assert.equal(thumb.width, 320);
  const preview = await sharp(derivedPath(t.dataDir, sharpRow!.id, 'preview')).metadata();
  assert.deepEqual([preview.width, preview.height], [640, 480], 'never enlarged beyond the original');
});

test('a photo whose processing keeps failing is retried with backoff, then marked failed with the error', async () => {
  // A row whose original is not where it says (deleted on the NAS by hand), given to the processing job.
  const row = t.hub.db
    .insert(photos)
    .values({
      cameraId: 'pet',
      deviceId,
      burstId: 'doomed',
      seq: 0,
      capturedAt: NOW,
      receivedAt: NOW,
      wakeReason: 'timer',
      width: 640,
      height: 480,
      bytes: 1000,
      location: 'nas',
      relPath: 'photos/pet/2026-01-01/pet_20260101_000000_000_0.jpg',
    })
    .returning()
    .get();
  t.hub.queue.enqueue('photos.process', { ids: [row.id] });
  const failed = await waitFor('the photo marked failed', () => {
    const now = t.hub.db.select().from(photos).where(eq(photos.id, row.id)).get()!;
    return now.state === 'failed' ? now : undefined;
  });
  assert.match(failed.error ?? '', /ENOENT|no such file/i);
  const job = t.hub.queue
    .list({ kind: 'photos.process', status: 'dead', limit: 10 })
    .find((j) => ((j.payload as { ids: number[] }).ids ?? []).includes(row.id));
  assert.ok(job, 'its job is dead-lettered');
  assert.equal(job!.attempts, 4, 'after 4 attempts');
  assert.ok(
    job!.finishedAt!.getTime() - job!.createdAt.getTime() >= 20 + 40 + 80,
    'with growing pauses between them',
  );
});

test('gallery: a day of photos best shot first, derived images and the original, favourite and delete by role; camera settings and commands from the UI reach the next upload', async () => {
  const member = await t.userWithRole('member');
  const viewer = await t.userWithRole('viewer');
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: t.hub.settings.read().timeZone }).format(
    new Date(NOW),
  );
  const list = await viewer.get(`/api/cameras/pet/photos?day=${day}`);
  assert.equal(list.status, 200);
  const burst = list.body.photos.filter((p: { burstId: string }) => p.burstId === 'best-of');
  assert.equal(burst.length, 4);
  const best = burst.find((p: { best: boolean }) => p.best);
  assert.ok(best, 'the best shot is marked');
  assert.equal(JSON.stringify(list.body).includes('relPath'), false, 'storage paths are not shown');
  assert.equal((await viewer.get('/api/cameras/pet/photos?day=24-11-2026')).status, 400);
  assert.equal((await viewer.get(`/api/cameras/nope/photos?day=${day}`)).status, 404);

  const thumb = await fetch(`${t.url}/api/photos/${best.id}/thumb.jpg`, {
    headers: { cookie: viewer.cookie },
  });
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
  assert.equal((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).width, 320);
  // A battery camera has no stream and no recording: its picture on the cameras grid is its newest photo.
  const snapshot = await fetch(`${t.url}/api/cameras/pet/snapshot.jpg`, {
    headers: { cookie: viewer.cookie },
  });
  assert.equal(snapshot.status, 200);
  assert.equal(snapshot.headers.get('content-type'), 'image/jpeg');
  const tag = snapshot.headers.get('etag')!;
  assert.match(tag, /^"photo-\d+"$/);
  const again = await fetch(`${t.url}/api/cameras/pet/snapshot.jpg`, {
    headers: { cookie: viewer.cookie, 'if-none-match': tag },
  });
  assert.equal(again.status, 304);
  const other = burst.find((p: { best: boolean }) => !p.best);
  assert.equal((await viewer.get(`/api/photos/${other.id}/enlarged.jpg`)).status, 404);
  assert.equal((await viewer.get(`/api/photos/${best.id}/huge.jpg`)).status, 400);
  const original = await fetch(`${t.url}/api/photos/${best.id}/original.jpg`, {
    headers: { cookie: viewer.cookie, range: 'bytes=0-1' },
  });
  assert.equal(original.status, 206);
  assert.deepEqual([...new Uint8Array(await original.arrayBuffer())], [0xff, 0xd8]);

  assert.equal((await viewer.patch(`/api/photos/${best.id}`, { favorite: true })).status, 403);
  assert.equal((await member.patch(`/api/photos/${best.id}`, { favorite: 'yes' })).status, 400);
  assert.equal((await member.patch(`/api/photos/${best.id}`, { favorite: true })).body.photo.favorite, true);
  const doomed = t.hub.db.select().from(photos).where(eq(photos.id, other.id)).get()!;
  assert.equal((await viewer.delete(`/api/photos/${other.id}`)).status, 403);
  assert.equal((await member.delete(`/api/photos/${other.id}`)).status, 204);
  assert.equal(existsSync(path.join(nas, doomed.relPath)), false, 'its file went with it');
  assert.equal((await member.get(`/api/photos/${other.id}`)).status, 404);

  // Settings and a command from the UI; the camera sees both on its next upload, once.
  for (const bad of [{ jpegQuality: 5 }, { frameSize: 'HUGE' }, { surprise: true }, { burstLength: 11 }])
    assert.equal(
      (await member.patch(`/api/devices/${deviceId}/camera`, bad)).status,
      400,
      JSON.stringify(bad),
    );
  assert.equal((await viewer.patch(`/api/devices/${deviceId}/camera`, { burstLength: 2 })).status, 403);
  const changed = await member.patch(`/api/devices/${deviceId}/camera`, {
    frameSize: 'HD',
    pirEnabled: false,
  });
  assert.equal(changed.status, 200);
  const version = changed.body.version as number;
  const queued = await member.post(`/api/devices/${deviceId}/commands`, {
    kind: 'start_stream',
    seconds: 30,
  });
  assert.equal(queued.status, 201);
  assert.equal((await member.post(`/api/devices/${deviceId}/commands`, { kind: 'sleep' })).status, 400);
  const compact = await upload([{ data: await jpeg(31) }], meta('ui-1', { settingsVersion: version - 1 }), {
    accept: 'application/x-hearth-tlv',
  });
  const reply = decodeUploadReply(new Uint8Array(await compact.arrayBuffer()));
  assert.equal(reply.settings?.settingsVersion, version);
  assert.equal(reply.settings?.frameSize, 'HD');
  assert.equal(reply.settings?.pirEnabled, false);
  assert.deepEqual(reply.commands, [{ id: queued.body.command.id, kind: 'start_stream', seconds: 30 }]);
  const state = await viewer.get(`/api/devices/${deviceId}/camera`);
  assert.equal(state.body.status.batteryMv, 3950);
  assert.equal(state.body.status.lastWakeReason, 'pir');
  assert.equal(state.body.pendingCommands.length, 1);
  const acked = (await (
    await upload(
      [{ data: await jpeg(32) }],
      meta('ui-2', { settingsVersion: version, ack: [queued.body.command.id] }),
    )
  ).json()) as any;
  assert.deepEqual([acked.settings, acked.commands], [undefined, []]);
  assert.equal((await viewer.get(`/api/devices/${deviceId}/camera`)).body.pendingCommands.length, 0);
});

test('with the NAS down an upload lands in the spool, the gallery serves it, and it moves to the NAS when the NAS is back', async () => {
  const marker = path.join(nas, '.hearth-nas');
  rmSync(marker);
  await waitFor('the NAS marked down', async () => {
    const { body } = await (await t.owner()).get('/api/storage');
    return body.nas.healthy === false ? true : undefined;
  });
  try {
    const data = await jpeg(41);
    const response = await upload([{ data }], meta('while-down', { capturedAt: NOW - 123_456 }));
    assert.equal(response.status, 201);
    const [photo] = ((await response.json()) as any).photos as { id: number }[];
    const row = t.hub.db.select().from(photos).where(eq(photos.id, photo!.id)).get()!;
    assert.equal(row.location, 'spool');
    assert.equal(existsSync(path.join(nas, row.relPath)), false, 'not one byte on the NAS path');
    const original = await fetch(`${t.url}/api/photos/${photo!.id}/original.jpg`, {
      headers: { cookie: (await t.owner()).cookie },
    });
    assert.equal(original.status, 200);
    assert.deepEqual(Buffer.from(await original.arrayBuffer()), data);
    writeFileSync(marker, 'hearth\n');
    const moved = await waitFor('the photo moved to the NAS', () => {
      const now = t.hub.db.select().from(photos).where(eq(photos.id, photo!.id)).get()!;
      return now.location === 'nas' ? now : undefined;
    });
    assert.deepEqual(readFileSync(path.join(nas, moved.relPath)), data);
  } finally {
    writeFileSync(marker, 'hearth\n');
  }
});

test('past the per-device rate limit an upload gets 429 with Retry-After and nothing is stored', async () => {
  const limitedNas = path.join(tempDir('hearth-nas-'), 'nas');
  mkdirSync(limitedNas);
  writeFileSync(path.join(limitedNas, '.hearth-nas'), 'hearth\n');
  const limited = await startTestHub({
    nasDir: limitedNas,
    storage: { requireNasMount: false },
    photos: { uploadsPerMinute: 2 },
  });
  try {
    const made = limited.hub.devices.create({ name: 'Busy cam', kind: 'camera' });
    limited.hub.cameras.create({
      id: 'busy',
      name: 'Busy',
      kind: 'esp32',
      deviceId: made.device.id,
      sourceUrl: 'http://127.0.0.1:9/',
    });
    const send = (burstId: string) => {
      const form = new FormData();
      return jpeg(51).then((data) => {
        form.append('photo', new Blob([new Uint8Array(data)], { type: 'image/jpeg' }), 'p.jpg');
        form.append('meta', JSON.stringify(meta(burstId)));
        return fetch(`${limited.url}/api/device/photos`, {
          method: 'POST',
          headers: { authorization: `Bearer ${made.token}` },
          body: form,
        });
      });
    };
    assert.equal((await send('l1')).status, 201);
    assert.equal((await send('l2')).status, 201);
    const refused = await send('l3');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(limited.hub.db.select().from(photos).all().length, 2);
  } finally {
    await limited.stop();
    rmSync(path.dirname(limitedNas), { recursive: true, force: true });
  }
});
