import { firstLine, runTool } from './tools.js';

export const HUB_UNIT = 'hearth-hub.service';

const PROPERTIES = [
  'LoadState',
  'ActiveState',
  'SubState',
  'UnitFileState',
  'NRestarts',
  'ActiveEnterTimestamp',
];

export type UnitState =
  /** The hub is not a systemd service here (a laptop, a container, a unit never installed). */
  | { kind: 'none'; reason: string }
  | { kind: 'unit'; props: Record<string, string> }
  | { kind: 'error'; message: string };

/** `systemctl show` prints `Key=value` lines (in systemd's own order, not the order asked for). */
export function parseProperties(text: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) props[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return props;
}

export async function unitState(env: NodeJS.ProcessEnv, unit = HUB_UNIT): Promise<UnitState> {
  const result = await runTool('systemctl', ['show', '-p', PROPERTIES.join(','), unit], { env });
  switch (result.outcome) {
    case 'missing':
      return { kind: 'none', reason: 'systemctl not found' };
    case 'timeout':
      return { kind: 'error', message: 'systemctl show did not answer within 5 s' };
    case 'failed':
      // What systemctl says inside a container or a chroot, where PID 1 is not systemd.
      if (/not been booted with systemd|Failed to connect to bus/.test(result.stderr))
        return { kind: 'none', reason: 'systemd is not running on this machine' };
      return { kind: 'error', message: `systemctl show failed: ${result.message}` };
  }
  const props = parseProperties(result.stdout);
  if (props.LoadState === 'not-found') return { kind: 'none', reason: `${unit} is not installed` };
  if (!props.ActiveState)
    return { kind: 'error', message: `systemctl show printed: ${firstLine(result.stdout)}` };
  return { kind: 'unit', props };
}
