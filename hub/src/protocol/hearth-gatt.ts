/**
 * The Hearth camera service's UUIDs (docs/protocols.md, "Hearth camera service"). Values are compact
 * frames (compact.ts) carried in chunks (ble-chunks.ts).
 */
export const HEARTH_SERVICE = '098ae319-f68e-4339-b476-a194e0991500';
export const HEARTH_CHARACTERISTICS = {
  /** Write-only (encrypted link): hub URL by name and address, device token, signing key. */
  enrolment: '098ae319-f68e-4339-b476-a194e0991501',
  command: '098ae319-f68e-4339-b476-a194e0991502',
  settings: '098ae319-f68e-4339-b476-a194e0991503',
  status: '098ae319-f68e-4339-b476-a194e0991504',
} as const;
