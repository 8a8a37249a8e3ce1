import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { after, before, test } from 'node:test';
import { babyWithCradle } from '../care/fixtures/cradle.js';
import { startTestHub, type TestClient, type TestHub } from '../testing/test-hub.js';
import { waitFor } from '../testing/wait.js';
import { addressRule } from './metrics.routes.js';

interface Family {
  help: string;
  type: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/y;
/**
 * Values are what Go's strconv.ParseFloat reads (the format's definition): decimals, and `Inf`, `Infinity`
 * and `NaN` in any case (prom-client writes `Nan`, e.g. an event-loop mean with no samples since the
 * last scrape).
 */
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;
const numberOf = (text: string) => {
  const special = /^([+-]?)inf(?:inity)?$/i.exec(text);
  if (special) return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return /^nan$/i.test(text) ? Number.NaN : Number(text);
};
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
  counter: [''],
  gauge: [''],
  untyped: [''],
};

/**
 * A strict reader of the Prometheus text format (0.0.4): every line is a HELP, a TYPE or a sample; a
 * family's HELP and TYPE come once, before its samples, and its samples are contiguous; label values
 * use only the format's escapes; a histogram's buckets rise and end at +Inf with its count. Throws on
 * anything else, so a malformed scrape fails the test rather than parsing to "no value".
 */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  let current: string | undefined;
  const familyOf = (sample: string) => {
    for (const [name, family] of families)
      if (SUFFIXES[family.type]!.some((suffix) => `${name}${suffix}` === sample)) return name;
    throw new Error(`sample ${sample} belongs to no family with a TYPE`);
  };
  const enter = (name: string) => {
    if (current === name) return;
    if (current) finished.add(current);
    assert.ok(!finished.has(name), `family ${name} is split`);
    current = name;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      assert.match(name, NAME, `metric name in: ${line}`);
      enter(name);
      const family = families.get(name) ?? { help: '', type: '', samples: [] };
      assert.equal(family.samples.length, 0, `${kind} of ${name} after its samples`);
      if (kind === 'HELP') {
        assert.equal(family.help, '', `second HELP of ${name}`);
        assert.ok(rest.length > 0, `empty HELP of ${name}`);
        family.help = rest;
      } else {
        assert.equal(family.type, '', `second TYPE of ${name}`);
        assert.ok(rest in SUFFIXES, `unknown TYPE ${rest} of ${name}`);
        family.type = rest;
      }
      families.set(name, family);
      continue;
    }
    assert.ok(!line.startsWith('#'), `stray comment: ${line}`);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    assert.ok(sample, `not a sample line: ${JSON.stringify(line)}`);
    const [, name, labelText = '', valueText] = sample as unknown as [string, string, string, string];
    assert.match(valueText, VALUE, `value in: ${line}`);
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < labelText.length) {
      const match = LABEL.exec(labelText);
      assert.ok(match, `labels in: ${line}`);
      assert.ok(!(match[1]! in labels), `repeated label in: ${line}`);
      labels[match[1]!] = match[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const familyName = familyOf(name);
    enter(familyName);
    const family = families.get(familyName)!;
    assert.ok(family.help && family.type, `${familyName} has HELP and TYPE before its samples`);
    family.samples.push({ name, labels, value: numberOf(valueText) });
  }
  for (const [name, family] of families) {
    assert.ok(family.help && family.type, `${name} has HELP and TYPE`);
    if (family.type !== 'histogram') continue;
    const series = new Map<string, { le: number[]; counts: number[]; count?: number }>();
    for (const sample of family.samples) {
      const { le, ...rest } = sample.labels;
      const key = JSON.stringify(rest);
      const entry = series.get(key) ?? { le: [], counts: [] };
      if (sample.name.endsWith('_bucket')) {
        assert.ok(le !== undefined, `${name} bucket without le`);
        entry.le.push(numberOf(le));
        entry.counts.push(sample.value);
      } else if (sample.name.endsWith('_count')) entry.count = sample.value;
      series.set(key, entry);
    }
    for (const [key, entry] of series) {
      assert.equal(entry.le.at(-1), Number.POSITIVE_INFINITY, `${name}${key} ends at +Inf`);
      for (let i = 1; i < entry.le.length; i++) {
        assert.ok(entry.le[i]! > entry.le[i - 1]!, `${name}${key} buckets rise`);
        assert.ok(entry.counts[i]! >= entry.counts[i - 1]!, `${name}${key} is cumulative`);
      }
      assert.equal(entry.counts.at(-1), entry.count, `${name}${key}: +Inf bucket equals _count`);
    }
  }
  return families;
}

