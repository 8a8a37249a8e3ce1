import type { Role } from '../accounts/accounts.schema.js';
import type { DeviceKind } from '../devices/devices.schema.js';
import type { Logger } from '../log/logger.js';

export interface SessionUser {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  locale: 'en' | 'ko';
}

export interface AuthedDevice {
  id: number;
  name: string;
  kind: DeviceKind;
  tokenId: number;
}

/** The one environment every handler shares, so `c.get('user')` is typed everywhere. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    user: SessionUser;
    sessionHash: string;
    device: AuthedDevice;
  };
}
