/**
 * A device adopted over Bluetooth carries its address in its hardware id (`ble:A4:CF:12:…`): the one
 * place that knows the form, for adoption, GATT control and the camera panel.
 */
export const bleHardwareId = (address: string): string => `ble:${address.toUpperCase()}`;

export const bleAddressOf = (hardwareId: string | null): string | null =>
  hardwareId?.startsWith('ble:') ? hardwareId.slice(4) : null;