/** One sample's value, or undefined when that series is absent. */
function sampleValue(families: Map<string, Family>, sample: string, labels: Record<string, string> = {}) {
  for (const family of families.values())
    for (const each of family.samples)
      if (
        each.name === sample &&
        Object.keys(labels).length === Object.keys(each.labels).length &&
        Object.entries(labels).every(([key, value]) => each.labels[key] === value)
      )
        return each.value;
  return undefined;
}

/** GET over a real socket, from a chosen local address (the whole of 127.0.0.0/8 is loopback on Linux). */
function get(
  url: string,
  path: string,
  options: { from?: string; cookie?: string } = {},
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      new URL(path, url),
      {
        ...(options.from ? { localAddress: options.from } : {}),
        headers: options.cookie ? { cookie: options.cookie } : {},
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode!, type: response.headers['content-type'] ?? '', body }),
        );
      },
    );
    request.on('error', reject);
  });
}

let t: TestHub;
let owner: TestClient;
const scrape = async () => {
  const response = await get(t.url, '/metrics');
  assert.equal(response.status, 200, response.body);
  assert.equal(response.type, 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(response.body);
};

before(async () => {
  t = await startTestHub({ demo: true });
  owner = await t.owner();
});
after(() => t.stop());

test('a scrape from 127.0.0.1 is valid Prometheus text with the hub, process and event-loop metrics', async () => {
  const families = await scrape();
  for (const name of [
    'hearth_http_request_duration_seconds',
    'hearth_recorder_state',
    'hearth_recorder_restarts_total',
    'hearth_segments_indexed_total',
    'hearth_segments',
    'hearth_spool_bytes',
    'hearth_nas_healthy',
    'hearth_nas_free_bytes',
    'hearth_jobs',
    'hearth_incidents_total',
    'hearth_incidents_open',
    'hearth_notify_failed_total',
    'hearth_sse_clients',
    'hearth_nodes',
    'nodejs_eventloop_lag_seconds',
    'process_resident_memory_bytes',
  ])
    assert.ok(families.has(name), `${name} is exposed`);
  assert.equal(families.get('hearth_http_request_duration_seconds')!.type, 'histogram');
  assert.equal(families.get('hearth_incidents_total')!.type, 'counter');
  assert.ok(sampleValue(families, 'process_resident_memory_bytes')! > 10 * 1024 ** 2);
  assert.equal(sampleValue(families, 'hearth_nas_healthy'), 1, 'the demo NAS folder is healthy');
  assert.ok(sampleValue(families, 'hearth_nas_free_bytes')! > 0);
  assert.equal(sampleValue(families, 'hearth_spool_bytes'), 0);

  // The metric is listed with the rest of the HTTP surface.
  const openApi = (await t.client().get('/api/openapi.json')).body;
  assert.equal(openApi.paths['/metrics']?.get?.['x-hearth-access'], 'owner');
});

test('the latency histogram counts a request under its route pattern, never the raw path', async () => {
  const labels = { method: 'GET', route: '/api/cameras/:id', status: '2xx' };
  const count = 'hearth_http_request_duration_seconds_count';
  const before = sampleValue(await scrape(), count, labels) ?? 0;
  assert.equal((await owner.get('/api/cameras/demo-living-room')).status, 200);
  assert.equal((await owner.get('/api/cameras/no-such-camera')).status, 404);
  const families = await scrape();
  assert.equal(sampleValue(families, count, labels), before + 1);
  assert.equal(sampleValue(families, count, { ...labels, status: '4xx' }), 1);
  const routes = families
    .get('hearth_http_request_duration_seconds')!
    .samples.map((sample) => sample.labels.route ?? '');
  assert.ok(routes.includes('/api/auth/login'), 'the owner’s login was counted');
  assert.deepEqual(
    routes.filter((route) => /demo-living-room|no-such-camera/.test(route)),
    [],
    'label values are patterns',
  );
});

/** The ffmpeg this process runs for one camera, found in /proc by its parent and command line. */
function recorderPid(camera: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (
        ppid === process.pid &&
        /(^|\/)ffmpeg$/.test(argv[0] ?? '') &&
        argv.some((arg) => arg.includes(`/${camera}_`))
      )
        return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

test('recorder state and restarts per camera, segments indexed: from the demo cameras', async () => {
  const camera = 'demo-front-door';
  const recording = async () => {
    const families = await scrape();
    return sampleValue(families, 'hearth_recorder_state', { camera, state: 'recording' }) === 1
      ? families
      : undefined;
  };
  let families = await waitFor('the front door recording', recording, 20_000);
  for (const id of ['demo-front-door', 'demo-living-room']) {
    const states = families
      .get('hearth_recorder_state')!
      .samples.filter((sample) => sample.labels.camera === id);
    assert.equal(states.length, 6, `${id}: one series per state`);
    assert.equal(states.filter((sample) => sample.value === 1).length, 1, `${id}: exactly one current state`);
  }
  assert.equal(sampleValue(families, 'hearth_recorder_restarts_total', { camera }), 0);

  // Its ffmpeg dies: the supervisor restarts it, and the counter says so.
  const pid = await waitFor('the front door’s ffmpeg', () => recorderPid(camera), 10_000);
  process.kill(pid, 'SIGKILL');
  families = await waitFor(
    'a counted restart',
    async () => {
      const scraped = await scrape();
      return sampleValue(scraped, 'hearth_recorder_restarts_total', { camera }) === 1 ? scraped : undefined;
    },
    15_000,
  );
  assert.equal(sampleValue(families, 'hearth_recorder_restarts_total', { camera: 'demo-living-room' }), 0);
  await waitFor('recording again', recording, 20_000);

  // Ten-second demo segments: the counter and the index agree with the database.
  families = await waitFor(
    'an indexed segment',
    async () => {
      const scraped = await scrape();
      return (sampleValue(scraped, 'hearth_segments_indexed_total', { camera: 'demo-living-room' }) ?? 0) >= 1
        ? scraped
        : undefined;
    },
    30_000,
  );
  assert.ok(sampleValue(families, 'hearth_segments', { location: 'nas' })! >= 1);
  assert.equal(sampleValue(families, 'hearth_segments', { location: 'spool' }), 0);
  // The gauges read the trigger-kept totals; the table itself must agree (retried only while a new segment
  // may land between the scrape and the query).
  const table = t.hub.db.$client.prepare(
    "SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes FROM segments WHERE location = 'nas'",
  );
  await waitFor(
    'the segment gauges to match the table',
    async () => {
      const scraped = await scrape();
      const { n, bytes } = table.get() as { n: number; bytes: number };
      return sampleValue(scraped, 'hearth_segments', { location: 'nas' }) === n &&
        sampleValue(scraped, 'hearth_segment_bytes', { location: 'nas' }) === bytes
        ? true
        : undefined;
    },
    10_000,
  );
});

test('queue depth follows the job table', async () => {
  const queued = () =>
    scrape().then((families) => sampleValue(families, 'hearth_jobs', { status: 'queued' }));
  const before = (await queued())!;
  // A kind nobody handles, due in an hour: it stays queued while we look.
  t.hub.queue.enqueue('metrics.probe', {}, { runAt: Date.now() + 3_600_000 });
  t.hub.queue.enqueue('metrics.probe', {}, { runAt: Date.now() + 3_600_000 });
  assert.equal(await queued(), before + 2);
});

test('incidents, notify failures and nodes online change when a fever alert fires on a dead channel', async () => {
  // A port that was free a moment ago: the channel's deliveries are refused.
  const dead = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const saved = await owner.put('/api/notify/channels', {
    channels: [
      { id: 'gone', name: 'Gone', type: 'webhook', enabled: true, url: `http://127.0.0.1:${dead}/h` },
    ],
  });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  let families = await scrape();
  assert.equal(sampleValue(families, 'hearth_notify_consecutive_failures', { channel: 'gone' }), 0);
  assert.equal(sampleValue(families, 'hearth_incidents_total', { severity: 'emergency' }), 0);
  assert.equal(sampleValue(families, 'hearth_nodes', { status: 'online' }), 0);

  const cradle = await babyWithCradle(t, owner);
  const rule = await cradle.feverRule();
  assert.equal(rule.status, 201, JSON.stringify(rule.body));
  const reading = await cradle.send([{ at: Date.now(), kind: 'temperature', value: 39.1 }]);
  assert.equal(reading.status, 200, JSON.stringify(reading.body));

  families = await scrape();
  assert.equal(sampleValue(families, 'hearth_incidents_total', { severity: 'emergency' }), 1);
  assert.equal(sampleValue(families, 'hearth_incidents_open', { severity: 'emergency' }), 1);
  assert.equal(sampleValue(families, 'hearth_incidents_total', { severity: 'warning' }), 0);
  assert.equal(
    sampleValue(families, 'hearth_nodes', { status: 'online' }),
    1,
    'its token use marks it online',
  );
  await waitFor('the refused delivery counted', async () =>
    (sampleValue(await scrape(), 'hearth_notify_consecutive_failures', { channel: 'gone' }) ?? 0) >= 1
      ? true
      : undefined,
  );

  const incident = (await owner.get('/api/incidents')).body.incidents[0];
  assert.equal((await owner.post(`/api/incidents/${incident.id}/acknowledge`)).status, 200);
  families = await scrape();
  assert.equal(sampleValue(families, 'hearth_incidents_open', { severity: 'emergency' }), 0);
  assert.equal(
    sampleValue(families, 'hearth_incidents_total', { severity: 'emergency' }),
    1,
    'fired stays fired',
  );
});

test('live-update streams are counted while open', async () => {
  const clients = () => scrape().then((families) => sampleValue(families, 'hearth_sse_clients'));
  assert.equal(await clients(), 0);
  const aborter = new AbortController();
  const stream = await fetch(`${t.url}/api/events/stream`, {
    headers: { cookie: owner.cookie },
    signal: aborter.signal,
  });
  assert.equal(stream.status, 200);
  assert.equal(await clients(), 1);
  aborter.abort();
  await waitFor('the stream closed', async () => ((await clients()) === 0 ? true : undefined), 5000, 50);
});

/** A session cookie of a new user with that role, made through the account services. */
let users = 0;
async function sessionCookie(hub: TestHub, role: 'viewer' | 'member' | 'owner') {
  users += 1;
  const user = await hub.hub.users.create({
    username: `${role}${users}`,
    password: 'a-password-for-tests',
    role,
  });
  return `hearth_session=${hub.hub.sessions.create(user.id, {}).token}`;
}

test('allowFrom an address and owners: the address without a session, elsewhere only an owner', async (context) => {
  // The hub listens on 127.0.0.1; a client bound to 127.0.0.2 is a second, distinct peer address.
  const hub = await startTestHub({
    https: { enabled: false },
    metrics: { allowFrom: ['127.0.0.2', 'owners'] },
  });
  context.after(() => hub.stop());
  assert.equal((await get(hub.url, '/metrics', { from: '127.0.0.2' })).status, 200);
  const anonymous = await get(hub.url, '/metrics', { from: '127.0.0.1' });
  assert.equal(anonymous.status, 401);
  assert.equal(JSON.parse(anonymous.body).error.code, 'unauthorized');
  const member = await get(hub.url, '/metrics', {
    from: '127.0.0.1',
    cookie: await sessionCookie(hub, 'member'),
  });
  assert.equal(member.status, 403);
  assert.equal(JSON.parse(member.body).error.code, 'forbidden');
  const owner = await get(hub.url, '/metrics', {
    from: '127.0.0.1',
    cookie: await sessionCookie(hub, 'owner'),
  });
  assert.equal(owner.status, 200);
  assert.ok(parseExposition(owner.body).has('hearth_jobs'));
});

test('allowFrom without owners: another peer is refused even with an owner session', async (context) => {
  const hub = await startTestHub({ https: { enabled: false }, metrics: { allowFrom: ['127.0.0.2/32'] } });
  context.after(() => hub.stop());
  assert.equal((await get(hub.url, '/metrics', { from: '127.0.0.2' })).status, 200);
  const owner = await get(hub.url, '/metrics', {
    from: '127.0.0.1',
    cookie: await sessionCookie(hub, 'owner'),
  });
  assert.equal(owner.status, 403);
  assert.equal(JSON.parse(owner.body).error.code, 'forbidden');
});

/**
 * A LAN address of this machine (a Pi's wlan0, a container's eth0): private IPv4 or IPv6 unique-local.
 * Link-local ones are left out: binding to them needs a scope id.
 */
const lan = Object.values(os.networkInterfaces())
  .flat()
  .find(
    (each) =>
      each && !each.internal && !each.address.startsWith('fe80:') && addressRule(['lan'])(each.address),
  );

/** A test hub listening on that address only, and its URL (TestHub's own URL has no brackets for IPv6). */
async function hubOnLan(allowFrom?: ['lan']) {
  const hub = await startTestHub({
    server: { host: lan!.address },
    https: { enabled: false },
    ...(allowFrom ? { metrics: { allowFrom } } : {}),
  });
  const port = hub.url.slice(hub.url.lastIndexOf(':') + 1);
  const host = lan!.family === 'IPv6' ? `[${lan!.address}]` : lan!.address;
  return { hub, url: `http://${host}:${port}` };
}

test('the default refuses a LAN peer without an owner session; `lan` admits it', {
  skip: lan ? false : 'this machine has no private or unique-local address to connect from',
}, async (context) => {
  const from = lan!.address;
  const refusing = await hubOnLan();
  context.after(() => refusing.hub.stop());
  const refused = await get(refusing.url, '/metrics', { from });
  assert.equal(refused.status, 401);
  assert.equal(JSON.parse(refused.body).error.code, 'unauthorized');
  const viewer = await sessionCookie(refusing.hub, 'viewer');
  assert.equal((await get(refusing.url, '/metrics', { from, cookie: viewer })).status, 403);
  const owner = await sessionCookie(refusing.hub, 'owner');
  assert.equal((await get(refusing.url, '/metrics', { from, cookie: owner })).status, 200);

  const admitting = await hubOnLan(['lan']);
  context.after(() => admitting.hub.stop());
  assert.equal((await get(admitting.url, '/metrics', { from })).status, 200);
});

test('address rules: loopback in both families, the LAN ranges, CIDRs and IPv4-mapped peers', () => {
  const local = addressRule(['localhost', 'owners']);
  assert.deepEqual(
    ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1', '192.168.1.5', '::ffff:10.0.0.1', undefined].map(
      local,
    ),
    [true, true, true, true, false, false, false],
  );
  const lan = addressRule(['lan']);
  assert.deepEqual(
    [
      '10.1.2.3',
      '172.16.0.1',
      '172.32.0.1',
      '192.168.0.9',
      '169.254.1.1',
      'fd12::1',
      'fe80::1',
      '8.8.8.8',
      '2001:db8::1',
      '127.0.0.1',
    ].map(lan),
    [true, true, false, true, true, true, true, false, false, false],
  );
  const listed = addressRule(['192.168.1.0/24', '10.0.0.7', '2001:db8::/32']);
  assert.deepEqual(
    ['192.168.1.200', '192.168.2.1', '10.0.0.7', '10.0.0.8', '2001:db8::5', '::ffff:192.168.1.3'].map(listed),
    [true, false, true, false, true, true],
  );
  assert.equal(addressRule([])('127.0.0.1'), false);
});
