#!/usr/bin/env node
// The inference service's budget (compiled hub, issue 13). Four parts, each with its baseline in the same run:
//  1. ms per inference, warm (after a first one), per model — objects (centernet) on a 640×360 room with a
//     person, face (blazeface + mesh + iris) on a 320×320 face — on the wasm backend against the cpu backend
//     (the fallback; 20–35× slower, so only a few runs there). The time is the worker's own (tensor in,
//     result out), without the message hop.
//  2. Worker-pool throughput: pictures per second answered for STREAMS cameras sending 2 pictures a second
//     each (more than the workers can take), with 1 and 2 workers (objects, wasm); the ratio 2w/1w is what
//     a second core buys.
//  3. Motion-gating ratio on a demo scene (a still, noisy room; a person walks in, stands, walks out):
//     frames the real motion gate opens for / frames sampled at the hub's rate and size. (The detection
//     service also keeps the detector on while an event is open; this is the gate alone.)
//  4. RSS of the inference service: a fresh process importing the pool, then after its workers loaded both
//     models (objects and face), then after one inference of each per worker; 1 and 2 workers (worker threads
//     share the process).
// Prints a table and, last, one JSON line. Run: npm run bench:ai   (run `npm run build` first)
// Knobs: WASM_RUNS (10), CPU_RUNS (2), THROUGHPUT_SECONDS (12), STREAMS (4).
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (file) => import(path.join(root, 'hub/dist', file));
const WASM_RUNS = Number(process.env.WASM_RUNS ?? 10);
const CPU_RUNS = Number(process.env.CPU_RUNS ?? 2);
const THROUGHPUT_SECONDS = Number(process.env.THROUGHPUT_SECONDS ?? 12);
const STREAMS = Number(process.env.STREAMS ?? 4);

const assets = path.join(
  path.dirname(createRequire(path.join(root, 'hub/package.json')).resolve('@vladmandic/human')),
  '..',
  'assets',
);
const room = (seconds) =>
  `color=c=0x707a86:size=640x360:rate=10:duration=${seconds},drawbox=x=0:y=270:w=640:h=90:color=0x8a7560:t=fill,drawbox=x=40:y=180:w=150:h=90:color=0x5a6a50:t=fill,drawbox=x=470:y=40:w=110:h=80:color=0xd8d8c8:t=fill`;

function rgb(args, width, height) {
  const pixels = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-nostdin', ...args, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: width * height * 3 + 1024 },
  );
  return { width, height, pixels: new Uint8Array(pixels) };
}
/** A person (the seated man of samples.jpg's top row) in a 640×360 room. */
const roomWithPerson = () =>
  rgb(
    [
      ...['-f', 'lavfi', '-i', room(1), '-i', path.join(assets, 'samples.jpg')],
      ...['-filter_complex', '[1]crop=200:150:330:2,scale=-2:230[p];[0][p]overlay=x=220:y=70'],
    ],
    640,
    360,
  );
/** The frontal face of screenshot-faceid.jpg, 320×320. */
const face = () =>
  rgb(
    ['-i', path.join(assets, 'screenshot-faceid.jpg'), '-vf', 'crop=150:150:9:136,scale=320:320'],
    320,
    320,
  );

const round = (n, digits = 1) => Number(n.toFixed(digits));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

// ---------------------------------------------------------------- 4 (child). RSS of one service
if (process.argv[2] === '--rss-child') {
  const workers = Number(process.argv[3]);
  const { createInferencePool } = await dist('ai/inference/pool.js');
  const { createLogger } = await dist('log/logger.js');
  const { systemClock } = await dist('clock.js');
  const mb = () => process.memoryUsage().rss / 1048576;
  const images = { objects: roomWithPerson(), face: face() };
  const before = mb();
  let answer = () => {};
  const pool = createInferencePool({
    config: { backend: 'wasm', workers },
    models: ['objects', 'face'],
    clock: systemClock,
    log: createLogger('silent'),
    onResult: (result) => answer(result),
  });
  await pool.start();
  const loaded = mb();
  // Each worker runs both models once (one stream per worker and model, so every worker gets work).
  for (const model of ['objects', 'face'])
    await Promise.all(
      Array.from(
        { length: workers },
        (_, i) =>
          new Promise((resolve) => {
            const previous = answer;
            answer = (result) => (result.job.cameraId === `${model}-${i}` ? resolve() : previous(result));
            pool.submit({ cameraId: `${model}-${i}`, at: Date.now(), model, image: images[model] });
          }),
      ),
    );
  const afterRun = mb();
  await pool.close();
  console.log(JSON.stringify({ workers, before, loaded, afterRun, backend: pool.health().backend }));
  process.exit(0);
}

