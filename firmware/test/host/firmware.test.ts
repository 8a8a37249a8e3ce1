/**
 * The firmware core on the host, from `npm test`: builds it and its doctest tests with g++ under
 * AddressSanitizer and UBSan (`make -C firmware/test/host run`, also `npm run test:firmware`), and runs
 * cppcheck on it. Needs g++, make, doctest-dev, nlohmann-json3-dev and cppcheck (`.ci/run` installs them).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { makeFirmwareHost } from '../../../hub/src/testing/firmware-host.js';
import { REPO_ROOT } from '../../../hub/src/testing/spawn-hub.js';

const FIRMWARE = path.join(REPO_ROOT, 'firmware');

test('firmware core host tests: every shared protocol vector both ways, random frames under sanitizers', () => {
  const run = makeFirmwareHost('run');
  const { output } = run;
  assert.equal(run.status, 0, output.slice(-4000));
  assert.match(output, /test cases: +\d+ \| +\d+ passed \| 0 failed/);
  assert.doesNotMatch(output, /Sanitizer/);
});

test('cppcheck finds nothing above style in the firmware core and the Arduino layer', () => {
  const run = spawnSync(
    'cppcheck',
    [
      '--quiet',
      '--enable=warning,performance,portability',
      '--error-exitcode=1',
      '--std=c++17',
      '-I',
      path.join(FIRMWARE, 'lib', 'hearth_core', 'include'),
      // The Arduino layer is checked without the Arduino headers (not installed here): its own code only.
      '-DHEARTH_FW_VERSION="0.0.0"',
      path.join(FIRMWARE, 'lib', 'hearth_core', 'src'),
      path.join(FIRMWARE, 'src'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(run.error, undefined, 'cppcheck is not installed (apt-get install cppcheck)');
  assert.equal(run.status, 0, run.stderr);
});
