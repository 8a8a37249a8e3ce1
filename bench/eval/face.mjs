#!/usr/bin/env node
// Face-direction evaluation: the inference service's face model (compiled hub, wasm worker) and the hub's
// `faceDirection` rule with its default settings, over labelled pictures, printing accuracy per label, the
// confusions and the ms per picture.
//
// The pictures are cut with ffmpeg from the sample photos inside `@vladmandic/human` (nothing downloaded),
// then varied: tighter and wider crops, mirrored, rolled ±10°, darker, smaller in a larger frame, low
// resolution. Labels are this file's, set by looking at the photos: a man facing the camera (two photos),
// a woman facing it, a woman with her face turned (`left` in the hub's convention, face-direction.ts:
// negative yaw) and her mirror image (`right`), and pictures with no face (grey, noise, a test pattern,
// ceiling lamps, an empty room). There is no photo of a face looking down in the package, and a squashed
// picture is not a head tilted forward, so `down` is not tested. Mirroring and rolling are the only
// geometric changes: the turned label comes from one real photo, so the `left`/`right` figures rest on it.
// These pictures test the pipeline, not real-world accuracy; a household can run --dir DIR with its own
// pictures in DIR/<label>/ (front, left, right, down, no_face).
// Run: npm run eval:face [-- --dir DIR]   (run `npm run build` first)
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (file) => import(path.join(root, 'hub/dist', file));
const { createInferencePool } = await dist('ai/inference/pool.js');
const { faceDirection, faceDirectionConfigSchema, FACE_DIRECTIONS } = await dist(
  'ai/inference/face-direction.js',
);
const { createLogger } = await dist('log/logger.js');
const { systemClock } = await dist('clock.js');

const { values } = parseArgs({
  options: { dir: { type: 'string' }, quiet: { type: 'boolean', default: false } },
});
const SIZE = 320;
const assets = path.join(
  path.dirname(createRequire(path.join(root, 'hub/package.json')).resolve('@vladmandic/human')),
  '..',
  'assets',
);

const BASES = {
  front: [
    { name: 'man-faceid', file: 'screenshot-faceid.jpg', crop: '140:140:14:142' },
    { name: 'man-facedetect', file: 'screenshot-facedetect.jpg', crop: '148:150:10:343' },
    { name: 'woman-facedetect', file: 'screenshot-facedetect.jpg', crop: '148:150:165:343' },
  ],
  left: [{ name: 'woman-turned', file: 'samples.jpg', crop: '150:150:165:2' }],
};
/** Variations that keep the label (applied after the crop, before scaling to SIZE×SIZE). */
const VARIANTS = {
  as_is: '',
  tight: 'crop=iw*0.8:ih*0.8',
  wide_pad: `scale=${SIZE / 2}:-2,pad=${SIZE}:${SIZE}:(ow-iw)/2:(oh-ih)/2:color=0x606060`,
  roll_plus10: 'rotate=10*PI/180:fillcolor=0x606060',
  roll_minus10: 'rotate=-10*PI/180:fillcolor=0x606060',
  darker: 'eq=brightness=-0.18:contrast=0.8',
  low_res: 'scale=64:-2,scale=160:-2',
};
const NO_FACE = {
  grey: ['-f', 'lavfi', '-i', `color=c=0x808080:size=${SIZE}x${SIZE}`],
  noise: ['-f', 'lavfi', '-i', `color=c=0x707070:size=${SIZE}x${SIZE}`, '-vf', 'noise=alls=60:allf=t'],
  test_pattern: ['-f', 'lavfi', '-i', `testsrc2=size=${SIZE}x${SIZE}`],
  ceiling_lamps: [
    '-i',
    path.join(assets, 'samples.jpg'),
    '-vf',
    `crop=300:300:760:190,scale=${SIZE}:${SIZE}`,
  ],
  empty_room: [
    '-f',
    'lavfi',
    '-i',
    `color=c=0x6a7080:size=${SIZE}x${SIZE},drawbox=x=20:y=200:w=140:h=120:color=0x8a6a40:t=fill,drawbox=x=200:y=30:w=90:h=70:color=0xd0d0c0:t=fill`,
  ],
};

function rgb(args) {
  const pixels = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-nostdin', ...args, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: SIZE * SIZE * 3 + 1024 },
  );
  return { width: SIZE, height: SIZE, pixels: new Uint8Array(pixels) };
}
const fit = `scale=${SIZE}:${SIZE}:force_original_aspect_ratio=decrease,pad=${SIZE}:${SIZE}:(ow-iw)/2:(oh-ih)/2:color=0x606060`;

