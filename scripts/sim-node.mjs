#!/usr/bin/env node
// `npm run sim:node -- --scenario cradle [--hub http://127.0.0.1:8080] [--code XXXX-XXXX] [--fever-every 600]
//   [--nas-dir DIR] [--no-camera]`
// A real edge-node agent (node/dist) reading a scripted cradle Arduino over a virtual serial cable (a pty
// pair from socat): body temperature every 2 s drifting around 36.6 °C, a fever episode (38.3 °C for 2 minutes)
// a minute after start and then every --fever-every seconds, and the rocking motor's commands echoed. Its demo
// camera `sim-cradle-cam` records onto the hub's NAS folder (HEARTH_NAS_DIR, or <HEARTH_DATA_DIR>/nas as
// `npm start` has it), appears in the hub by itself and can be watched live there.
// Without --code it makes one with `hearth` against HEARTH_DATA_DIR (./var, what `npm start` uses).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'cradle' },
    hub: { type: 'string', default: process.env.HEARTH_HUB_URL ?? 'http://127.0.0.1:8080' },
    code: { type: 'string' },
    'state-dir': { type: 'string' },
    'fever-every': { type: 'string', default: '600' },
    'nas-dir': {
      type: 'string',
      default:
        process.env.HEARTH_NAS_DIR ??
        path.join(path.resolve(root, process.env.HEARTH_DATA_DIR ?? 'var'), 'nas'),
    },
    'no-camera': { type: 'boolean', default: false },
  },
});
if (values.scenario !== 'cradle') {
  console.error(`sim:node: unknown scenario "${values.scenario}" (known: cradle)`);
  process.exit(2);
}
if (spawnSync('socat', ['-V'], { stdio: 'ignore' }).status !== 0) {
  console.error('sim:node: needs socat for the virtual serial cable (apt-get install socat)');
  process.exit(2);
}
const build = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], {
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);

const stateDir = path.resolve(values['state-dir'] ?? path.join(root, 'var', `sim-node-${values.scenario}`));
const agentBin = path.join(root, 'node', 'bin', 'hearth-node.js');
mkdirSync(stateDir, { recursive: true, mode: 0o700 });
if (!existsSync(path.join(stateDir, 'node.json'))) {
  let code = values.code;
  if (!code) {
    const made = spawnSync(
      process.execPath,
      [path.join(root, 'hub', 'bin', 'hearth.js'), 'node', 'code', '--name', 'Cradle (simulated)'],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) {
      console.error(`sim:node: could not make an enrolment code: ${made.stderr}`);
      process.exit(1);
    }
    code = made.stdout.trim().split('\n').at(-1);
  }
  const enrol = spawnSync(
    process.execPath,
    [agentBin, '--state-dir', stateDir, 'enrol', '--hub', values.hub, '--code', code],
    {
      stdio: 'inherit',
    },
  );
  if (enrol.status !== 0) process.exit(enrol.status ?? 1);
}

// The virtual cable: the agent reads ttyNODE, this script plays the Arduino on ttyARDUINO.
const nodeEnd = path.join(stateDir, 'ttyNODE');
const arduinoEnd = path.join(stateDir, 'ttyARDUINO');
const socat = spawn('socat', [`pty,raw,echo=0,link=${nodeEnd}`, `pty,raw,echo=0,link=${arduinoEnd}`], {
  stdio: 'ignore',
});
for (let i = 0; i < 100 && !(existsSync(nodeEnd) && existsSync(arduinoEnd)); i++)
  await new Promise((resolve) => setTimeout(resolve, 50));
writeFileSync(
  path.join(stateDir, 'config.json'),
  JSON.stringify(
    {
      sensors: [
        {
          type: 'serial',
          name: 'cradle',
          path: nodeEnd,
          kind: 'temperature',
          min: 30,
          max: 43,
          motor: { rock: 'servo\n', stop: 'stop\n' },
        },
      ],
      ...(values['no-camera']
        ? {}
        : {
            // The hub's own NAS folder stands in for the NAS this node would mount.
            nasDir: path.resolve(values['nas-dir']),
            nasRequireMount: false,
            live: { host: '127.0.0.1', port: 0 },
            cameras: [
              {
                id: 'sim-cradle-cam',
                source: { type: 'demo', label: 'Cradle (simulated)' },
                segmentSeconds: 10,
              },
            ],
          }),
    },
    null,
    2,
  ),
);
const agent = spawn(process.execPath, [agentBin, '--state-dir', stateDir, 'run'], { stdio: 'inherit' });

const arduino = new SerialPort({ path: arduinoEnd, baudRate: 9600 });
let buffered = '';
arduino.on('data', (chunk) => {
  buffered += chunk.toString('utf8');
  let newline = buffered.indexOf('\n');
  while (newline >= 0) {
    const line = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (line) console.log(`[arduino] motor: ${line === 'stop' ? 'stopped' : `rocking (${line})`}`);
    newline = buffered.indexOf('\n');
  }
});

const started = Date.now();
const feverEvery = Number(values['fever-every']) * 1000;
let temperature = 36.6;
const timer = setInterval(() => {
  const sinceStart = Date.now() - started - 60_000;
  const fever = sinceStart >= 0 && sinceStart % feverEvery < 120_000;
  temperature += (Math.random() - 0.5) * 0.04;
  temperature = Math.min(36.9, Math.max(36.4, temperature));
  const shown = fever ? 38.3 : temperature;
  // What the cradle's Arduino prints: Korean text with the unit.
  arduino.write(`아기 체온: ${shown.toFixed(1)}°C\n`);
}, 2000);

function stop() {
  clearInterval(timer);
  agent.kill('SIGTERM');
  agent.once('exit', () => {
    arduino.close(() => socat.kill('SIGTERM'));
    process.exit(0);
  });
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
