/**
 * Wire types shared by the hub and the devices that call it (edge nodes, simulators).
 * Plain types and constants only: nothing here imports the hub's HTTP layer or database.
 */
export const DEVICE_API_PREFIX = '/api/device';

export interface DeviceIdentity {
  id: number;
  name: string;
  kind: 'camera' | 'node';
  status: 'new' | 'online' | 'offline';
  lastSeenAt: string | null;
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export * from './compact.js';
export * from './node.js';
