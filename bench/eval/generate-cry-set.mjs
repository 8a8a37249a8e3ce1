#!/usr/bin/env node
// A labelled set for the cry evaluation, made with Debian tools only (sox, espeak-ng): 16 kHz mono WAV clips
// in `positive/` (cry-like voiced harmonic bursts with rhythm and pitch jitter, over room noise) and
// `negative/` (speech in English and Korean, noise, music-like chords with a melody, a kettle whistle, a
// child's laugh-like syllables, speech over a TV-like mix). Seeded: the same seed gives the same clips.
//
// Written apart from the detector on purpose (issue 13): nothing here is imported from hub/src/ai, and the
// signal parameters below are this file's own choices of what cries and household sounds are like, so a
// detector that passes is not just recognising its own assumptions.
//
// Run: node bench/eval/generate-cry-set.mjs --out DIR [--seed 13] [--positives 40] [--negatives 60] [--seconds 10]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const RATE = 16_000;
// Synthesis at 48 kHz, resampled on write: the sawtooth and square waves sox makes are not band-limited.
const SYNTH_RATE = 48_000;

const ENGLISH = [
  'Did you remember to take the laundry out of the machine before dinner?',
  'The weather tomorrow will be cloudy in the morning with some rain later in the afternoon.',
  'I think we should call your grandmother this weekend, she has been asking about the baby.',
  'Could you pass me the remote control, the news is about to start on channel seven.',
  'We are out of milk and bread, so I will stop at the shop on the way home.',
  'Once upon a time there was a little rabbit who lived at the edge of a very big forest.',
];
const KOREAN = [
  '오늘 저녁에는 뭐 먹을까요? 냉장고에 김치찌개 재료가 있어요.',
  '내일 아침에는 비가 온다고 하니까 우산을 꼭 챙기세요.',
  '할머니께서 주말에 아기 보러 오신다고 전화하셨어요.',
  '텔레비전 소리 좀 줄여 줄래요? 아기가 방금 잠들었어요.',
  '옛날 옛적에 깊은 산속에 작은 토끼 한 마리가 살았어요.',
];
const VOICES = {
  en: ['en-us', 'en-us+f3', 'en-gb+m3', 'en-gb-x-rp+f2', 'en-us+f4'],
  ko: ['ko', 'ko+f2', 'ko+m3', 'ko+f4'],
};

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
    next,
    range: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => Math.floor(lo + (hi - lo + 1) * next()),
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}

const fmt = (n) => n.toFixed(3);

