import { readFileSync } from 'node:fs';

/** The agent's version, from its package.json (what the heartbeat reports). */
export const NODE_VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
