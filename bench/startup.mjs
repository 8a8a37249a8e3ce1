#!/usr/bin/env node
// Start-up time and idle memory of the compiled hub, against a bare Node process started the
// same way (the ratio is what to compare across machines). Run: npm run bench:startup
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.RUNS ?? 5);

function rssKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** Spawns `args`, resolves when a stdout line satisfies `ready`, then samples RSS while idle. */
async function measure(args, env, ready) {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    lines.on('line', (line) => ready(line) && resolve());
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ready`)));
  });
  const startMs = Number(process.hrtime.bigint() - started) / 1e6;
  // Idle for two seconds (loops have run their first passes), then read the resident set.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rss = rssKb(child.pid);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  return { startMs, rssMb: rss / 1024 };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const hub = [];
const bare = [];
for (let i = 0; i < RUNS; i++) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-'));
  hub.push(
    await measure(
      // As the systemd unit and `npm start` run it.
      ['--max-semi-space-size=2', path.join(root, 'hub/dist/main.js')],
      { HEARTH_DATA_DIR: dataDir, HEARTH_PORT: '0', HEARTH_HOST: '127.0.0.1', HEARTH_DEMO: '0' },
      (line) => line.includes('"msg":"listening"'),
    ),
  );
  rmSync(dataDir, { recursive: true, force: true });
  bare.push(
    await measure(
      ['-e', 'console.log("ready"); setInterval(() => {}, 1000)'],
      {},
      (line) => line === 'ready',
    ),
  );
}

const result = {
  runs: RUNS,
  hubStartMs: Math.round(median(hub.map((r) => r.startMs))),
  bareNodeStartMs: Math.round(median(bare.map((r) => r.startMs))),
  hubIdleRssMb: Number(median(hub.map((r) => r.rssMb)).toFixed(1)),
  bareNodeIdleRssMb: Number(median(bare.map((r) => r.rssMb)).toFixed(1)),
};
result.startRatio = Number((result.hubStartMs / result.bareNodeStartMs).toFixed(2));
result.rssRatio = Number((result.hubIdleRssMb / result.bareNodeIdleRssMb).toFixed(2));
console.log(JSON.stringify(result, null, 2));
console.log(
  `targets: start < 1500 ms (${result.hubStartMs < 1500 ? 'met' : 'MISSED'}), idle RSS < 80 MB (${result.hubIdleRssMb < 80 ? 'met' : 'MISSED'})`,
);
