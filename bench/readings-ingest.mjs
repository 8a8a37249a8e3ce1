#!/usr/bin/env node
// Edge-node readings into the compiled hub as a separate process (real HTTP on 127.0.0.1, JSON validation,
// one SQLite transaction per batch, acknowledgement computed): 10 nodes, each sending batches of 100 readings
// one after another (a node sends its next batch when the last is acknowledged), all 10 at once.
// Prints readings/s and the acknowledgement latency per batch (p50, p99), against two baselines in the same
// run: (1) a bare HTTP server process that only parses each batch's JSON and answers the last sequence — what
// HTTP and this client cost without the hub (goal: the hub >= 0.5 of it); (2) the same batches written
// straight into SQLite on the same disk with the hub's settings (WAL, synchronous=FULL, a transaction per
// batch), for scale. Also where the cores went (hub process, this client).
// Run: npm run bench:readings   (run `npm run build` first; BATCHES=50 for a quick look)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODES = Number(process.env.NODES ?? 10);
const BATCHES = Number(process.env.BATCHES ?? 200);
const BATCH = Number(process.env.BATCH ?? 100);
const work = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-readings-'));
const dataDir = path.join(work, 'data');
const env = {
  ...process.env,
  HEARTH_DATA_DIR: dataDir,
  HEARTH_PORT: '0',
  HEARTH_HOST: '127.0.0.1',
  HEARTH_DEMO: '0',
  HEARTH_LOG_LEVEL: 'warn',
};

const hub = spawn(
  process.execPath,
  [
    ...(process.env.PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.PROFILE] : []),
    path.join(root, 'hub/dist/main.js'),
  ],
  {
    env: { ...env, HEARTH_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
process.on('uncaughtException', (error) => {
  hub.kill('SIGKILL');
  console.error(error);
  process.exit(1);
});
process.on('unhandledRejection', (error) => {
  hub.kill('SIGKILL');
  console.error(error);
  process.exit(1);
});
let url = await new Promise((resolve, reject) => {
  createInterface({ input: hub.stdout }).on('line', (line) => {
    try {
      const entry = JSON.parse(line);
      if (entry.msg === 'listening') resolve(entry.url);
    } catch {}
  });
  hub.once('exit', () => reject(new Error('hub exited')));
});

// Node devices and their tokens from the CLI (enrolment codes are rate-limited per address, as they should be).
const tokens = [];
for (let i = 0; i <= NODES; i++) {
  const made = spawnSync(
    process.execPath,
    [path.join(root, 'hub/bin/hearth.js'), 'device', 'add', `bench-${i}`, '--kind', 'node'],
    { env, encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(made.stderr);
  tokens.push(made.stdout.trim().split('\n').at(-1));
}

const batchOf = (first) =>
  Array.from({ length: BATCH }, (_, k) => ({
    seq: first + k,
    at: Date.now(),
    sensor: 'cradle',
    kind: 'temperature',
    value: 36 + ((first + k) % 20) / 10,
  }));

async function node(token, latencies) {
  for (let b = 0; b < BATCHES; b++) {
    const first = b * BATCH + 1;
    const started = performance.now();
    const response = await fetch(`${url}/api/device/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ readings: batchOf(first) }),
    });
    const answer = await response.json();
    latencies.push(performance.now() - started);
    if (answer.ackedSeq !== first + BATCH - 1)
      throw new Error(`ack ${answer.ackedSeq}, expected ${first + BATCH - 1}`);
  }
}

/** User + system CPU seconds of a process (/proc/<pid>/stat, clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const round = (n) => Number(n.toFixed(2));

// Warm-up on its own node, then the run.
await node(tokens[NODES], []);
const latencies = [];
const hubCpu = cpuSeconds(hub.pid);
const clientCpu = process.cpuUsage();
const started = performance.now();
await Promise.all(tokens.slice(0, NODES).map((token) => node(token, latencies)));
const seconds = (performance.now() - started) / 1000;
const clientUsage = process.cpuUsage(clientCpu);
const cores = {
  hub: round((cpuSeconds(hub.pid) - hubCpu) / seconds),
  client: round((clientUsage.user + clientUsage.system) / 1e6 / seconds),
};
const sent = NODES * BATCHES * BATCH;
hub.kill('SIGTERM');
await new Promise((resolve) => hub.once('exit', resolve));

// Baseline 1: the same requests to a process that only parses the JSON and answers.
const bare = spawn(
  process.execPath,
  [
    '-e',
    `require('node:http').createServer((q, s) => { let b = ''; q.on('data', (c) => (b += c)); q.on('end', () => { const r = JSON.parse(b).readings; s.writeHead(200, { 'content-type': 'application/json' }); s.end(JSON.stringify({ ackedSeq: r[r.length - 1].seq, stored: r.length, duplicates: 0 })); }); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const barePort = await new Promise((resolve) =>
  createInterface({ input: bare.stdout }).once('line', resolve),
);
url = `http://127.0.0.1:${barePort}`;
const bareStarted = performance.now();
await Promise.all(tokens.slice(0, NODES).map((token) => node(token, [])));
const bareSeconds = (performance.now() - bareStarted) / 1000;
bare.kill('SIGTERM');

// Baseline: the same rows straight into SQLite on the same disk, one transaction per batch.
const file = path.join(work, 'baseline.db');
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(
  'CREATE TABLE r (device_id INTEGER, seq INTEGER, at INTEGER, received_at INTEGER, sensor TEXT, kind TEXT, value REAL, state TEXT, confidence REAL, PRIMARY KEY (device_id, seq))',
);
const insert = db.prepare(
  'INSERT OR IGNORE INTO r VALUES (@device, @seq, @at, @at, @sensor, @kind, @value, NULL, NULL)',
);
const write = db.transaction((device, rows) => {
  for (const row of rows) insert.run({ device, ...row });
});
const baselineStarted = performance.now();
for (let b = 0; b < BATCHES; b++) for (let n = 0; n < NODES; n++) write(n, batchOf(b * BATCH + 1));
const baselineSeconds = (performance.now() - baselineStarted) / 1000;
db.close();
rmSync(work, { recursive: true, force: true });

const readingsPerSecond = sent / seconds;
const baselinePerSecond = sent / baselineSeconds;
console.log(
  JSON.stringify(
    {
      nodes: NODES,
      batchesPerNode: BATCHES,
      readingsPerBatch: BATCH,
      readings: sent,
      readingsPerSecond: Math.round(readingsPerSecond),
      ackLatencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) },
      cores,
      bareHttpReadingsPerSecond: Math.round(sent / bareSeconds),
      ratioToBareHttp: round(readingsPerSecond / (sent / bareSeconds)),
      straightSqliteReadingsPerSecond: Math.round(baselinePerSecond),
      ratioToStraightSqlite: round(readingsPerSecond / baselinePerSecond),
    },
    null,
    2,
  ),
);
const ratio = readingsPerSecond / (sent / bareSeconds);
console.log(`goal: the hub >= 0.5 x a bare HTTP+JSON server (${ratio >= 0.5 ? 'met' : 'MISSED'})`);