function generatedPictures() {
  const pictures = [];
  for (const [label, bases] of Object.entries(BASES))
    for (const base of bases)
      for (const [variant, filter] of Object.entries(VARIANTS))
        for (const mirrored of [false, true]) {
          // A mirror image turns the face the other way; a frontal face stays frontal.
          const expected = !mirrored ? label : label === 'left' ? 'right' : label;
          const chain = [
            `crop=${base.crop}`,
            ...(mirrored ? ['hflip'] : []),
            ...(filter ? [filter] : []),
            fit,
          ];
          pictures.push({
            name: `${base.name}${mirrored ? '-mirrored' : ''}/${variant}`,
            expected,
            image: rgb(['-i', path.join(assets, base.file), '-vf', chain.join(',')]),
          });
        }
  for (const [name, args] of Object.entries(NO_FACE))
    pictures.push({ name, expected: 'no_face', image: rgb(args) });
  return pictures;
}

function folderPictures(dir) {
  return FACE_DIRECTIONS.flatMap((label) => {
    let names = [];
    try {
      names = readdirSync(path.join(dir, label)).sort();
    } catch {}
    return names
      .filter((name) => !name.startsWith('.'))
      .map((name) => ({
        name: `${label}/${name}`,
        expected: label,
        image: rgb(['-i', path.join(dir, label, name), '-vf', fit]),
      }));
  });
}

const pictures = values.dir ? folderPictures(values.dir) : generatedPictures();
if (pictures.length === 0) {
  console.error(`no pictures in ${values.dir}/<${FACE_DIRECTIONS.join('|')}>/`);
  process.exit(2);
}

let answer = () => {};
const pool = createInferencePool({
  config: { backend: 'wasm', workers: 1 },
  models: ['face'],
  clock: systemClock,
  log: createLogger('silent'),
  onResult: (result) => answer(result),
});
await pool.start();
const health = pool.health();
if (health.state !== 'ready') {
  console.error(`the inference service did not start: ${health.error}`);
  process.exit(1);
}
const config = faceDirectionConfigSchema.parse({});
const infer = (image) =>
  new Promise((resolve) => {
    answer = resolve;
    pool.submit({ cameraId: 'eval-face', at: Date.now(), model: 'face', image });
  });
// The first picture pays for compiling the model's kernels: not counted in the time.
await infer(pictures[0].image);

const perLabel = {};
const confusions = {};
let ms = 0;
for (const picture of pictures) {
  const result = await infer(picture.image);
  ms += result.ms;
  const face = result.output.faces[0] ?? null;
  const got = faceDirection(face, config);
  perLabel[picture.expected] ??= { pictures: 0, correct: 0 };
  const row = perLabel[picture.expected];
  row.pictures += 1;
  if (got === picture.expected) row.correct += 1;
  else {
    const key = `${picture.expected} → ${got}`;
    confusions[key] = (confusions[key] ?? 0) + 1;
  }
  if (!values.quiet || got !== picture.expected)
    console.log(
      [
        got === picture.expected ? 'ok  ' : 'MISS',
        picture.expected.padEnd(7),
        got.padEnd(7),
        face
          ? `score ${face.score.toFixed(2)} yaw ${face.yaw.toFixed(0).padStart(4)}° pitch ${face.pitch.toFixed(0).padStart(4)}° roll ${face.roll.toFixed(0).padStart(4)}°`
          : 'no face'.padEnd(45),
        picture.name,
      ].join('  '),
    );
}
await pool.close();

const round = (n, digits = 3) => Number(n.toFixed(digits));
const correct = Object.values(perLabel).reduce((n, r) => n + r.correct, 0);
console.log(
  JSON.stringify(
    {
      pictures: values.dir ?? 'generated from the @vladmandic/human sample photos',
      backend: health.backend,
      rule: config,
      accuracy: round(correct / pictures.length),
      perLabel: Object.fromEntries(
        Object.entries(perLabel).map(([label, r]) => [
          label,
          { ...r, accuracy: round(r.correct / r.pictures) },
        ]),
      ),
      notTested: FACE_DIRECTIONS.filter((label) => !perLabel[label]),
      confusions,
      msPerPicture: round(ms / pictures.length, 1),
    },
    null,
    2,
  ),
);
