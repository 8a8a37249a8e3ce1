// Test harness shared with the other workspaces' tests (development condition only; never shipped).

export * from './ffprobe.js';
export * from './spawn-hub.js';
export * from './test-hub.js';
export * from './wait.js';
