#!/usr/bin/env node
// MJPEG fan-out cost: one fake ESP32 camera (real JPEGs, CameraWebServer format, 10 fps, one client at a
// time) → the compiled hub (its own process, camera added through the API, not recorded) → 1, 10, 20 and
// 50 viewers over real HTTP. For each count: the hub's CPU over a fixed window (/proc/<pid>/stat utime+stime,
// and the finer per-thread schedstat) and its ratio to one viewer (goal: ≤ 1.5× at 20 viewers), and the
// delay the hub adds to a frame, p50/p99: the camera writes its send time into each JPEG (a COM segment),
// each viewer subtracts it from the time the whole frame arrived (same machine, same monotonic clock).
// Viewers run in a worker thread so their parsing does not delay the camera's timer.
// Run: npm run build -w hub && npm run bench:fanout
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COUNTS = (process.env.COUNTS ?? '1,10,20,50').split(',').map(Number);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 2000);
const WINDOW_MS = Number(process.env.WINDOW_MS ?? 10_000);
const FPS = 10;
const TICK = 100; // USER_HZ
const BOUNDARY = '123456789000000000000987654321';

// ------------------------------------------------------------------------------------------------ viewers

async function viewerWorker() {
  const { MjpegParser, boundaryFromContentType } = await import(path.join(root, 'hub/dist/media/index.js'));
  const viewers = [];
  let delays = [];
  parentPort.on('message', async (message) => {
    if (message.cmd === 'add') {
      for (let i = 0; i < message.count; i++) {
        const response = await fetch(message.url, { headers: { cookie: message.cookie } });
        if (response.status !== 200) throw new Error(`viewer got HTTP ${response.status}`);
        const parser = new MjpegParser(boundaryFromContentType(response.headers.get('content-type')));
        const viewer = { frames: 0, reader: response.body.getReader() };
        viewers.push(viewer);
        void (async () => {
          for (;;) {
            const { done, value } = await viewer.reader.read().catch(() => ({ done: true }));
            if (done) return;
            const now = process.hrtime.bigint();
            for (const frame of parser.push(Buffer.from(value))) {
              viewer.frames += 1;
              const sent = sentAt(frame.jpeg);
              if (sent !== null) delays.push(Number(now - sent) / 1e6);
            }
          }
        })();
      }
      parentPort.postMessage({ cmd: 'added', viewers: viewers.length });
    } else if (message.cmd === 'reset') {
      delays = [];
      for (const viewer of viewers) viewer.frames = 0;
      parentPort.postMessage({ cmd: 'reset' });
    } else if (message.cmd === 'report') {
      parentPort.postMessage({ cmd: 'report', delays, frames: viewers.map((v) => v.frames) });
    } else if (message.cmd === 'close') {
      await Promise.all(viewers.map((v) => v.reader.cancel().catch(() => {})));
      parentPort.postMessage({ cmd: 'closed' });
    }
  });
}

/** The send time the fake camera wrote into the JPEG's COM segment (FF FE, right after SOI). */
function sentAt(jpeg) {
  if (jpeg[2] !== 0xff || jpeg[3] !== 0xfe) return null;
  const length = jpeg.readUInt16BE(4);
  const text = jpeg.toString('latin1', 6, 4 + length);
  const match = /^hearth-sent:(\d+)$/.exec(text);
  return match ? BigInt(match[1]) : null;
}

// ------------------------------------------------------------------------------------------------ camera

/** Real JPEGs from ffmpeg's moving test pattern, 640×480 as the ESP32's VGA setting. */
async function makeJpegs(dir) {
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=10'],
    ...['-frames:v', '10', '-q:v', '5', path.join(dir, 'frame%02d.jpg')],
  ]);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jpg'))
    .sort()
    .map((name) => readFileSync(path.join(dir, name)));
}

