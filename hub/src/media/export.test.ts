import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { MediaError } from './errors.js';
import { type ClipInput, exportClip, planClip } from './export.js';
import { waitFor } from './fixtures/media-fixtures.js';
import { type MadeSegment, makeSegments } from './fixtures/segments.js';

const run = promisify(execFile);
const T0 = Date.UTC(2026, 10, 23, 14, 0, 0);

const dirs: string[] = [];
async function scratch(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hearth-export-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function seconds(file: string): number {
  return Number(
    execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]),
  );
}

/** Segments laid end to end from T0, as the index would list them. */
function inputsOf(segments: MadeSegment[]): ClipInput[] {
  let at = T0;
  return segments.map((segment) => {
    const input = { file: segment.file, startAt: at, endAt: at + Math.round(segment.seconds * 1000) };
    at = input.endAt;
    return input;
  });
}

/** Top-level box types of an MP4, in order. */
async function topBoxes(file: string): Promise<string[]> {
  const bytes = await readFile(file);
  const types: string[] = [];
  for (let at = 0; at + 8 <= bytes.length; ) {
    let size = bytes.readUInt32BE(at);
    if (size === 1) size = Number(bytes.readBigUInt64BE(at + 8));
    types.push(bytes.subarray(at + 4, at + 8).toString('latin1'));
    if (size < 8) break;
    at += size;
  }
  return types;
}

async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr;
}

