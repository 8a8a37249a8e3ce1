import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { MediaError } from './errors.js';
import { makeSegments } from './fixtures/segments.js';
import {
  jpegFromMp4,
  lastKeyframeFragment,
  type SegmentBytes,
  segmentFirstFrame,
  segmentLastKeyframe,
} from './frames.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-frames-'));
const [made] = await makeSegments(dir, { count: 1, seconds: 4, size: '320x240' });
const file = made!.file;
const bytes = readFileSync(file);

/** Offsets of the top-level boxes of the whole file. */
const boxes: { type: string; at: number; size: number }[] = [];
for (let at = 0; at < bytes.length; ) {
  const size = bytes.readUInt32BE(at);
  boxes.push({ type: bytes.toString('latin1', at + 4, at + 8), at, size });
  at += size;
}
const initBytes = boxes.find((box) => box.type === 'moof')!.at;
const init = bytes.subarray(0, initBytes);

/** The segment as the hub reads it: byte ranges of a file, counting what was asked for. */
function segmentOf(name: string, reads: { start: number; end: number }[] = []): SegmentBytes {
  return {
    size: statSync(name).size,
    initBytes,
    read: (range) => {
      reads.push(range);
      return createReadStream(name, range);
    },
  };
}

function size(jpeg: Buffer): { width: number; height: number } {
  const jpg = path.join(dir, `probe-${Math.random().toString(36).slice(2)}.jpg`);
  writeFileSync(jpg, jpeg);
  const [stream] = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_streams', jpg]).toString(),
  ).streams;
  return { width: stream.width, height: stream.height };
}

function ffmpegChildren(): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('image2pipe')) n++;
    } catch {}
  }
  return n;
}

test('the last keyframe fragment is found in any stretch of the file, however it starts', () => {
  const moofs = boxes.filter((box) => box.type === 'moof');
  const last = moofs.at(-1)!;
  const lastMdat = boxes[boxes.indexOf(last) + 1]!;
  const expected = { start: last.at, end: lastMdat.at + lastMdat.size };
  assert.deepEqual(lastKeyframeFragment(bytes, init), expected, 'the whole file (with its mfra trailer)');
  // Starting inside the previous fragment's mdat, at every kind of offset.
  for (const from of [initBytes + 1, moofs.at(-2)!.at + 3, moofs.at(-2)!.at + 500, last.at - 1]) {
    const found = lastKeyframeFragment(bytes.subarray(from), init);
    assert.deepEqual(found, { start: expected.start - from, end: expected.end - from }, `from ${from}`);
  }
  // A stretch that cuts the last fragment short: the one before it.
  const cut = lastKeyframeFragment(bytes.subarray(0, lastMdat.at + 100), init);
  assert.equal(cut?.start, moofs.at(-2)!.at);
  // Text that looks like a box type is not a fragment.
  const fake = Buffer.concat([Buffer.from('\0\0\0\x20moof and then nothing useful at all....')]);
  assert.equal(lastKeyframeFragment(fake, init), null);
  assert.equal(lastKeyframeFragment(Buffer.alloc(0), init), null);
});

test('a thumbnail is the first keyframe, scaled, read from the start of the file only', async () => {
  const reads: { start: number; end: number }[] = [];
  const jpeg = await segmentFirstFrame(segmentOf(file, reads), { width: 160 });
  assert.equal(jpeg.readUInt16BE(0), 0xffd8);
  assert.deepEqual(size(jpeg), { width: 160, height: 120 });
  assert.equal(reads.length, 1);
  assert.equal(reads[0]!.start, 0);
  // The same picture ffmpeg itself gives for the first frame of the file.
  const direct = execFileSync('ffmpeg', [
    ...['-v', 'error', '-i', file, '-frames:v', '1', '-vf', 'scale=160:-2', '-q:v', '4'],
    ...['-pix_fmt', 'yuvj420p', '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1'],
  ]);
  assert.ok(direct.equals(jpeg), 'same bytes as ffmpeg decoding the file directly');
});

test('a snapshot is the last keyframe: init and the tail only, never the whole file', async () => {
  const reads: { start: number; end: number }[] = [];
  const jpeg = await segmentLastKeyframe(segmentOf(file, reads), { tailBytes: 200_000 });
  assert.deepEqual(size(jpeg), { width: 320, height: 240 });
  assert.deepEqual(reads[0], { start: 0, end: initBytes - 1 });
  assert.equal(reads[1]!.end, bytes.length - 1);
  assert.ok(reads[1]!.end - reads[1]!.start < 200_000);
  const lastKey = boxes.filter((box) => box.type === 'moof').at(-1)!.at;
  const direct = execFileSync(
    'ffmpeg',
    [
      ...['-v', 'error', '-f', 'mp4', '-i', 'pipe:0', '-frames:v', '1', '-q:v', '4'],
      ...['-pix_fmt', 'yuvj420p', '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1'],
    ],
    { input: Buffer.concat([init, bytes.subarray(lastKey)]) },
  );
  assert.ok(direct.equals(jpeg), 'the picture at the last keyframe');
  const first = await segmentFirstFrame(segmentOf(file));
  assert.ok(!first.equals(jpeg), 'not the first one');

  // A tail too short to hold a whole fragment: the first keyframe rather than nothing.
  const short = await segmentLastKeyframe(segmentOf(file), { tailBytes: 1000 });
  assert.ok(short.equals(first));
});

test('a read that hangs (a NAS stuck in the kernel) times out, and ffmpeg does not outlive it', async () => {
  const hung: SegmentBytes = {
    size: bytes.length,
    initBytes,
    read: () => new Readable({ read() {} }),
  };
  const started = Date.now();
  const error = await segmentFirstFrame(hung, { timeoutMs: 1500 }).catch((e: unknown) => e);
  assert.ok(error instanceof MediaError && error.code === 'timeout', String(error));
  assert.ok(Date.now() - started < 4000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(ffmpegChildren(), 0, 'no ffmpeg left behind');

  const snapshot = await segmentLastKeyframe(hung, { timeoutMs: 1000 }).catch((e: unknown) => e);
  assert.ok(snapshot instanceof MediaError && snapshot.code === 'timeout', String(snapshot));

  // A reader that fails (the fs worker's timeout) passes its own error on.
  const failing: SegmentBytes = {
    size: bytes.length,
    initBytes,
    read: () =>
      new Readable({
        read() {
          this.destroy(Object.assign(new Error('NAS read timed out'), { code: 'timeout' }));
        },
      }),
  };
  await assert.rejects(segmentFirstFrame(failing), /NAS read timed out/);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(ffmpegChildren(), 0);
});

test('bytes that hold no picture are refused clearly', async () => {
  await assert.rejects(jpegFromMp4(Buffer.from('definitely not an mp4 file')), MediaError);
  const moof = boxes.find((box) => box.type === 'moof')!;
  // Only init: no frame.
  await assert.rejects(jpegFromMp4(init), (error: unknown) => error instanceof MediaError);
  assert.throws(
    () => segmentFirstFrame({ size: initBytes, initBytes, read: () => Readable.from([]) }),
    /no fragment/,
  );
  assert.throws(() => jpegFromMp4(bytes.subarray(0, moof.at), { width: 5 }), /width/);
  assert.throws(() => jpegFromMp4(init, { quality: 40 }), /quality/);
});
