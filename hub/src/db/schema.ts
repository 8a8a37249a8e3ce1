export * from '../accounts/accounts.schema.js';
export * from '../devices/devices.schema.js';
export * from '../events/events.schema.js';
export * from '../jobs/jobs.schema.js';
export * from '../settings/settings.schema.js';
