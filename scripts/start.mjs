#!/usr/bin/env node
// `npm start`: build what is out of date, then run the compiled hub with newcomer defaults
// (demo cameras and simulators on, data in ./var). The appliance's systemd unit runs
// `node hub/dist/main.js` directly with HEARTH_DEMO=0.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], {
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);

// The same V8 flags as the systemd unit (see docs/operations.md, "Memory"): a small young
// generation keeps the idle hub under 80 MB on a Pi; source maps are not loaded up front.
const child = spawn(process.execPath, ['--max-semi-space-size=2', path.join(root, 'hub/dist/main.js')], {
  stdio: 'inherit',
  env: { HEARTH_DEMO: '1', ...process.env },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