const { createInferencePool } = await dist('ai/inference/pool.js');
const { createMotionGate, greyThumbnail } = await dist('ai/frames/motion.js');
const { aiConfigSchema } = await dist('ai/ai.config.js');
const { PnmStreamParser } = await dist('media/frame-decoder.js');
const { createLogger } = await dist('log/logger.js');
const { systemClock } = await dist('clock.js');
const log = createLogger('silent');
const started = performance.now();
const load = os.loadavg()[0];
const results = {
  machine: {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    node: process.version,
    loadAverageAtStart: round(load, 2),
  },
};
const images = { objects: roomWithPerson(), face: face() };

/** A pool whose results are awaited picture by picture. */
async function startPool(config, models) {
  let answer = () => {};
  const pool = createInferencePool({ config, models, clock: systemClock, log, onResult: (r) => answer(r) });
  await pool.start();
  const health = pool.health();
  if (health.state !== 'ready') throw new Error(`inference service did not start: ${health.error}`);
  return {
    pool,
    backend: health.backend,
    run: (model, cameraId = model) =>
      new Promise((resolve) => {
        answer = resolve;
        pool.submit({ cameraId, at: Date.now(), model, image: images[model] });
      }),
    setHandler: (handler) => {
      answer = handler;
    },
  };
}

