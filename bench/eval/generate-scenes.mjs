#!/usr/bin/env node
// A labelled set of short camera scenes for the person-detection evaluation, made with ffmpeg only:
// 640×360 H.264 MP4 at 10 fps (what a demo or RTSP camera records), a still room with sensor noise, in
// `positive/` a person photo entering (sliding in from a side or appearing in a doorway) and staying a few
// seconds, in `negative/` an empty room and hard cases: a light switched on or dimmed, a poster-like
// picture with no person in it moving across the wall, a TV-like screen flickering. `labels.json` gives
// each positive the second the person enters and leaves. Seeded: the same seed gives the same scenes.
//
// The people are cut from the sample photos inside `@vladmandic/human` (nothing is downloaded). Those
// photos hold people only (no cat, no dog), so the set is person vs none: the `pet` label is not tested.
//
// Written apart from the detector on purpose (issue 13): nothing here is imported from hub/src/ai (not
// even its test-picture fixture), and the crops, sizes, colours and timings below are this file's own.
//
// Run: node bench/eval/generate-scenes.mjs --out DIR [--seed 21] [--positives 8] [--negatives 12] [--seconds 16]
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WIDTH = 640;
const HEIGHT = 360;
const FPS = 10;

/** The sample photos shipped inside @vladmandic/human (resolved from the hub workspace). */
function assets() {
  const require = createRequire(path.join(root, 'hub/package.json'));
  return path.join(path.dirname(require.resolve('@vladmandic/human')), '..', 'assets');
}

// People from the top strip of samples.jpg (a row of thumbnails, each about 150 px high): crop w:h:x:y.
const PEOPLE = [
  { name: 'standing-woman-red-skirt', crop: '88:150:546:2' },
  { name: 'standing-woman-grey', crop: '120:150:655:2' },
  { name: 'seated-man-table', crop: '200:150:330:2' },
  { name: 'woman-on-stool', crop: '100:150:800:2' },
  { name: 'rendered-woman', crop: '140:152:10:2' },
  { name: 'three-people', crop: '140:150:1135:2' },
];
// A picture on the wall with no person in it: the lamps on the ceiling of samples.jpg's large photo.
const POSTER_CROP = '420:150:700:200';

/** mulberry32: small, seedable, good enough to pick parameters. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    range: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => Math.floor(lo + (hi - lo + 1) * next()),
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}

const hex = (r) => `0x${[0, 0, 0].map(() => r.int(60, 170).toString(16).padStart(2, '0')).join('')}`;

/** A room: wall colour, floor, two pieces of furniture, a window; and the camera's sensor noise. */
function room(r, seconds) {
  const floorY = r.int(230, 280);
  const boxes = [
    `drawbox=x=0:y=${floorY}:w=${WIDTH}:h=${HEIGHT - floorY}:color=${hex(r)}:t=fill`,
    `drawbox=x=${r.int(10, 120)}:y=${floorY - r.int(60, 110)}:w=${r.int(100, 180)}:h=${r.int(60, 110)}:color=${hex(r)}:t=fill`,
    `drawbox=x=${r.int(430, 520)}:y=${r.int(30, 70)}:w=${r.int(80, 110)}:h=${r.int(60, 90)}:color=0xd8d8c8:t=fill`,
  ];
  return {
    source: `color=c=${hex(r)}:size=${WIDTH}x${HEIGHT}:rate=${FPS}:duration=${seconds},${boxes.join(',')}`,
    floorY,
    noise: r.int(3, 8),
  };
}

