import { chmod, mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { createDeviceClient } from '@hearth/hub/client';
import type { ApiErrorBody, DeviceIdentity } from '@hearth/hub/protocol';

/** Where the agent keeps what it must not lose: the hub address and its device token (0600). */
export interface NodeState {
  hubUrl: string;
  token: string;
}

const stateFile = (stateDir: string) => path.join(stateDir, 'node.json');

export async function readState(stateDir: string): Promise<NodeState> {
  const raw = JSON.parse(await readFile(stateFile(stateDir), 'utf8')) as Partial<NodeState>;
  if (typeof raw.hubUrl !== 'string' || typeof raw.token !== 'string')
    throw new Error(`${stateFile(stateDir)} lacks hubUrl or token; enrol this node first`);
  return { hubUrl: raw.hubUrl, token: raw.token };
}

/** Written to a temporary file (0600), fsynced, renamed: a crash leaves the old state or the new, never half. */
export async function writeState(stateDir: string, state: NodeState): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const temporary = `${stateFile(stateDir)}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temporary, 0o600);
  await rename(temporary, stateFile(stateDir));
}

/** The hub said no (4xx): retrying the same request cannot help. */
export class HubRefused extends Error {
  override name = 'HubRefused';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Turns a hub response into its body, or a HubRefused (4xx) / plain Error (5xx: worth retrying). */
export async function bodyOf<T>(response: Response): Promise<T> {
  if (response.ok) return (await response.json()) as T;
  const body = (await response.json().catch(() => null)) as ApiErrorBody | null;
  const message = `hub answered ${response.status}: ${body?.error.message ?? 'no reason given'}`;
  if (response.status >= 400 && response.status < 500 && response.status !== 429)
    throw new HubRefused(response.status, body?.error.code ?? 'refused', message);
  throw new Error(message);
}

export function hubClient(state: NodeState, timeoutMs = 10_000) {
  return createDeviceClient(state.hubUrl, state.token, { timeoutMs });
}

/** Asks the hub who this node is; doubles as a liveness check of the link and the token. */
export async function whoAmI(state: NodeState): Promise<DeviceIdentity> {
  const { device } = await bodyOf<{ device: DeviceIdentity }>(await hubClient(state).device.me.$get());
  return { ...device, lastSeenAt: device.lastSeenAt ? String(device.lastSeenAt) : null };
}

/** `hearth-node enrol`: the one-time code for a token, kept in the state dir. */
export async function enrol(
  stateDir: string,
  hubUrl: string,
  code: string,
): Promise<{ id: number; name: string }> {
  const base = new URL(hubUrl);
  const response = await fetch(new URL('/api/device/enrol', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
    signal: AbortSignal.timeout(15_000),
  });
  const { token, device } = await bodyOf<{ token: string; device: { id: number; name: string } }>(response);
  await writeState(stateDir, { hubUrl: base.origin, token });
  return device;
}
