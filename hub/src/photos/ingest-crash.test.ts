/**
 * SIGKILL of the compiled hub while 200 uploads are in flight, three rounds. Every upload answered 2xx
 * is on disk with its row and decodes; after each restart no photo file is left without a row; the
 * unanswered ones, retried, are stored exactly once. Needs `npm run build -w hub`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { runCli, spawnHub, tempDir } from '../testing/spawn-hub.js';
import { waitFor } from '../testing/wait.js';

// Every burst is stored in the end, so the test's cost is ROUNDS × UPLOADS durable uploads. With 200, the kill
// still finds well over a hundred uploads in flight (the diagnostics say how many); each of the three kills is
// followed by a start that takes that round's retries.
const UPLOADS = 200;
const ROUNDS = 3;

interface Row {
  burst_id: string;
  seq: number;
  rel_path: string;
  location: string;
}

function rows(dataDir: string): Row[] {
  const db = new Database(path.join(dataDir, 'hearth.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('select burst_id, seq, rel_path, location from photos').all() as Row[];
  } finally {
    db.close();
  }
}

/** What a kill mid-upload leaves before the next start sweeps it: upload temporaries and files without a row. */
function strays(dataDir: string, nas: string): number {
  const incoming = path.join(dataDir, 'photos-incoming');
  const temporaries = existsSync(incoming) ? readdirSync(incoming).length : 0;
  const known = new Set(rows(dataDir).map((r) => r.rel_path));
  return temporaries + photoFiles(nas).filter((file) => !known.has(file)).length;
}

function photoFiles(nas: string): string[] {
  const dir = path.join(nas, 'photos');
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => name.endsWith('.jpg') || name.includes('.partial-'))
    .map((name) => `photos/${name}`);
}

