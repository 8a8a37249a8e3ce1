import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../testing/spawn-hub.js';
import { ConfigError, loadConfig } from './load.js';

test('an empty environment is a working appliance on embedded defaults', () => {
  const config = loadConfig({});
  assert.equal(config.server.port, 8080);
  assert.equal(config.dataDir, path.resolve('var'));
  assert.equal(config.nasDir, path.resolve('var', 'nas'));
  assert.equal(config.demo, false);
  assert.equal(config.auth.passwordMinLength, 10);
  assert.ok(path.isAbsolute(config.server.uiDir));
});

test('the fixed environment variables set their fields', () => {
  const config = loadConfig({
    HEARTH_PORT: '9090',
    HEARTH_HOST: '127.0.0.1',
    HEARTH_DATA_DIR: '/srv/hearth',
    HEARTH_NAS_DIR: '/mnt/nas',
    HEARTH_DEMO: '1',
  });
  assert.equal(config.server.port, 9090);
  assert.equal(config.server.host, '127.0.0.1');
  assert.equal(config.dataDir, '/srv/hearth');
  assert.equal(config.nasDir, '/mnt/nas');
  assert.equal(config.demo, true);
  assert.equal(loadConfig({ HEARTH_DATA_DIR: '/srv/hearth' }).nasDir, '/srv/hearth/nas');
});

test('a config file is merged under the environment, and is strict', () => {
  const dir = tempDir();
  const file = path.join(dir, 'hearth.json');
  writeFileSync(
    file,
    JSON.stringify({ server: { port: 7000, bodyLimitBytes: 2048 }, auth: { sessionIdleHours: 2 } }),
  );
  const config = loadConfig({ HEARTH_CONFIG: file, HEARTH_PORT: '7001' });
  assert.equal(config.server.port, 7001, 'environment wins over the file');
  assert.equal(config.server.bodyLimitBytes, 2048);
  assert.equal(config.auth.sessionIdleHours, 2);
  assert.equal(config.auth.sessionMaxAgeHours, 720, 'untouched fields keep their defaults');

  writeFileSync(file, JSON.stringify({ server: { prot: 7000 } }));
  assert.throws(
    () => loadConfig({ HEARTH_CONFIG: file }),
    (error: Error) => error instanceof ConfigError && /prot/.test(error.message),
  );
  writeFileSync(file, '{ not json');
  assert.throws(() => loadConfig({ HEARTH_CONFIG: file }), ConfigError);
  assert.throws(() => loadConfig({ HEARTH_CONFIG: path.join(dir, 'missing.json') }), ConfigError);
});

test('bad values are refused with the variable or field named', () => {
  assert.throws(() => loadConfig({ HEARTH_PORT: 'eighty' }), /HEARTH_PORT/);
  assert.throws(() => loadConfig({ HEARTH_PORT: '70000' }), /port/);
  assert.throws(() => loadConfig({ HEARTH_DEMO: 'yes' }), /HEARTH_DEMO/);
  assert.throws(() => loadConfig({}, { auth: { passwordMinLength: 4 } }), /passwordMinLength/);
});