function sox(args) {
  // -R: sox's own noise and dither are repeatable too, not only our choices.
  try {
    execFileSync('sox', ['-R', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(`sox ${args.join(' ')}: ${error.stderr}`);
  }
}

function synth(file, seconds, effects) {
  sox(['-r', SYNTH_RATE, '-n', '-r', RATE, '-c', '1', '-b', '16', file, 'synth', fmt(seconds), ...effects]);
}

function silence(file, seconds) {
  synth(file, seconds, ['sine', '100', 'vol', '0']);
}

function concat(files, out) {
  sox([...files, out]);
}

/** Mixes at the given linear gains, then fits the result to exactly `seconds`. */
function mix(parts, out, seconds) {
  const inputs = parts.flatMap(([file, gain]) => ['-v', fmt(gain), file]);
  sox([
    ...(parts.length > 1 ? ['-m'] : []),
    ...inputs,
    '-r',
    RATE,
    '-c',
    '1',
    '-b',
    '16',
    out,
    'pad',
    '0',
    fmt(seconds),
    'trim',
    '0',
    fmt(seconds),
  ]);
}

/** Loudness of the whole clip: peak-normalised, then set `db` below full scale. */
function level(file, out, db) {
  sox([file, out, 'gain', '-n', fmt(-db)]);
}

function roomNoise(r, file, seconds) {
  const colour = r.pick(['brownnoise', 'pinknoise']);
  synth(file, seconds, [colour, 'vol', '0.5', 'lowpass', fmt(r.range(2_000, 6_000))]);
}

// ---------------------------------------------------------------- positives

/** One cry burst: a sawtooth voice with a rise-fall contour, small random bends (jitter), vocal-tract colour. */
function cryBurst(r, file, seconds) {
  const f0 = r.range(350, 550);
  const end = f0 * r.range(0.85, 1.1);
  // sox's bend takes start,cents,end positions in order: the onset's rise first, then the wobble.
  const onset = Math.min(0.12, seconds / 4);
  const bends = [`0,${Math.round(r.range(50, 180))},${fmt(onset)}`];
  for (let at = onset; at < seconds - 0.1; ) {
    const end = Math.min(at + r.range(0.05, 0.2), seconds);
    bends.push(`${fmt(at)},${Math.round(r.range(-60, 60)) || 5},${fmt(end)}`); // 0 cents: sox refuses it
    at = end;
  }
  synth(file, seconds, [
    r.pick(['sawtooth', 'sawtooth', 'square']),
    `${fmt(f0)}:${fmt(end)}`,
    'vol',
    '0.25',
    'bend',
    ...bends,
    'highpass',
    '200',
    'equalizer',
    fmt(r.range(900, 1_400)),
    '1.5q',
    '6',
    'equalizer',
    fmt(r.range(2_600, 3_400)),
    '2q',
    '4',
    'lowpass',
    fmt(r.range(3_500, 5_000)),
    'tremolo',
    fmt(r.range(5, 12)),
    fmt(r.range(5, 25)),
    ...(r.next() < 0.3 ? ['overdrive', fmt(r.range(3, 10))] : []),
    'fade',
    't',
    fmt(Math.min(0.05, seconds / 5)),
    fmt(seconds),
    fmt(Math.min(0.12, seconds / 3)),
  ]);
}

function inhalation(r, file, seconds) {
  synth(file, seconds, [
    'whitenoise',
    'vol',
    fmt(r.range(0.01, 0.05)),
    'highpass',
    '1500',
    'fade',
    'q',
    fmt(seconds * 0.45),
    fmt(seconds),
    fmt(seconds * 0.45),
  ]);
}

function positive(r, work, out, seconds) {
  const parts = [];
  const lead = path.join(work, 'lead.wav');
  silence(lead, r.range(0, 0.6));
  parts.push(lead);
  let total = 0;
  for (let i = 0; total < seconds; i++) {
    const burst = path.join(work, `burst-${i}.wav`);
    const length = r.range(0.4, 1.6);
    cryBurst(r, burst, length);
    const gap = path.join(work, `gap-${i}.wav`);
    const gapLength = r.range(0.15, 0.6);
    if (r.next() < 0.5) inhalation(r, gap, gapLength);
    else silence(gap, gapLength);
    parts.push(burst, gap);
    total += length + gapLength;
  }
  const voice = path.join(work, 'voice.wav');
  concat(parts, voice);
  const noise = path.join(work, 'noise.wav');
  roomNoise(r, noise, seconds);
  const mixed = path.join(work, 'mixed.wav');
  // Room noise 10–25 dB under the cry.
  mix(
    [
      [voice, 1],
      [noise, 10 ** (-r.range(10, 25) / 20)],
    ],
    mixed,
    seconds,
  );
  level(mixed, out, r.range(3, 20));
}

// ---------------------------------------------------------------- negatives

function speech(r, work, out, seconds, { lang = r.pick(['en', 'ko']), high = false } = {}) {
  const texts = lang === 'en' ? ENGLISH : KOREAN;
  const voice = r.pick(VOICES[lang]);
  const speed = r.int(120, 190);
  const pitch = high ? r.int(80, 99) : r.int(25, 70);
  const parts = [];
  for (let i = 0, spoken = 0; spoken < seconds + 1; i++) {
    const raw = path.join(work, `say-${i}.wav`);
    execFileSync('espeak-ng', [
      '-v',
      voice,
      '-s',
      String(speed),
      '-p',
      String(pitch),
      '-w',
      raw,
      r.pick(texts),
    ]);
    const resampled = path.join(work, `say-${i}-16k.wav`);
    sox([raw, '-r', RATE, '-c', '1', '-b', '16', resampled, 'pad', '0', fmt(r.range(0.2, 0.8))]);
    parts.push(resampled);
    spoken += Number(execFileSync('soxi', ['-D', resampled], { encoding: 'utf8' }));
  }
  const joined = path.join(work, 'speech.wav');
  concat(parts, joined);
  const noise = path.join(work, 'noise.wav');
  roomNoise(r, noise, seconds);
  mix(
    [
      [joined, 1],
      [noise, 10 ** (-r.range(15, 30) / 20)],
    ],
    out,
    seconds,
  );
  return `speech-${lang}-${voice.replace(/[^a-z0-9]+/gi, '')}${high ? '-high' : ''}`;
}

function noise(r, work, out, seconds) {
  const colour = r.pick(['whitenoise', 'pinknoise', 'brownnoise']);
  const raw = path.join(work, 'raw.wav');
  // Sometimes a fan's slow swell.
  synth(raw, seconds, [
    colour,
    'vol',
    '0.5',
    ...(r.next() < 0.5 ? ['tremolo', fmt(r.range(0.2, 2)), '30'] : []),
  ]);
  level(raw, out, r.range(6, 30));
  return `noise-${colour}`;
}

const NOTES = [196, 220, 247, 262, 294, 330, 349, 392, 440, 494, 523, 587, 659, 698, 784];

/** Chords (plucked or soft-edged) every 0.4–1 s, and half the time a melody line above them. */
function music(r, work, out, seconds) {
  const chords = [];
  for (let i = 0, t = 0; t < seconds; i++) {
    const file = path.join(work, `chord-${i}.wav`);
    const length = r.range(0.4, 1);
    const root = r.int(0, 6);
    const wave = r.pick(['pluck', 'triangle', 'sine']);
    const [a, b, c] = [NOTES[root], NOTES[root + 2], NOTES[root + 4]];
    synth(file, length, [
      wave,
      fmt(a),
      wave,
      'mix',
      fmt(b),
      wave,
      'mix',
      fmt(c),
      'vol',
      '0.3',
      'fade',
      't',
      '0.01',
      fmt(length),
      '0.05',
    ]);
    chords.push(file);
    t += length;
  }
  const harmony = path.join(work, 'harmony.wav');
  concat(chords, harmony);
  const parts = [[harmony, 1]];
  if (r.next() < 0.5) {
    const notes = [];
    for (let i = 0, t = 0; t < seconds; i++) {
      const file = path.join(work, `note-${i}.wav`);
      const length = r.range(0.15, 0.7);
      synth(file, length, [
        r.pick(['square', 'triangle']),
        fmt(r.pick(NOTES.slice(6))),
        'vol',
        '0.2',
        'fade',
        't',
        '0.02',
        fmt(length),
        '0.03',
      ]);
      notes.push(file);
      t += length;
    }
    const melody = path.join(work, 'melody.wav');
    concat(notes, melody);
    parts.push([melody, 0.7]);
  }
  const mixed = path.join(work, 'music.wav');
  mix(parts, mixed, seconds);
  level(mixed, out, r.range(6, 20));
  return parts.length > 1 ? 'music-melody' : 'music-chords';
}

/** A boiling rumble, then a whistle near 2–3 kHz that rises as the pressure builds. */
function kettle(r, work, out, seconds) {
  const rumble = path.join(work, 'rumble.wav');
  synth(rumble, seconds, ['brownnoise', 'vol', '0.4', 'tremolo', fmt(r.range(3, 8)), '40']);
  const whistle = path.join(work, 'whistle.wav');
  const start = r.range(0.5, seconds / 3);
  const from = r.range(1_900, 2_400);
  synth(whistle, seconds - start, [
    'sine',
    `${fmt(from)}:${fmt(from * r.range(1.1, 1.25))}`,
    'vol',
    '0.5',
    'tremolo',
    fmt(r.range(4, 9)),
    '10',
    'fade',
    't',
    '0.8',
    fmt(seconds - start),
    '0.1',
    'pad',
    fmt(start),
  ]);
  const mixed = path.join(work, 'kettle.wav');
  mix(
    [
      [rumble, 0.5],
      [whistle, 1],
    ],
    mixed,
    seconds,
  );
  level(mixed, out, r.range(4, 16));
  return 'kettle';
}

/** "Ha-ha-ha": groups of short voiced syllables (0.07–0.16 s, 4–6 a second) at a child's high pitch. */
function laugh(r, work, out, seconds) {
  const parts = [];
  for (let i = 0, t = 0; t < seconds; i++) {
    const syllables = r.int(3, 8);
    const f0 = r.range(400, 800);
    for (let s = 0; s < syllables; s++) {
      const length = r.range(0.07, 0.16);
      const breath = path.join(work, `h-${i}-${s}.wav`);
      synth(breath, 0.04, ['whitenoise', 'vol', '0.03', 'highpass', '1000']);
      const vowel = path.join(work, `a-${i}-${s}.wav`);
      const pitch = f0 * (1 - s * r.range(0.01, 0.04));
      synth(vowel, length, [
        'sawtooth',
        `${fmt(pitch * 1.05)}:${fmt(pitch * 0.9)}`,
        'vol',
        '0.25',
        'highpass',
        '200',
        'equalizer',
        fmt(r.range(800, 1_200)),
        '1.5q',
        '6',
        'lowpass',
        '4000',
        'fade',
        't',
        '0.015',
        fmt(length),
        '0.04',
      ]);
      const rest = path.join(work, `r-${i}-${s}.wav`);
      const restLength = Math.max(0.02, 1 / r.range(4, 6) - length - 0.04);
      silence(rest, restLength);
      parts.push(breath, vowel, rest);
      t += 0.04 + length + restLength;
    }
    const pause = path.join(work, `p-${i}.wav`);
    const pauseLength = r.range(0.4, 1.2);
    silence(pause, pauseLength);
    parts.push(pause);
    t += pauseLength;
  }
  const voice = path.join(work, 'laugh.wav');
  concat(parts, voice);
  const noiseFile = path.join(work, 'noise.wav');
  roomNoise(r, noiseFile, seconds);
  const mixed = path.join(work, 'mixed.wav');
  mix(
    [
      [voice, 1],
      [noiseFile, 10 ** (-r.range(12, 25) / 20)],
    ],
    mixed,
    seconds,
  );
  level(mixed, out, r.range(3, 18));
  return 'laugh';
}

/** Someone talking in the room while the television plays music and talk of its own. */
function speechOverTv(r, work, out, seconds) {
  const near = path.join(work, 'near.wav');
  const kind = speech(r, work, near, seconds);
  const tvMusic = path.join(work, 'tv-music.wav');
  music(r, work, tvMusic, seconds);
  const tvTalk = path.join(work, 'tv-talk.wav');
  speech(r, work, tvTalk, seconds, { lang: r.pick(['en', 'ko']) });
  const tv = path.join(work, 'tv.wav');
  // A television's small speaker: little bass, little treble.
  mix(
    [
      [tvMusic, 0.5],
      [tvTalk, 0.7],
    ],
    tv,
    seconds,
  );
  const tvBand = path.join(work, 'tv-band.wav');
  sox([tv, tvBand, 'highpass', '180', 'lowpass', '5000', 'reverb', '30']);
  const mixed = path.join(work, 'mixed.wav');
  mix(
    [
      [near, 1],
      [tvBand, 10 ** (-r.range(0, 10) / 20)],
    ],
    mixed,
    seconds,
  );
  level(mixed, out, r.range(4, 16));
  return `tv-${kind}`;
}

// Hard cases (high speech, laughs, kettles, TV) come up as often as the plain ones.
const NEGATIVES = [
  (r, w, o, s) => speech(r, w, o, s, { lang: 'en' }),
  (r, w, o, s) => speech(r, w, o, s, { lang: 'ko' }),
  noise,
  music,
  kettle,
  laugh,
  speechOverTv,
  (r, w, o, s) => speech(r, w, o, s, { high: true }),
];

export function generateCrySet({ out, seed = 13, positives = 40, negatives = 60, seconds = 10 }) {
  const r = rng(seed);
  mkdirSync(path.join(out, 'positive'), { recursive: true });
  mkdirSync(path.join(out, 'negative'), { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), 'hearth-cry-gen-'));
  const clips = [];
  try {
    for (let i = 0; i < positives; i++) {
      const file = path.join(out, 'positive', `${String(i).padStart(3, '0')}-cry.wav`);
      positive(r, work, file, seconds);
      clips.push({ file, label: 'positive' });
    }
    for (let i = 0; i < negatives; i++) {
      const staged = path.join(work, 'negative.wav');
      const kind = NEGATIVES[i % NEGATIVES.length](r, work, staged, seconds);
      const file = path.join(out, 'negative', `${String(i).padStart(3, '0')}-${kind}.wav`);
      sox([staged, file]);
      clips.push({ file, label: 'negative' });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return clips;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      seed: { type: 'string', default: '13' },
      positives: { type: 'string', default: '40' },
      negatives: { type: 'string', default: '60' },
      seconds: { type: 'string', default: '10' },
    },
  });
  if (!values.out) {
    console.error(
      'usage: generate-cry-set.mjs --out DIR [--seed N] [--positives N] [--negatives N] [--seconds S]',
    );
    process.exit(2);
  }
  const clips = generateCrySet({
    out: values.out,
    seed: Number(values.seed),
    positives: Number(values.positives),
    negatives: Number(values.negatives),
    seconds: Number(values.seconds),
  });
  console.log(JSON.stringify({ out: values.out, clips: clips.length }));
}
