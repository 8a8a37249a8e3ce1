import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createDeviceClient } from '@hearth/hub/client';
import type { ApiErrorBody, DeviceIdentity } from '@hearth/hub/protocol';

/** Where the agent keeps what it must not lose: the hub address and its device token (0600). */
export interface NodeState {
  hubUrl: string;
  token: string;
}

export async function readState(stateDir: string): Promise<NodeState> {
  const raw = JSON.parse(await readFile(path.join(stateDir, 'node.json'), 'utf8')) as Partial<NodeState>;
  if (typeof raw.hubUrl !== 'string' || typeof raw.token !== 'string')
    throw new Error(`${path.join(stateDir, 'node.json')} lacks hubUrl or token; enrol this node first`);
  return { hubUrl: raw.hubUrl, token: raw.token };
}

/** Asks the hub who this node is; doubles as a liveness check of the link and the token. */
export async function whoAmI(state: NodeState): Promise<DeviceIdentity> {
  const client = createDeviceClient(state.hubUrl, state.token);
  const response = await client.device.me.$get();
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as ApiErrorBody | null;
    throw new Error(`hub answered ${response.status}: ${body?.error.message ?? 'no reason given'}`);
  }
  const { device } = await response.json();
  return { ...device, lastSeenAt: device.lastSeenAt ? String(device.lastSeenAt) : null };
}