function stamp(jpeg) {
  const text = Buffer.from(`hearth-sent:${process.hrtime.bigint()}`, 'latin1');
  const head = Buffer.from([0xff, 0xfe, 0, 0]);
  head.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), head, text, jpeg.subarray(2)]);
}

/** One client at a time, like the ESP32's esp_http_server; parts as app_httpd.cpp writes them. */
async function startCamera(jpegs) {
  let client = null;
  let clients = 0;
  let sent = 0;
  let next = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/stream' || client) {
      res.writeHead(req.url === '/stream' ? 503 : 404).end();
      return;
    }
    clients += 1;
    client = res;
    res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace;boundary=${BOUNDARY}` });
    req.socket.on('close', () => {
      if (client === res) client = null;
    });
  });
  const timer = setInterval(() => {
    if (!client || client.writableNeedDrain) return;
    const jpeg = stamp(jpegs[next++ % jpegs.length]);
    const t = process.hrtime.bigint() / 1000n;
    client.write(
      Buffer.concat([
        Buffer.from(
          `\r\n--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n` +
            `X-Timestamp: ${t / 1_000_000n}.${String(t % 1_000_000n).padStart(6, '0')}\r\n\r\n`,
          'latin1',
        ),
        jpeg,
      ]),
    );
    sent += 1;
  }, 1000 / FPS);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/stream`,
    stats: () => ({ clients, sent }),
    close: () => {
      clearInterval(timer);
      server.closeAllConnections();
      server.close();
    },
  };
}

// ------------------------------------------------------------------------------------------------ hub

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

async function startHub(dataDir) {
  const config = path.join(path.dirname(dataDir), 'hearth.json');
  writeFileSync(config, JSON.stringify({ live: { maxViewersPerCamera: Math.max(...COUNTS) + 5 } }));
  // As the systemd unit and `npm start` run it.
  const child = spawn(process.execPath, ['--max-semi-space-size=2', path.join(root, 'hub/dist/main.js')], {
    env: {
      ...process.env,
      HEARTH_DATA_DIR: dataDir,
      HEARTH_PORT: '0',
      HEARTH_HOST: '127.0.0.1',
      HEARTH_DEMO: '0',
      HEARTH_CONFIG: config,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise((resolve, reject) => {
    let url;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg === 'listening') url = entry.url;
      if (url && entry.setupCode) resolve({ url, setupCode: entry.setupCode });
    });
    child.once('exit', (code) => reject(new Error(`hub exited with ${code}`)));
    setTimeout(() => reject(new Error('the hub did not start within 30 s')), 30_000).unref();
  });
  return { child, ...ready };
}

async function api(hub, method, route, body, cookie = '') {
  const response = await fetch(`${hub.url}${route}`, {
    method,
    headers: { 'content-type': 'application/json', origin: hub.url, cookie },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status >= 300)
    throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response;
}

function statTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function schedNs(pid) {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {}
  }
  return ns;
}

function rssMb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

