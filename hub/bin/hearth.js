#!/usr/bin/env node
// The `hearth` maintenance command. Runs the compiled CLI; `npm run build` makes it.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('hearth: the hub is not built yet; run `npm run build` in the Hearth folder first.');
  process.exit(1);
}
await import(cli.href);
