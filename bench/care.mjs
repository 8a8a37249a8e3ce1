#!/usr/bin/env node
// Care: how fast a reading becomes an alert, what the rules cost per reading, and how fast a month of history
// is drawn. Three parts, each against a baseline in the same run:
//  1. Reading → alert on an open SSE stream, through the compiled hub as a separate process (real HTTP, real
//     SQLite): ROUNDS threshold crossings (a reading above the limit, the alert awaited on the stream, a reading
//     below to resolve it); p50/p99 from sending the reading to the `fired` event. Baseline: the same reading's
//     acknowledgement with no rule watching it (what ingest alone costs) — the ratio is what alerting adds.
//  2. Rule evaluation per reading with 100 rules on 50 subjects (in this process, on a real database file), in
//     µs, against signals no rule watches (the lookup alone).
//  3. History of 30 days at 1-minute resolution from the rollups (ms), against the same points aggregated from
//     the raw readings, for scale.
// Run: npm run bench:care   (run `npm run build` first; ROUNDS=200 for a quick look)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.ROUNDS ?? 1000);
const work = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-care-'));
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const round = (n, digits = 2) => Number(n.toFixed(digits));
const results = {};

// ---------------------------------------------------------------- 1. reading → alert over SSE
{
  const env = {
    ...process.env,
    HEARTH_DATA_DIR: path.join(work, 'hub'),
    HEARTH_PORT: '0',
    HEARTH_HOST: '127.0.0.1',
    HEARTH_DEMO: '0',
    HEARTH_LOG_LEVEL: 'info',
  };
  const hub = spawn(process.execPath, [path.join(root, 'hub/dist/main.js')], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = () => hub.kill('SIGKILL');
  process.on('exit', stop);
  const { url, setupCode } = await new Promise((resolve, reject) => {
    let found = {};
    createInterface({ input: hub.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') found = { ...found, url: entry.url };
        if (entry.setupCode) found = { ...found, setupCode: entry.setupCode };
        if (found.url && found.setupCode) resolve(found);
      } catch {}
    });
    hub.once('exit', () => reject(new Error('hub exited')));
  });
  const setup = await fetch(`${url}/api/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ code: setupCode, username: 'owner', password: 'owner-password-1' }),
  });
  const cookie = setup.headers.getSetCookie()[0].split(';')[0];
  const api = async (route, body) => {
    const response = await fetch(`${url}${route}`, {
      method: 'POST',
      headers: { cookie, origin: url, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const tokens = [];
  for (const name of ['watched', 'unwatched']) {
    const made = spawnSync(
      process.execPath,
      [path.join(root, 'hub/bin/hearth.js'), 'device', 'add', name, '--kind', 'node'],
      {
        env,
        encoding: 'utf8',
      },
    );
    if (made.status !== 0) throw new Error(made.stderr);
    tokens.push(made.stdout.trim().split('\n').at(-1));
  }
  const devices = await (await fetch(`${url}/api/devices`, { headers: { cookie } })).json();
  const watchedId = devices.devices.find((d) => d.name === 'watched').id;
  const { subject } = await api('/api/subjects', {
    name: 'Bench',
    kind: 'baby',
    deviceIds: [watchedId],
    defaults: false,
  });
  await api(`/api/subjects/${subject.id}/rules`, {
    name: 'Fever',
    kind: 'threshold',
    readingKind: 'temperature',
    severity: 'emergency',
    dedupSeconds: 0,
    params: { op: 'above', limit: 38, forSeconds: 0, resolveSeconds: 0 },
  });

  // The event stream, read by hand: `event:` / `data:` lines, a blank line ends an event.
  const waiting = new Map();
  const stream = await fetch(`${url}/api/events/stream?topics=alerts`, { headers: { cookie } });
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of stream.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trim())
          .join('\n');
        if (data) {
          try {
            const event = JSON.parse(data);
            const change = event.data?.change ?? event.change;
            waiting.get(change)?.();
          } catch {}
        }
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => {});
  const seqs = [0, 0];
  const send = (node, value) =>
    fetch(`${url}/api/device/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[node]}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        readings: [{ seq: ++seqs[node], at: Date.now(), sensor: 'cradle', kind: 'temperature', value }],
      }),
    }).then((r) => r.json());
  const next = (change) => new Promise((resolve) => waiting.set(change, resolve));

  const alert = [];
  const ingest = [];
  for (let i = 0; i < ROUNDS + 20; i++) {
    const fired = next('fired');
    const started = performance.now();
    await send(0, 39);
    await fired;
    const took = performance.now() - started;
    const resolved = next('resolved');
    await send(0, 36.5);
    await resolved;
    const baseline = performance.now();
    await send(1, 39);
    const plain = performance.now() - baseline;
    if (i >= 20) {
      alert.push(took);
      ingest.push(plain);
    }
  }
  results.sse = {
    rounds: ROUNDS,
    alertP50Ms: round(percentile(alert, 50)),
    alertP99Ms: round(percentile(alert, 99)),
    ingestOnlyP50Ms: round(percentile(ingest, 50)),
    ingestOnlyP99Ms: round(percentile(ingest, 99)),
    ratioP50: round(percentile(alert, 50) / percentile(ingest, 50)),
  };
  stop();
}