describe('exportClip with real ffmpeg', { concurrency: true }, () => {
  let made: MadeSegment[];
  let inputs: ClipInput[];
  before(async () => {
    made = await makeSegments(await scratch(), { count: 3, seconds: 4 });
    assert.equal(made.length, 3);
    inputs = inputsOf(made);
  });

  test('three segments trimmed to [from, to): duration within one frame, faststart, decodes cleanly', async () => {
    const out = path.join(await scratch(), 'clip.mp4');
    const progress: number[] = [];
    const result = await exportClip({
      inputs,
      from: T0 + 1500,
      to: T0 + 10_500,
      output: out,
      onProgress: (fraction) => progress.push(fraction),
    });
    assert.equal(result.expectedMs, 9000);
    const probed = seconds(out);
    assert.ok(Math.abs(probed - 9) <= 0.1, `ffprobe says ${probed} s for a 9 s range`);
    assert.ok(Math.abs(result.durationMs - 9000) <= 100, `${result.durationMs} ms`);
    const boxes = await topBoxes(out);
    assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `faststart: ${boxes.join(' ')}`);
    assert.ok(!boxes.includes('moof'), 'one plain MP4, not fragments');
    assert.equal(await decodeErrors(out), '');
    assert.deepEqual(
      progress,
      [...progress].sort((a, b) => a - b),
      'progress only rises',
    );
    assert.equal(progress.at(-1), 1);
    assert.ok(progress.slice(0, -1).every((p) => p >= 0 && p < 1));
    assert.match(result.commandLine ?? '', /-f concat -safe 0 -protocol_whitelist file -i .*-copyts/);
    assert.deepEqual((await readdir(path.dirname(out))).sort(), ['clip.mp4'], 'no temporary files left');
  });

  test('one segment with both ends cut, and whole segments with no cut at all', async () => {
    const dir = await scratch();
    const inner = await exportClip({
      inputs: inputs.slice(1, 2),
      from: T0 + 5200,
      to: T0 + 6800,
      output: path.join(dir, 'inner.mp4'),
    });
    assert.ok(Math.abs(seconds(inner.output) - 1.6) <= 0.1, `${seconds(inner.output)} s`);
    const whole = await exportClip({
      inputs,
      from: T0 - 60_000,
      to: T0 + 60_000,
      output: path.join(dir, 'whole.mp4'),
    });
    assert.equal(whole.expectedMs, 12_000);
    assert.ok(Math.abs(seconds(whole.output) - 12) <= 0.1, `${seconds(whole.output)} s`);
    assert.equal(await decodeErrors(whole.output), '');
  });

  test('a gap between segments is skipped, not filled: the clip holds the footage there is', async () => {
    const out = path.join(await scratch(), 'gap.mp4');
    const result = await exportClip({
      inputs: [inputs[0]!, inputs[2]!],
      from: T0 + 2000,
      to: T0 + 11_000,
      output: out,
    });
    assert.equal(result.expectedMs, 2000 + 3000);
    assert.ok(Math.abs(seconds(out) - 5) <= 0.1, `${seconds(out)} s`);
  });

  test('B-frame segments (as some IP cameras send) export within a second of the range', async () => {
    const bf = inputsOf(await makeSegments(await scratch(), { count: 3, seconds: 4, fps: 25, bframes: 2 }));
    const out = path.join(await scratch(), 'bframes.mp4');
    await exportClip({ inputs: bf, from: T0 + 1500, to: T0 + 10_500, output: out });
    assert.ok(Math.abs(seconds(out) - 9) < 1, `${seconds(out)} s`);
    assert.equal(await decodeErrors(out), '');
  });

  test("paths with spaces and quotes survive the concat list's quoting", async () => {
    const dir = path.join(await scratch(), "it's a folder");
    await mkdir(dir);
    const odd = await Promise.all(
      inputs.map(async (input, i) => {
        const file = path.join(dir, `seg '${i}' $x.mp4`);
        await copyFile(input.file, file);
        return { ...input, file };
      }),
    );
    const result = await exportClip({
      inputs: odd,
      from: T0 + 1000,
      to: T0 + 9000,
      output: path.join(dir, 'o k.mp4'),
    });
    assert.ok(Math.abs(seconds(result.output) - 8) <= 0.1);
  });

  test('a damaged segment in the middle fails the export instead of a silently short clip; nothing is left', async () => {
    const dir = await scratch();
    const bad = path.join(dir, 'bad.mp4');
    await writeFile(bad, Buffer.alloc(40_000, 7));
    const out = path.join(dir, 'clip.mp4');
    await assert.rejects(
      exportClip({
        inputs: [inputs[0]!, { ...inputs[1]!, file: bad }, inputs[2]!],
        from: T0,
        to: T0 + 12_000,
        output: out,
      }),
      (error: unknown) =>
        error instanceof MediaError && error.code === 'ffmpeg_failed' && /bad\.mp4/.test(error.message),
    );
    const missing = path.join(dir, 'missing.mp4');
    await assert.rejects(
      exportClip({
        inputs: [inputs[0]!, { ...inputs[1]!, file: missing }],
        from: T0,
        to: T0 + 8000,
        output: out,
      }),
      (error: unknown) => error instanceof MediaError && /missing\.mp4/.test(error.message),
    );
    assert.deepEqual(await readdir(dir), ['bad.mp4']);
  });

  test('a segment whose read never returns (a hung NAS, here a FIFO nobody writes) is killed at the stall timeout', async () => {
    const dir = await scratch();
    const fifo = path.join(dir, 'hung.mp4');
    execFileSync('mkfifo', [fifo]);
    const out = path.join(dir, 'clip.mp4');
    for (const list of [
      [{ ...inputs[0]!, file: fifo }, inputs[1]!],
      [inputs[0]!, { ...inputs[1]!, file: fifo }],
    ]) {
      const started = performance.now();
      await assert.rejects(
        exportClip({ inputs: list, from: T0, to: T0 + 8000, output: out, stallTimeoutMs: 1500 }),
        (error: unknown) =>
          error instanceof MediaError && error.code === 'timeout' && /may be hung/.test(error.message),
      );
      const took = performance.now() - started;
      // Well before the default 30 s: the spec's 1.5 s applied (slack for a loaded test machine).
      assert.ok(took < 20_000, `gave up after ${took.toFixed(0)} ms`);
      assert.deepEqual(await readdir(dir), ['hung.mp4'], 'no partial output');
    }
  });

  test('abort kills ffmpeg, rejects with the reason and removes the partial output', async () => {
    const dir = await scratch();
    const fifo = path.join(dir, 'hung.mp4');
    execFileSync('mkfifo', [fifo]);
    const controller = new AbortController();
    const reason = new Error('export deleted');
    const pending = exportClip({
      inputs: [inputs[0]!, { ...inputs[1]!, file: fifo }],
      from: T0,
      to: T0 + 8000,
      output: path.join(dir, 'clip.mp4'),
      signal: controller.signal,
    });
    // ffmpeg has written the first segment into its temporary output and waits on the second.
    await waitFor(
      'a partial output',
      async () => (await readdir(dir)).some((name) => /^clip\.mp4\.partial-[0-9a-f]+$/.test(name)),
      60_000,
    );
    controller.abort(reason);
    await assert.rejects(pending, (error: unknown) => error === reason);
    assert.deepEqual(await readdir(dir), ['hung.mp4']);
    const already = AbortSignal.abort(new Error('too late'));
    await assert.rejects(
      exportClip({ inputs, from: T0, to: T0 + 1000, output: path.join(dir, 'x.mp4'), signal: already }),
      /too late/,
    );
  });

  test('an existing output is never replaced', async () => {
    const dir = await scratch();
    const out = path.join(dir, 'taken.mp4');
    await writeFile(out, 'mine');
    await assert.rejects(
      exportClip({ inputs, from: T0, to: T0 + 2000, output: out }),
      (error: unknown) => error instanceof MediaError && error.code === 'invalid_spec',
    );
    assert.equal(await readFile(out, 'utf8'), 'mine');
  });
});