const percentile = (values, p) => {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function main() {
  if (!existsSync(path.join(root, 'hub/dist/main.js'))) {
    console.error('hub/dist is missing: run `npm run build -w hub` first.');
    process.exit(1);
  }
  const started = Date.now();
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-fanout-'));
  const camera = await startCamera(await makeJpegs(scratch));
  const hub = await startHub(path.join(scratch, 'data'));
  const worker = new Worker(fileURLToPath(import.meta.url));
  const ask = (message, reply) =>
    new Promise((resolve) => {
      const onMessage = (answer) => {
        if (answer.cmd !== reply) return;
        worker.off('message', onMessage);
        resolve(answer);
      };
      worker.on('message', onMessage);
      worker.postMessage(message);
    });
  try {
    await api(hub, 'POST', '/api/setup', {
      code: hub.setupCode,
      username: 'owner',
      password: 'bench-password-1',
    });
    const login = await api(hub, 'POST', '/api/auth/login', {
      username: 'owner',
      password: 'bench-password-1',
    });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    await api(
      hub,
      'POST',
      '/api/cameras',
      { id: 'bench', name: 'Bench', kind: 'mjpeg', sourceUrl: camera.url, record: false },
      cookie,
    );
    const liveUrl = `${hub.url}/api/cameras/bench/live.mjpeg`;

    const rows = [];
    let open = 0;
    // 0 first: the idle hub (no viewer, so no camera connection either), what every other row includes.
    for (const count of [0, ...COUNTS]) {
      if (count > open) await ask({ cmd: 'add', count: count - open, url: liveUrl, cookie }, 'added');
      open = count;
      await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
      await ask({ cmd: 'reset' }, 'reset');
      const sentBefore = camera.stats().sent;
      const ticks = statTicks(hub.child.pid);
      const ns = schedNs(hub.child.pid);
      const t0 = process.hrtime.bigint();
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpuStat = (statTicks(hub.child.pid) - ticks) / TICK / seconds;
      const cpuSched = (schedNs(hub.child.pid) - ns) / 1e9 / seconds;
      const sent = camera.stats().sent - sentBefore;
      const report = await ask({ cmd: 'report' }, 'report');
      rows.push({
        count,
        cpuStat,
        cpuSched,
        sent,
        minFrames: report.frames.length ? Math.min(...report.frames) : 0,
        p50: percentile(report.delays, 50),
        p99: percentile(report.delays, 99),
        rss: rssMb(hub.child.pid),
      });
    }
    await ask({ cmd: 'close' }, 'closed');

    const idle = rows.shift();
    const base = rows[0];
    console.log(
      `\nMJPEG fan-out, 640×480 @ ${FPS} fps (~${Math.round(readFileSync(path.join(scratch, 'frame01.jpg')).length / 1024)} kB frames), ` +
        `${WINDOW_MS / 1000}-s windows, hub = ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}\n`,
    );
    console.log(
      'viewers | hub CPU (stat) | × 1 viewer | hub CPU (schedstat) | × 1 viewer | frames/viewer (min) | added delay p50 / p99 | hub RSS',
    );
    console.log(
      '------- | -------------- | ---------- | ------------------- | ---------- | ------------------- | --------------------- | -------',
    );
    console.log(
      `   idle | ${`${(idle.cpuStat * 100).toFixed(2)} %`.padStart(14)} |            | ${`${(idle.cpuSched * 100).toFixed(2)} %`.padStart(19)} |            |                     |                       | ${`${idle.rss.toFixed(0)} MB`.padStart(7)}`,
    );
    for (const row of rows) {
      console.log(
        [
          String(row.count).padStart(7),
          `${(row.cpuStat * 100).toFixed(2)} %`.padStart(14),
          `${(row.cpuStat / base.cpuStat).toFixed(2)}×`.padStart(10),
          `${(row.cpuSched * 100).toFixed(2)} %`.padStart(19),
          `${(row.cpuSched / base.cpuSched).toFixed(2)}×`.padStart(10),
          `${row.minFrames} of ${row.sent}`.padStart(19),
          `${row.p50.toFixed(1)} / ${row.p99.toFixed(1)} ms`.padStart(21),
          `${row.rss.toFixed(0)} MB`.padStart(7),
        ].join(' | '),
      );
    }
    const twenty = rows.find((row) => row.count === 20);
    if (twenty)
      console.log(
        `\ngoal ≤ 1.5× at 20 viewers: ${(twenty.cpuSched / base.cpuSched).toFixed(2)}× (schedstat), ${(twenty.cpuStat / base.cpuStat).toFixed(2)}× (stat)` +
          ` · the camera saw ${camera.stats().clients} client(s) · ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
  } finally {
    await worker.terminate();
    hub.child.kill('SIGTERM');
    await new Promise((resolve) => hub.child.once('exit', resolve));
    camera.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

// Last, so every declaration above is initialised before it runs.
if (isMainThread) await main();
else await viewerWorker();
