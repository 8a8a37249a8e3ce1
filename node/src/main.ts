import { parseArgs } from 'node:util';
import { readState, whoAmI } from './hub-link.js';

const USAGE = `hearth-node: the Hearth edge-node agent

  hearth-node [--state-dir DIR] status     check the link to the hub with this node's token

Enrolment (enrol) and the agent loop (run) arrive with the edge-node feature.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'state-dir': { type: 'string', default: '/var/lib/hearth-node' },
    help: { type: 'boolean', short: 'h' },
  },
});

const command = positionals[0];
if (values.help || !command) {
  console.log(USAGE);
  process.exit(command ? 0 : 64);
}
if (command !== 'status') {
  console.error(`hearth-node: unknown command "${command}"\n\n${USAGE}`);
  process.exit(64);
}
try {
  const me = await whoAmI(await readState(values['state-dir']));
  console.log(`linked as ${me.kind} "${me.name}" (id ${me.id}), status ${me.status}`);
} catch (error) {
  console.error(`hearth-node: ${(error as Error).message}`);
  process.exit(1);
}
