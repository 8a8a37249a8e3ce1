/**
 * Wire types shared by the hub and the devices that call it (edge nodes, simulators).
 * Plain types and constants only: nothing here imports the hub's HTTP layer or database.
 */
export const DEVICE_API_PREFIX = '/api/device';
export { deadline } from './deadline.js';

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

// The NAS layout of segments is shared with the nodes that record onto the same NAS.
export {
  parseRelPath,
  parseSegmentName,
  type SegmentName,
  segmentRelPath,
} from '../recording/segment-names.js';
export * from './compact.js';
export * from './node.js';