test('SIGKILL during 200 concurrent uploads, 3 rounds: every acknowledged photo survives with its row, no orphans, retries store once', async (t) => {
  const dataDir = tempDir();
  const nas = path.join(dataDir, 'nas');
  mkdirSync(nas);
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  const config = path.join(dataDir, 'hearth.json');
  writeFileSync(
    config,
    JSON.stringify({ storage: { requireNasMount: false }, photos: { uploadsPerMinute: 0 } }),
  );
  const env = { HEARTH_NAS_DIR: nas, HEARTH_CONFIG: config };
  // The NAS, or the spool when the guard found the NAS too slow under this load.
  const fileOf = (row: Row) =>
    path.join(row.location === 'nas' ? nas : path.join(dataDir, 'spool'), row.rel_path);

  const added = await runCli(['device', 'add', 'crash-cam', '--kind', 'camera'], { dataDir, env });
  assert.equal(added.code, 0, added.stderr);
  const token = added.lastLine.trim();
  const db = new Database(path.join(dataDir, 'hearth.db'));
  const device = db.prepare("select id from devices where name = 'crash-cam'").get() as { id: number };
  db.prepare(
    "insert into cameras (id, name, kind, device_id, power_profile, record, segment_seconds, enabled, priority, created_at, updated_at) values ('crash', 'Crash', 'esp32', ?, 'battery', 0, 60, 1, 'normal', 0, 0)",
  ).run(device.id);
  db.close();
  const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#468' } })
    .jpeg()
    .toBuffer();

  const acknowledged = new Set<string>();
  const unanswered = new Set<string>();
  let leftBehind = 0;
  const send = async (url: string, burstId: string) => {
    const form = new FormData();
    form.append('photo', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'p.jpg');
    form.append('meta', JSON.stringify({ burstId, seq: 0, capturedAt: Date.now(), wakeReason: 'timer' }));
    const response = await fetch(`${url}/api/device/photos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    await response.arrayBuffer();
    return response.status;
  };

  /** The camera's retries after the restart, all at once: each must be stored exactly once (201, or 200 if it had been). */
  const retryAll = async (url: string) => {
    await Promise.all(
      [...unanswered].map(async (burstId) => {
        const status = await send(url, burstId);
        assert.ok(status === 201 || status === 200, `retry of ${burstId}: ${status}`);
        unanswered.delete(burstId);
        acknowledged.add(burstId);
      }),
    );
  };

  for (let round = 0; round < ROUNDS; round++) {
    const hub = await spawnHub({ dataDir, env });
    // Retry what the last round left unanswered: each must be stored exactly once (201, or 200 if it had been).
    await retryAll(hub.url);
    let answered = 0;
    // Killed from the 20th answer itself (not a poll that may come late), with most of the round in flight.
    let killed: Promise<void> | undefined;
    const inFlight = Array.from({ length: UPLOADS }, (_, i) => {
      const burstId = `r${round}-${i}`;
      return send(hub.url, burstId).then(
        (status) => {
          if (status === 201) {
            acknowledged.add(burstId);
            if (++answered === 20) killed = hub.kill('SIGKILL');
          } else unanswered.add(burstId);
        },
        () => unanswered.add(burstId),
      );
    });
    await waitFor('some uploads acknowledged', () => (killed ? true : undefined), 60_000);
    await killed;
    await Promise.all(inFlight);
    const left = strays(dataDir, nas);
    leftBehind += left;
    t.diagnostic(
      `round ${round}: ${answered} acknowledged before the kill, ${unanswered.size} unanswered, ${left} stray files`,
    );
    for (const [burstId, row] of new Map(rows(dataDir).map((r) => [r.burst_id, r])))
      if (acknowledged.has(burstId))
        assert.ok(existsSync(fileOf(row)), `${burstId} on disk (${row.location}: ${row.rel_path})`);
    for (const burstId of acknowledged)
      assert.ok(
        rows(dataDir).some((r) => r.burst_id === burstId),
        `acknowledged ${burstId} has its row`,
      );
  }

  assert.ok(leftBehind > 0, 'no kill left a stray file: none came mid-upload, so the sweep went untested');
  // A last start: its leftover sweep runs with the NAS reconcile; then files and rows agree exactly.
  const hub = await spawnHub({ dataDir, env });
  try {
    await retryAll(hub.url);
    await waitFor('no photo file without a row', () => {
      const files = new Set(photoFiles(nas));
      const known = new Set(
        rows(dataDir)
          .filter((r) => r.location === 'nas')
          .map((r) => r.rel_path),
      );
      return files.size === known.size && [...files].every((f) => known.has(f)) ? true : undefined;
    });
    const all = rows(dataDir);
    assert.equal(new Set(all.map((r) => r.burst_id)).size, all.length, 'no burst stored twice');
    for (const burstId of acknowledged)
      assert.ok(
        all.some((r) => r.burst_id === burstId),
        burstId,
      );
    for (const row of all.slice(0, 50)) {
      const meta = await sharp(fileOf(row)).metadata();
      assert.equal(meta.format, 'jpeg');
    }
    t.diagnostic(`${all.length} photos stored, ${acknowledged.size} acknowledged`);
  } finally {
    await hub.stop();
  }
});

test('SIGKILL right after a burst is acknowledged: after the restart its processing resumes and completes, with one best shot', async () => {
  const dataDir = tempDir();
  const nas = path.join(dataDir, 'nas');
  mkdirSync(nas);
  writeFileSync(path.join(nas, '.hearth-nas'), 'hearth\n');
  const config = path.join(dataDir, 'hearth.json');
  writeFileSync(config, JSON.stringify({ storage: { requireNasMount: false } }));
  const env = { HEARTH_NAS_DIR: nas, HEARTH_CONFIG: config };
  const added = await runCli(['device', 'add', 'resume-cam', '--kind', 'camera'], { dataDir, env });
  assert.equal(added.code, 0, added.stderr);
  const token = added.lastLine.trim();
  const db = new Database(path.join(dataDir, 'hearth.db'));
  const device = db.prepare("select id from devices where name = 'resume-cam'").get() as { id: number };
  db.prepare(
    "insert into cameras (id, name, kind, device_id, power_profile, record, segment_seconds, enabled, priority, created_at, updated_at) values ('resume', 'Resume', 'esp32', ?, 'battery', 0, 60, 1, 'normal', 0, 0)",
  ).run(device.id);
  db.close();
  // Eight UXGA photos: their processing takes far longer than the kill that follows the answer.
  const form = new FormData();
  for (let i = 0; i < 8; i++) {
    const jpeg = await sharp({
      create: {
        width: 1600,
        height: 1200,
        channels: 3,
        background: '#808080',
        noise: { type: 'gaussian', mean: 128, sigma: 20 + i },
      },
    })
      .jpeg({ quality: 70 })
      .toBuffer();
    form.append('photo', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), `p${i}.jpg`);
  }
  form.append(
    'meta',
    JSON.stringify({ burstId: 'resume-1', seq: 0, capturedAt: Date.now(), wakeReason: 'pir' }),
  );

  const first = await spawnHub({ dataDir, env });
  const response = await fetch(`${first.url}/api/device/photos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  await first.kill('SIGKILL');
  assert.equal(response.status, 201, await response.text());
  const states = () => {
    const reader = new Database(path.join(dataDir, 'hearth.db'), { readonly: true });
    try {
      return reader.prepare('select state, best from photos order by seq').all() as {
        state: string;
        best: number;
      }[];
    } finally {
      reader.close();
    }
  };
  const atKill = states();
  assert.equal(atKill.length, 8, 'the acknowledged burst is stored');
  assert.ok(
    atKill.some((row) => row.state !== 'completed'),
    'the kill came before processing finished (otherwise this test proves nothing)',
  );

  const second = await spawnHub({ dataDir, env });
  try {
    await waitFor('every photo of the burst processed after the restart', () => {
      const now = states();
      return now.every((row) => row.state === 'completed') && now.filter((row) => row.best).length === 1
        ? true
        : undefined;
    });
  } finally {
    await second.stop();
  }
});
