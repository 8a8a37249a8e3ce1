import os from 'node:os';
import type { Config } from '../config/schema.js';

/**
 * How a camera should reach the hub: by its mDNS name (survives DHCP changes) and by its current
 * IPv4 address (for networks without mDNS). Configured values win.
 */
export function hubUrlsForCameras(
  config: Config['ble'],
  port: number,
): { hubUrl: string; hubAddressUrl?: string } {
  const hubUrl = config.hubUrl || `http://${os.hostname().toLowerCase()}.local:${port}`;
  if (config.hubAddressUrl) return { hubUrl, hubAddressUrl: config.hubAddressUrl };
  const lan = Object.values(os.networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal);
  return lan ? { hubUrl, hubAddressUrl: `http://${lan.address}:${port}` } : { hubUrl };
}
