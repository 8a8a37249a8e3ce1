/**
 * Edge nodes in a real browser against the compiled hub and a real agent process on a pty: the owner adds a
 * node (an enrolment code), the agent enrols with it and its heartbeat appears live; a temperature line from
 * the scripted Arduino shows as the latest reading; "Rock for a minute" reaches the motor and the result
 * comes back to the page. Korean too. Needs `npm run build`, chromium and socat.
 *
 *   node --import tsx --conditions=development --test ui/e2e/nodes.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { type SpawnedHub, tempDir, waitFor } from '../../hub/src/testing/index.js';
import { type AgentProcess, agentProcess } from '../../node/src/testing/agent-process.js';
import { startPty } from '../../node/src/testing/pty.js';
import { CHROMIUM, signedInHub } from './browser.js';

describe('edge nodes', { skip: !existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, () => {
  let hub: SpawnedHub;
  let context: BrowserContext;
  let api: Awaited<ReturnType<typeof signedInHub>>['api'];
  let close = async () => {};
  let agent: AgentProcess | undefined;
  let pty: Awaited<ReturnType<typeof startPty>>;
  const dir = tempDir('hearth-nodes-e2e-');

  before(async () => {
    const config = path.join(dir, 'hub.json');
    writeFileSync(config, JSON.stringify({ nodes: { heartbeatSeconds: 2 } }));
    ({ hub, context, api, close } = await signedInHub({ HEARTH_CONFIG: config }));
    pty = await startPty(dir);
  });
  after(async () => {
    await agent?.stop('SIGKILL');
    await pty?.stop();
    await close();
  });

  test('add a node, see it live, read its temperature, rock the cradle from the page', async () => {
    const page = await context.newPage();
    await page.goto(`${hub.url}/`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes' }).click();
    await page.getByRole('heading', { level: 1, name: 'Nodes' }).waitFor();
    await page.getByText('No edge nodes yet.').waitFor();
    await page.getByRole('button', { name: 'Add node' }).click();
    await page.getByRole('button', { name: 'Make an enrolment code' }).click();
    await page.getByText('Required.').waitFor();
    await page.getByLabel('Name').fill('Cradle');
    await page.getByRole('button', { name: 'Make an enrolment code' }).click();
    const card = page.getByTestId('node-code');
    await card.getByRole('heading', { name: 'Enrolment code for “Cradle”' }).waitFor();
    const code = (await card.locator('code').textContent())!.trim();
    assert.match(code, /^[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$/);
    assert.match(
      (await card.locator('pre').textContent()) ?? '',
      new RegExp(`hearth-node enrol --hub ${hub.url} --code ${code}`),
    );

    // On the node, what the page says to run.
    const stateDir = path.join(dir, 'cradle');
    const enrol = agentProcess(stateDir, ['enrol', '--hub', hub.url, '--code', code]);
    assert.equal(await enrol.exited, 0, enrol.output());
    writeFileSync(
      path.join(stateDir, 'config.json'),
      JSON.stringify({
        commandWaitSeconds: 5,
        sensors: [
          {
            type: 'serial',
            name: 'cradle',
            path: pty.nodeEnd,
            min: 20,
            max: 45,
            motor: { rock: 'servo\n', stop: 'stop\n' },
          },
        ],
      }),
    );
    agent = agentProcess(stateDir, ['run']);
    await page.getByRole('button', { name: 'Close' }).click();
    const row = page.getByTestId('nodes').getByRole('listitem').filter({ hasText: 'Cradle' });
    await row.getByText('Online').waitFor({ timeout: 30_000 });
    await row.getByText(/Last heartbeat/).waitFor();

    await waitFor(
      'the agent’s serial port',
      () => (agent!.output().includes('running') ? true : undefined),
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await pty.arduino.write('아기 체온: 36.6°C\n');
    await row.getByRole('link', { name: 'Cradle' }).click();
    await page.getByRole('heading', { level: 1, name: 'Cradle' }).waitFor();
    await page.getByTestId('node-readings').getByRole('cell', { name: '36.6' }).waitFor({ timeout: 30_000 });
    await page
      .getByTestId('node-facts')
      .getByText(/cradle: working/)
      .waitFor();

    await page.getByRole('button', { name: 'Rock for a minute' }).click();
    await page
      .getByTestId('node-commands')
      .getByText(/Rock the cradle · .* · done · rocking for 60 s/)
      .waitFor({ timeout: 30_000 });
    assert.ok(pty.arduino.received().includes('servo\n'));
    await page.getByRole('button', { name: 'Stop rocking' }).click();
    await waitFor(
      'the stop line',
      () => (pty.arduino.received().includes('stop\n') ? true : undefined),
      30_000,
    );

    assert.equal((await api('/api/auth/me', { method: 'PATCH', body: { locale: 'ko' } })).status, 200);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Cradle' }).waitFor();
    await page.getByTestId('node-commands').getByText('완료').first().waitFor();
    await page.getByRole('cell', { name: '체온' }).waitFor();
  });
});
