#!/usr/bin/env node
// `npm run sim:camera -- --token <device token> [--hub http://127.0.0.1:8080] [--interval 60] [--label "Pet cam"]`
// A virtual battery ESP32-CAM: wakes on its interval, uploads bursts of real JPEGs, applies the settings
// and commands it gets back (compact encoding), and retries with backoff while the hub is down.
// Get a token with `hearth device add <name>` and add a camera for that device (kind esp32).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    hub: { type: 'string', default: process.env.HEARTH_HUB_URL ?? 'http://127.0.0.1:8080' },
    token: { type: 'string', default: process.env.HEARTH_DEVICE_TOKEN },
    interval: { type: 'string' },
    label: { type: 'string', default: 'Virtual camera' },
  },
});
if (!values.token) {
  console.error(
    'usage: npm run sim:camera -- --token <device token> [--hub URL] [--interval seconds] [--label text]',
  );
  process.exit(2);
}
const build = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], {
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);
const { startVirtualCamera } = await import(path.join(root, 'hub/dist/photos/virtual-camera.js'));
const camera = startVirtualCamera({
  hubUrl: values.hub,
  token: values.token,
  label: values.label,
  ...(values.interval ? { intervalSeconds: Number(values.interval) } : {}),
  onEvent: (event) => console.log(JSON.stringify({ at: new Date().toISOString(), ...event })),
});
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => void camera.stop().then(() => process.exit(0)));