describe('planClip', () => {
  const a = { file: '/nas/a.mp4', startAt: T0, endAt: T0 + 10_000 };
  const b = { file: '/nas/b.mp4', startAt: T0 + 10_000, endAt: T0 + 20_000 };
  const c = { file: '/nas/c.mp4', startAt: T0 + 20_000, endAt: T0 + 30_000 };

  test('inpoint on the first file, outpoint on the last, files outside the range left out', () => {
    const plan = planClip({ inputs: [a, b, c], from: T0 + 12_345, to: T0 + 15_000, output: '/tmp/o.mp4' });
    assert.equal(plan.list, "ffconcat version 1.0\nfile '/nas/b.mp4'\ninpoint 2.345\noutpoint 5.000\n");
    assert.equal(plan.expectedMs, 2655);
    const across = planClip({ inputs: [a, b, c], from: T0 + 5000, to: T0 + 25_000, output: '/tmp/o.mp4' });
    assert.equal(
      across.list,
      "ffconcat version 1.0\nfile '/nas/a.mp4'\ninpoint 5.000\nfile '/nas/b.mp4'\nfile '/nas/c.mp4'\noutpoint 5.000\n",
    );
    assert.equal(across.expectedMs, 20_000);
  });

  test('bad specs are refused before ffmpeg runs', () => {
    const bad = (spec: Parameters<typeof planClip>[0], pattern: RegExp) =>
      assert.throws(
        () => planClip(spec),
        (error: unknown) =>
          error instanceof MediaError && error.code === 'invalid_spec' && pattern.test(error.message),
      );
    bad({ inputs: [a], from: T0 + 5000, to: T0 + 5000, output: '/tmp/o.mp4' }, /empty range/);
    bad({ inputs: [a], from: T0 + 5000, to: T0, output: '/tmp/o.mp4' }, /empty range/);
    bad({ inputs: [a], from: Number.NaN, to: T0, output: '/tmp/o.mp4' }, /empty range/);
    bad({ inputs: [a], from: T0, to: T0 + 1, output: 'o.mp4' }, /absolute/);
    bad({ inputs: [{ ...a, file: 'a.mp4' }], from: T0, to: T0 + 1, output: '/tmp/o.mp4' }, /absolute/);
    bad(
      { inputs: [{ ...a, file: '/nas/a\nfile /etc/passwd' }], from: T0, to: T0 + 1, output: '/o.mp4' },
      /control/,
    );
    bad({ inputs: [b, a], from: T0, to: T0 + 1, output: '/tmp/o.mp4' }, /time order/);
    bad({ inputs: [{ ...a, endAt: a.startAt }], from: T0, to: T0 + 1, output: '/tmp/o.mp4' }, /no duration/);
    bad({ inputs: [a], from: T0 + 60_000, to: T0 + 70_000, output: '/tmp/o.mp4' }, /no input covers/);
    bad({ inputs: [], from: T0, to: T0 + 1, output: '/tmp/o.mp4' }, /no input covers/);
  });
});
