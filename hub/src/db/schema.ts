export * from '../accounts/accounts.schema.js';
export * from '../cameras/cameras.schema.js';
export * from '../devices/devices.schema.js';
export * from '../events/events.schema.js';
export * from '../exports/exports.schema.js';
export * from '../jobs/jobs.schema.js';
export * from '../recording/recording.schema.js';
export * from '../settings/settings.schema.js';