// ---------------------------------------------------------------- 2 and 3: in this process
{
  const { openDatabase } = await import(path.join(root, 'hub/dist/db/client.js'));
  const { createCareService } = await import(path.join(root, 'hub/dist/care/care.service.js'));
  const { createHistory } = await import(path.join(root, 'hub/dist/care/history.js'));
  const { EventBus } = await import(path.join(root, 'hub/dist/events/bus.js'));
  const { systemClock } = await import(path.join(root, 'hub/dist/clock.js'));
  const { createLogger } = await import(path.join(root, 'hub/dist/log/logger.js'));
  const db = openDatabase(path.join(work, 'care.db'));
  const $ = db.$client;
  const bus = new EventBus(systemClock, 16);
  const care = createCareService({
    db,
    clock: systemClock,
    bus,
    log: createLogger('silent'),
    timeZone: () => 'UTC',
  });
  const insertDevice = $.prepare(
    "INSERT INTO devices (name, kind, status, created_at, updated_at) VALUES (?, 'node', 'online', ?, ?) RETURNING id",
  );
  const devices = [];
  for (let s = 0; s < 50; s++) {
    const id = insertDevice.get(`node-${s}`, Date.now(), Date.now()).id;
    devices.push(id);
    care.createSubject({ name: `Subject ${s}`, kind: 'other', deviceIds: [id] }, { defaults: false });
  }
  for (const subject of care.listSubjects()) {
    care.addRule(subject.id, {
      name: 'Fever',
      kind: 'threshold',
      readingKind: 'temperature',
      severity: 'warning',
      params: { op: 'above', limit: 38, forSeconds: 60 },
    });
    care.addRule(subject.id, {
      name: 'Crying',
      kind: 'state',
      readingKind: 'crying',
      severity: 'warning',
      params: { state: 'crying', forSeconds: 30 },
    });
  }
  care.start();
  const SIGNALS = 200_000;
  const measure = (deviceOf) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < SIGNALS; i++) {
      // Normal temperatures: evaluated, no transition (the common case).
      care.signal(
        { deviceId: deviceOf(i) },
        { at: Date.now(), kind: 'temperature', sensor: 'cradle', value: 36.5 },
      );
    }
    return Number(process.hrtime.bigint() - started) / 1000 / SIGNALS;
  };
  measure((i) => devices[i % 50]); // warm-up
  const watched = measure((i) => devices[i % 50]);
  const unwatched = measure(() => 999_999);
  results.rules = {
    rules: 100,
    subjects: 50,
    usPerReading: round(watched, 3),
    usPerUnwatchedSignal: round(unwatched, 3),
    ratio: round(watched / unwatched),
  };

  // A month of temperatures every 10 s on one node, rolled up, then 30 days at 1 minute.
  const DAYS = 30;
  const start = Math.floor((Date.now() - DAYS * 86_400_000) / 60_000) * 60_000;
  const insert = $.prepare(
    "INSERT INTO node_readings (device_id, seq, at, received_at, sensor, kind, value) VALUES (?, ?, ?, ?, 'cradle', 'temperature', ?)",
  );
  $.transaction(() => {
    for (let i = 0, at = start; at < start + DAYS * 86_400_000; i++, at += 10_000)
      insert.run(devices[0], i + 1, at, at, 36 + (i % 30) / 10);
  })();
  const history = createHistory({ db, clock: systemClock, rawDays: 3650, rollupDays: 3650 });
  const rollStarted = performance.now();
  const rows = history.rollup();
  const rollupMs = performance.now() - rollStarted;
  const query = (step) =>
    history.query({
      deviceIds: [devices[0]],
      kind: 'temperature',
      from: start,
      to: start + DAYS * 86_400_000,
      step,
    });
  query(60_000);
  const times = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const result = query(60_000);
    times.push(performance.now() - t0);
    if (result.points.length !== DAYS * 1440) throw new Error(`${result.points.length} points`);
  }
  const raw = $.prepare(
    `SELECT (at / 60000) * 60000 AS t, COUNT(*), MIN(value), MAX(value), AVG(value) FROM node_readings
      WHERE device_id = ? AND kind = 'temperature' AND at >= ? AND at < ? GROUP BY t`,
  );
  const rawTimes = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    raw.all(devices[0], start, start + DAYS * 86_400_000);
    rawTimes.push(performance.now() - t0);
  }
  results.history = {
    readings: rows,
    rollupOfAllMs: round(rollupMs),
    points: DAYS * 1440,
    queryP50Ms: round(percentile(times, 50)),
    rawAggregationP50Ms: round(percentile(rawTimes, 50)),
    ratio: round(percentile(times, 50) / percentile(rawTimes, 50)),
  };
  care.stop();
  db.$client.close();
}

rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify(results, null, 2));
process.exit(0);
