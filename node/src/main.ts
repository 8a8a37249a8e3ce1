import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { systemdNotifier } from '@hearth/hub/systemd';
import { startAgent } from './agent.js';
import { loadNodeConfig } from './config.js';
import { enrol, readState, whoAmI } from './hub-link.js';
import { openOutbox } from './outbox.js';

const USAGE = `hearth-node: the Hearth edge-node agent

  hearth-node [--state-dir DIR] enrol --hub URL [--code XXXX-XXXX]
      exchange a one-time code (made with "Add node" in the UI or \`hearth node code\`) for this node's
      token, kept in DIR/node.json (0600); without --code the code is read from standard input
  hearth-node [--state-dir DIR] [--config FILE] run
      the agent: sensors → durable outbox → hub, heartbeats, commands (what systemd runs)
  hearth-node [--state-dir DIR] status
      the link to the hub with this node's token, and what waits in the outbox

  DIR defaults to /var/lib/hearth-node; FILE to DIR/config.json (optional).`;

function fail(message: string, code = 1): never {
  console.error(`hearth-node: ${message}`);
  process.exit(code);
}

function options() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        'state-dir': { type: 'string', default: '/var/lib/hearth-node' },
        config: { type: 'string' },
        hub: { type: 'string' },
        code: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${USAGE}`, 64);
  }
}
const { values, positionals } = options();
const command = positionals[0];
if (values.help || !command) {
  console.log(USAGE);
  process.exit(command ? 0 : 64);
}
const stateDir = path.resolve(values['state-dir']);
const stamp = () => new Date().toISOString();

switch (command) {
  case 'enrol': {
    if (!values.hub) fail('enrol needs --hub http://<hub>:<port>', 64);
    const code = values.code ?? (process.stdin.isTTY ? '' : readFileSync(0, 'utf8').trim());
    if (!code) fail('enrol needs the one-time code (--code, or on standard input)', 64);
    if (existsSync(path.join(stateDir, 'node.json')))
      fail(`${stateDir} already holds an enrolment; remove node.json to enrol again`);
    try {
      const device = await enrol(stateDir, values.hub, code);
      console.log(
        `enrolled as "${device.name}" (node ${device.id}); token kept in ${path.join(stateDir, 'node.json')}`,
      );
    } catch (error) {
      fail((error as Error).message);
    }
    break;
  }
  case 'run': {
    let agent: ReturnType<typeof startAgent>;
    // Under systemd (Type=notify): READY once the agent runs, watchdog pings from this event loop, STOPPING.
    const systemd = systemdNotifier({
      log: { warn: (message) => console.warn(`${stamp()} warning: ${message}`) },
    });
    try {
      const state = await readState(stateDir);
      const config = await loadNodeConfig(stateDir, values.config);
      agent = startAgent({
        stateDir,
        state,
        config,
        log: {
          info: (message) => console.log(`${stamp()} ${message}`),
          warn: (message) => console.warn(`${stamp()} warning: ${message}`),
        },
      });
      systemd.ready(`Running: ${config.sensors.length} sensors, ${config.cameras.length} cameras`);
    } catch (error) {
      fail((error as Error).message);
    }
    const stop = async (signal: string) => {
      console.log(`${stamp()} ${signal}: stopping`);
      systemd.stopping('Stopping: finishing segments');
      await agent.stop();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    break;
  }
  case 'status': {
    try {
      const me = await whoAmI(await readState(stateDir));
      console.log(`linked as ${me.kind} "${me.name}" (id ${me.id}), status ${me.status}`);
      const file = path.join(stateDir, 'outbox.db');
      if (existsSync(file)) {
        const outbox = openOutbox(file, { maxDays: 365, maxRows: Number.MAX_SAFE_INTEGER });
        const { pending, dropped, acked } = outbox.stats();
        outbox.close();
        console.log(`outbox: ${pending} readings waiting, ${dropped} dropped, acknowledged through ${acked}`);
      }
    } catch (error) {
      fail((error as Error).message);
    }
    break;
  }
  default:
    fail(`unknown command "${command}"\n\n${USAGE}`, 64);
}