// ---------------------------------------------------------------- 1. ms per inference, wasm vs cpu
results.msPerInference = {};
for (const backend of ['wasm', 'cpu']) {
  const t0 = performance.now();
  const service = await startPool({ backend, workers: 1, runTimeoutMs: 300_000 }, ['objects', 'face']);
  const loadMs = performance.now() - t0;
  const runs = backend === 'wasm' ? WASM_RUNS : CPU_RUNS;
  for (const model of ['objects', 'face']) {
    const first = (await service.run(model)).ms;
    const times = [];
    let found = 0;
    for (let i = 0; i < runs; i++) {
      const result = await service.run(model);
      times.push(result.ms);
      found = model === 'objects' ? result.output.objects.length : result.output.faces.length;
    }
    results.msPerInference[model] ??= {};
    results.msPerInference[model][backend] = {
      firstMs: round(first),
      medianMs: round(median(times)),
      minMs: round(Math.min(...times)),
      runs,
      found,
    };
  }
  results.msPerInference.loadMs ??= {};
  results.msPerInference.loadMs[backend] = round(loadMs);
  await service.pool.close();
  console.error(`· ${backend} done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
for (const model of ['objects', 'face']) {
  const row = results.msPerInference[model];
  row.cpuOverWasm = round(row.cpu.medianMs / row.wasm.medianMs, 1);
}

// ---------------------------------------------------------------- 2. throughput with 1 and 2 workers
results.throughput = {};
for (const workers of [1, 2]) {
  const service = await startPool({ backend: 'wasm', workers }, ['objects']);
  let counting = false;
  let answered = 0;
  service.setHandler(() => {
    if (counting) answered += 1;
  });
  // Cameras at the sampler's default rate (2 fps each), more than the workers can take: the pool drops.
  const submitAll = () => {
    for (let s = 0; s < STREAMS; s++)
      service.pool.submit({
        cameraId: `camera-${s}`,
        at: Date.now(),
        model: 'objects',
        image: images.objects,
      });
  };
  submitAll();
  const cameras = setInterval(submitAll, 500);
  // Warm-up: every worker has run its first (slow) inferences before counting starts.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  counting = true;
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, THROUGHPUT_SECONDS * 1000));
  const seconds = (performance.now() - t0) / 1000;
  counting = false;
  clearInterval(cameras);
  const health = service.pool.health();
  results.throughput[`workers${workers}`] = {
    picturesPerSecond: round(answered / seconds, 2),
    answered,
    seconds: round(seconds, 1),
    dropped: health.queue.dropped,
  };
  await service.pool.close();
}
results.throughput.streams = STREAMS;
results.throughput.ratio2wOver1w = round(
  results.throughput.workers2.picturesPerSecond / results.throughput.workers1.picturesPerSecond,
  2,
);
console.error(`· throughput done (${((performance.now() - started) / 1000).toFixed(0)} s)`);

// ---------------------------------------------------------------- 3. motion-gating ratio on a demo scene
{
  const config = aiConfigSchema.parse({}).detections;
  const SCENE_SECONDS = 60;
  const person = { enter: 20, leave: 28 };
  // Walks in from the left over 2 s, stands 4 s, walks out to the right over 2 s.
  const x = `if(lt(t,${person.enter + 2}),-200+400*(t-${person.enter})/2,if(lt(t,${person.leave - 2}),200,200+480*(t-${person.leave - 2})/2))`;
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...['-v', 'error', '-nostdin', '-f', 'lavfi', '-i', room(SCENE_SECONDS)],
      ...['-loop', '1', '-framerate', '10', '-i', path.join(assets, 'samples.jpg')],
      '-filter_complex',
      `[1]crop=120:150:655:2,scale=-2:240[p];[0][p]overlay=x='${x}':y=40:eval=frame:enable='between(t,${person.enter},${person.leave})':shortest=1,noise=alls=5:allf=t,` +
        `fps=${config.sampler.fps},scale='min(${config.sampler.maxWidth},iw)':-2:flags=area`,
      ...['-t', String(SCENE_SECONDS), '-pix_fmt', 'rgb24', '-vcodec', 'ppm', '-f', 'image2pipe', 'pipe:1'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const parser = new PnmStreamParser(16 << 20);
  const gate = createMotionGate(config.motion);
  let sampled = 0;
  let gated = 0;
  let gatedWhilePresent = 0;
  let gateMs = 0;
  for await (const chunk of ffmpeg.stdout)
    for (const frame of parser.push(chunk)) {
      const at = (sampled * 1000) / config.sampler.fps;
      sampled += 1;
      const t0 = performance.now();
      const motion = gate.push(greyThumbnail(frame, config.sampler.greyWidth), at);
      gateMs += performance.now() - t0;
      if (!motion.motion) continue;
      gated += 1;
      if (at >= person.enter * 1000 && at <= person.leave * 1000) gatedWhilePresent += 1;
    }
  results.motionGating = {
    sceneSeconds: SCENE_SECONDS,
    personSeconds: person.leave - person.enter,
    sampled,
    gated,
    ratio: round(gated / sampled, 3),
    gatedWhilePersonPresent: gatedWhilePresent,
    gateMsPerFrame: round(gateMs / sampled, 2),
  };
}
console.error(`· gating done (${((performance.now() - started) / 1000).toFixed(0)} s)`);

// ---------------------------------------------------------------- 4. RSS with 1 and 2 workers
results.rss = {};
for (const workers of [1, 2]) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--rss-child', String(workers)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  for await (const chunk of child.stdout) out += chunk;
  const measured = JSON.parse(out.trim().split('\n').at(-1));
  results.rss[`workers${workers}`] = {
    beforeMb: round(measured.before),
    loadedMb: round(measured.loaded),
    afterInferenceMb: round(measured.afterRun),
    addedMb: round(measured.afterRun - measured.before),
  };
}
results.rss.perExtraWorkerMb = round(results.rss.workers2.addedMb - results.rss.workers1.addedMb);
results.seconds = round((performance.now() - started) / 1000);
results.machine.loadAverageAtEnd = round(os.loadavg()[0], 2);

// ---------------------------------------------------------------- report
const m = results.msPerInference;
const lines = [
  ['measure', 'wasm', 'cpu', 'ratio'],
  [
    'objects 640×360, ms (median, warm)',
    m.objects.wasm.medianMs,
    m.objects.cpu.medianMs,
    `cpu ${m.objects.cpuOverWasm}×`,
  ],
  [
    'face 320×320, ms (median, warm)',
    m.face.wasm.medianMs,
    m.face.cpu.medianMs,
    `cpu ${m.face.cpuOverWasm}×`,
  ],
  ['models loaded in a worker, ms', m.loadMs.wasm, m.loadMs.cpu, ''],
  ['', '1 worker', '2 workers', ''],
  [
    `throughput, objects, ${STREAMS} streams, pictures/s`,
    results.throughput.workers1.picturesPerSecond,
    results.throughput.workers2.picturesPerSecond,
    `2w/1w ${results.throughput.ratio2wOver1w}×`,
  ],
  [
    'RSS, both models: before → loaded → run, MB',
    `${results.rss.workers1.beforeMb} → ${results.rss.workers1.loadedMb} → ${results.rss.workers1.afterInferenceMb}`,
    `${results.rss.workers2.beforeMb} → ${results.rss.workers2.loadedMb} → ${results.rss.workers2.afterInferenceMb}`,
    `+${results.rss.perExtraWorkerMb} MB/worker`,
  ],
  ['', 'gated', 'sampled', 'ratio'],
  [
    `motion gate, ${results.motionGating.sceneSeconds} s scene, person ${results.motionGating.personSeconds} s`,
    results.motionGating.gated,
    results.motionGating.sampled,
    results.motionGating.ratio,
  ],
];
const widths = lines[0].map((_, i) => Math.max(...lines.map((row) => String(row[i]).length)));
for (const row of lines)
  console.log(row.map((cell, i) => String(cell)[i === 0 ? 'padEnd' : 'padStart'](widths[i])).join(' | '));
console.log(
  `\n${results.machine.cpu}, ${results.machine.cores} cores, load average ${results.machine.loadAverageAtStart} → ${results.machine.loadAverageAtEnd}, ${results.seconds} s`,
);
console.log(JSON.stringify(results));