function encode(file, args, seconds, noise) {
  execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-nostdin',
      '-y',
      ...args.inputs,
      '-filter_complex',
      `${args.filter},noise=alls=${noise}:allf=t,format=yuv420p[out]`,
      '-map',
      '[out]',
      '-t',
      String(seconds),
      '-r',
      String(FPS),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      String(FPS),
      file,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/** Cuts a crop out of the large photo once, so each scene loops a small picture instead of decoding it. */
function cutOut(photo, crop, file) {
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', photo, '-vf', `crop=${crop}`, file]);
  return file;
}

function positive(r, seconds, pictures) {
  const scene = room(r, seconds);
  const person = r.pick(PEOPLE);
  const height = r.int(170, 290);
  const enter = Number(r.range(2, 5).toFixed(1));
  const stay = Number(r.range(4, Math.min(9, seconds - enter - 2)).toFixed(1));
  const leave = enter + stay;
  const y = Math.max(0, Math.min(HEIGHT - height, scene.floorY - height + r.int(0, 40)));
  const restX = r.int(120, 420);
  const walk = r.pick(['slide-left', 'slide-right', 'doorway']);
  // Sliding: the person walks in from the edge over 1.5 s, stands, and walks out the same way.
  const from = walk === 'slide-left' ? -200 : WIDTH;
  const x =
    walk === 'doorway'
      ? String(restX)
      : `if(lt(t,${enter + 1.5}),${from}+(${restX}-(${from}))*(t-${enter})/1.5,if(gt(t,${leave - 1.5}),${restX}+(${from}-(${restX}))*(t-${leave - 1.5})/1.5,${restX}))`;
  return {
    scene,
    label: { person: person.name, enter, leave, walk, height },
    inputs: [
      '-f',
      'lavfi',
      '-i',
      scene.source,
      '-loop',
      '1',
      '-framerate',
      String(FPS),
      '-i',
      pictures[person.name],
    ],
    filter: `[1]scale=-2:${height}[p];[0][p]overlay=x='${x}':y=${y}:eval=frame:enable='between(t,${enter},${leave})'`,
  };
}

function negative(r, seconds, kind, pictures) {
  const scene = room(r, seconds);
  const base = { scene, label: { kind } };
  if (kind === 'empty') return { ...base, inputs: ['-f', 'lavfi', '-i', scene.source], filter: '[0]null' };
  if (kind === 'lighting') {
    // A lamp switched on (a step over part of the room) and, later, the room dimming over two seconds.
    const on = Number(r.range(2, 5).toFixed(1));
    const dim = Number(r.range(on + 3, seconds - 3).toFixed(1));
    const lampX = r.int(0, 320);
    return {
      ...base,
      inputs: ['-f', 'lavfi', '-i', scene.source],
      filter:
        `[0]drawbox=x=${lampX}:y=0:w=${r.int(200, 320)}:h=${HEIGHT}:color=white@0.${r.int(15, 30)}:t=fill:enable='gte(t,${on})',` +
        `eq=brightness='-0.15*clip((t-${dim})/2,0,1)':eval=frame`,
    };
  }
  if (kind === 'poster') {
    // A picture without a person drifting across the wall (a projector, a moving sunlit reflection).
    const speed = r.int(15, 40);
    const y = r.int(20, 120);
    return {
      ...base,
      inputs: [
        '-f',
        'lavfi',
        '-i',
        scene.source,
        '-loop',
        '1',
        '-framerate',
        String(FPS),
        '-i',
        pictures.poster,
      ],
      filter: `[1]scale=${r.int(160, 260)}:-2[p];[0][p]overlay=x='-60+${speed}*t':y=${y}:eval=frame`,
    };
  }
  // kind === 'tv': a screen whose content changes every frame and whose brightness flickers.
  const w = r.int(120, 200);
  const h = Math.round((w * 9) / 16);
  return {
    ...base,
    inputs: [
      '-f',
      'lavfi',
      '-i',
      scene.source,
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${w}x${h}:rate=${FPS},hue=H=2*PI*t/${r.int(3, 7)}`,
    ],
    filter: `[1]eq=brightness='0.25*sin(2*PI*t*${r.range(0.7, 2).toFixed(2)})':eval=frame[tv];[0][tv]overlay=x=${r.int(200, 420)}:y=${r.int(40, 120)}:shortest=1`,
  };
}

export const NEGATIVE_KINDS = ['empty', 'lighting', 'poster', 'tv'];

/** Writes the set into `out` (positive/, negative/, labels.json) and returns the labels. */
export function generateScenes({ out, seed = 21, positives = 8, negatives = 12, seconds = 16 }) {
  const r = rng(seed);
  const photo = path.join(assets(), 'samples.jpg');
  const labels = { seed, seconds, width: WIDTH, height: HEIGHT, fps: FPS, scenes: {} };
  for (const folder of ['positive', 'negative', '.pictures'])
    mkdirSync(path.join(out, folder), { recursive: true });
  const pictures = Object.fromEntries(
    [...PEOPLE, { name: 'poster', crop: POSTER_CROP }].map(({ name, crop }) => [
      name,
      cutOut(photo, crop, path.join(out, '.pictures', `${name}.png`)),
    ]),
  );
  for (let i = 0; i < positives; i++) {
    const scene = positive(r, seconds, pictures);
    const name = `positive/person-${String(i + 1).padStart(2, '0')}.mp4`;
    encode(path.join(out, name), scene, seconds, scene.scene.noise);
    labels.scenes[name] = scene.label;
  }
  for (let i = 0; i < negatives; i++) {
    const kind = NEGATIVE_KINDS[i % NEGATIVE_KINDS.length];
    const scene = negative(r, seconds, kind, pictures);
    const name = `negative/${kind}-${String(i + 1).padStart(2, '0')}.mp4`;
    encode(path.join(out, name), scene, seconds, scene.scene.noise);
    labels.scenes[name] = scene.label;
  }
  writeFileSync(path.join(out, 'labels.json'), `${JSON.stringify(labels, null, 2)}\n`);
  return labels;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      seed: { type: 'string', default: '21' },
      positives: { type: 'string', default: '8' },
      negatives: { type: 'string', default: '12' },
      seconds: { type: 'string', default: '16' },
    },
  });
  if (!values.out) {
    console.error(
      'usage: generate-scenes.mjs --out DIR [--seed N] [--positives N] [--negatives N] [--seconds S]',
    );
    process.exit(2);
  }
  const labels = generateScenes({
    out: values.out,
    seed: Number(values.seed),
    positives: Number(values.positives),
    negatives: Number(values.negatives),
    seconds: Number(values.seconds),
  });
  console.log(`${Object.keys(labels.scenes).length} scenes in ${values.out}`);
}
