#!/usr/bin/env node
// Builds hub, node and ui. With --if-stale, builds only the workspaces whose sources are newer
// than their last build, so `npm start` and `npm test` stay quick when nothing changed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const onlyIfStale = process.argv.includes('--if-stale');

const workspaces = [
  {
    name: 'hub',
    inputs: [
      'hub/src',
      'hub/drizzle',
      'hub/package.json',
      'hub/tsconfig.json',
      'hub/tsconfig.build.json',
      'tsconfig.base.json',
    ],
    stamp: 'hub/dist/.build-stamp',
  },
  {
    name: 'node',
    inputs: [
      'node/src',
      'node/package.json',
      'node/tsconfig.json',
      'node/tsconfig.build.json',
      'tsconfig.base.json',
    ],
    stamp: 'node/dist/.build-stamp',
  },
  {
    name: 'ui',
    inputs: [
      'ui/src',
      'ui/index.html',
      'ui/public',
      'ui/vite.config.ts',
      'ui/package.json',
      'hub/src/http',
      'hub/src/client',
    ],
    stamp: 'ui/dist/.build-stamp',
  },
];

function newestMtime(target) {
  const full = path.join(root, target);
  if (!existsSync(full)) return 0;
  const info = statSync(full);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(full)) newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

for (const workspace of workspaces) {
  const stamp = path.join(root, workspace.stamp);
  if (onlyIfStale && existsSync(stamp)) {
    const built = statSync(stamp).mtimeMs;
    if (workspace.inputs.every((input) => newestMtime(input) <= built)) continue;
  }
  console.error(`building ${workspace.name}…`);
  const result = spawnSync('npm', ['run', 'build', '--silent', '-w', workspace.name], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  writeFileSync(stamp, new Date().toISOString());
}
