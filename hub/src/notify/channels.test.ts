import assert from 'node:assert/strict';
import { test } from 'node:test';
import { channelConfigSchema, channelListSchema, redactChannel } from './channels.js';
import { isLanHost } from './lan.js';
import { noticeSchema } from './notice.js';

const hostOf = (url: string) => new URL(url).hostname;

test('LAN hosts: private, loopback, link-local and unique-local addresses and LAN-only names pass', () => {
  for (const url of [
    'http://127.0.0.1:8123',
    'http://127.1/', // the URL parser normalises it to 127.0.0.1
    'http://2130706433', // so is 127.0.0.1 as one number
    'http://10.0.0.5',
    'http://172.16.0.1',
    'http://172.31.255.254',
    'http://192.168.1.20:8123',
    'http://169.254.10.1',
    'http://[::1]:8080',
    'http://[fd12:3456:789a::1]',
    'http://[fe80::1]',
    'http://[::ffff:192.168.1.2]',
    'http://homeassistant:8123',
    'http://localhost:8080',
    'http://nas.local',
    'http://NAS.LOCAL.',
    'http://ntfy.lan',
    'http://ha.home.arpa',
    'http://broker.internal',
  ])
    assert.equal(isLanHost(hostOf(url)), true, url);
});

test('LAN hosts: public addresses and names are refused', () => {
  for (const url of [
    'http://example.com',
    'http://ntfy.sh',
    'http://8.8.8.8',
    'http://172.32.0.1',
    'http://192.169.0.1',
    'http://100.64.0.1',
    'http://[2001:db8::1]',
    'http://[2606:4700::1111]',
    'http://[::ffff:8.8.8.8]',
    'http://134744072', // 8.8.8.8 written as one number
    'http://0x8.0x8.0x8.0x8',
    'http://local.example.com',
    'http://evil.local.example.com',
  ])
    assert.equal(isLanHost(hostOf(url)), false, url);
});

test('channel configs: defaults, off by default, strict, LAN only, clear messages', () => {
  const webhook = channelConfigSchema.parse({
    type: 'webhook',
    id: 'home-assistant',
    name: 'Home Assistant',
    url: 'http://homeassistant.local:8123/api/webhook/hearth-alerts',
  });
  assert.equal(webhook.enabled, false);
  assert.equal(webhook.minSeverity, 'warning');
  const mqtt = channelConfigSchema.parse({
    type: 'mqtt',
    id: 'broker',
    name: 'Mosquitto',
    url: 'mqtt://10.0.0.2',
  });
  assert.deepEqual(
    [mqtt.type === 'mqtt' && mqtt.topic, mqtt.type === 'mqtt' && mqtt.qos],
    ['hearth/alerts', 1],
  );

  const refused = (input: unknown) => {
    const result = channelConfigSchema.safeParse(input);
    assert.equal(result.success, false, JSON.stringify(input));
    return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  };
  const base = { type: 'webhook', id: 'ha', name: 'HA' };
  assert.match(
    refused({ ...base, url: 'https://example.com/hook' }),
    /url: example\.com must be on the household LAN/,
  );
  assert.match(
    refused({ ...base, url: 'http://8.8.8.8/hook' }),
    /url: 8\.8\.8\.8 must be on the household LAN/,
  );
  assert.match(refused({ ...base, url: 'ftp://nas.local/x' }), /url: expected http:\/\/ or https:\/\//);
  assert.match(refused({ ...base, url: 'not a url' }), /url: not a URL/);
  assert.match(refused({ ...base, url: 'http://me:pw@ha.local/x' }), /no user or password in the URL/);
  assert.match(refused({ ...base, url: 'http://ha.local/x', extra: 1 }), /Unrecognized key/);
  assert.match(refused({ ...base, id: 'Home Assistant', url: 'http://ha.local' }), /id: lower-case letters/);
  assert.match(refused({ ...base, type: 'email', url: 'http://ha.local' }), /type/);
  assert.match(
    refused({ type: 'ntfy', id: 'n', name: 'n', server: 'https://ntfy.sh', topic: 'x' }),
    /server: ntfy\.sh must be on the household LAN/,
  );
  assert.match(
    refused({ type: 'ntfy', id: 'n', name: 'n', server: 'http://ntfy.lan', topic: 'a/b' }),
    /topic: an ntfy topic/,
  );
  assert.match(
    refused({ type: 'mqtt', id: 'm', name: 'm', url: 'http://broker.lan' }),
    /expected mqtt:\/\/ or mqtts:\/\//,
  );
  assert.match(
    refused({ type: 'mqtt', id: 'm', name: 'm', url: 'mqtts://test.mosquitto.org' }),
    /household LAN/,
  );
  assert.match(
    refused({ type: 'mqtt', id: 'm', name: 'm', url: 'mqtt://b.lan', topic: 'hearth/#' }),
    /no wildcards/,
  );
  assert.match(refused({ type: 'mqtt', id: 'm', name: 'm', url: 'mqtt://b.lan', qos: 2 }), /qos/);

  const twice = channelListSchema.safeParse([
    { ...base, url: 'http://ha.local' },
    { ...base, url: 'http://ha2.local' },
  ]);
  assert.equal(twice.success, false);
  assert.deepEqual(twice.error!.issues[0]!.path, [1, 'id']);
});

test('a channel as the API shows it has its secret replaced by ***', () => {
  const channels = channelListSchema.parse([
    { type: 'webhook', id: 'a', name: 'A', url: 'http://a.lan', secret: 'webhook-secret' },
    { type: 'webhook', id: 'b', name: 'B', url: 'http://b.lan' },
    { type: 'ntfy', id: 'c', name: 'C', server: 'http://ntfy.lan', topic: 't', token: 'tk_abc' },
    { type: 'mqtt', id: 'd', name: 'D', url: 'mqtt://b.lan', username: 'u', password: 'pw' },
  ]);
  const shown = channels.map(redactChannel);
  assert.deepEqual(
    shown.map((channel) => JSON.stringify(channel).match(/"(secret|token|password)":"[^"]*"/)?.[0] ?? null),
    ['"secret":"***"', null, '"token":"***"', '"password":"***"'],
  );
  assert.equal((shown[3] as { username?: string }).username, 'u');
});

test('a notice is strict and its links are http(s)', () => {
  const notice = {
    id: 'n-1',
    kind: 'fired',
    severity: 'emergency',
    title: 'Fever',
    message: '38.4 °C',
    at: 1,
    url: 'http://hearth.local/incidents/1',
    ackUrl: 'http://hearth.local/ack/abc',
  };
  assert.equal(noticeSchema.safeParse(notice).success, true);
  assert.equal(noticeSchema.safeParse({ ...notice, url: 'javascript:alert(1)' }).success, false);
  assert.equal(noticeSchema.safeParse({ ...notice, kind: 'other' }).success, false);
  assert.equal(noticeSchema.safeParse({ ...notice, extra: true }).success, false);
});
