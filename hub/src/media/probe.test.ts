import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { MediaError } from './errors.js';
import { killOwnChildren } from './ffmpeg.js';
import { prng } from './fixtures/media-fixtures.js';
import {
  assertBoxesMatchFfprobe,
  find,
  readBoxes,
  shiftTfdt,
  toHeadersV1,
  toTfdtV0,
  toTrexDurations,
  writeBoxes,
} from './fixtures/mp4-boxes.js';
import { mp4InitHeaderLength, probeSegment, scanFragmentedMp4, trimToLastFragment } from './probe.js';

const run = promisify(execFile);
let dir = '';
let fragmented = '';
let fragmentedBytes: Buffer;
let plain = '';
/** Per-sample durations in every trun (a jittery timeline, as from a camera's wall-clock timestamps). */
let jittery = '';
/** MJPEG in MP4 (sample entry 'mp4v'): a codec the boxes leave to ffprobe. */
let mjpegInMp4 = '';
const FRAGMENTED_FLAGS = ['-movflags', '+frag_keyframe+empty_moov+default_base_moof'];

const rejectsWith = (promise: Promise<unknown>, code: string) =>
  assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof MediaError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hearth-probe-'));
  fragmented = path.join(dir, 'frag.mp4');
  plain = path.join(dir, 'plain.mp4');
  jittery = path.join(dir, 'jittery.mp4');
  mjpegInMp4 = path.join(dir, 'mjpeg.mp4');
  const encode = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10'];
  const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p'];
  await Promise.all([
    run('ffmpeg', [
      ...encode,
      '-t',
      '3',
      ...h264,
      '-movflags',
      '+frag_keyframe+empty_moov+default_base_moof',
      fragmented,
    ]),
    run('ffmpeg', [...encode, '-t', '1', ...h264, plain]),
    run('ffmpeg', [
      ...encode,
      '-t',
      '3',
      ...['-vf', "setpts='PTS+0.03*sin(N)/TB'", '-fps_mode', 'passthrough', '-enc_time_base', '1/1000'],
      ...h264,
      ...FRAGMENTED_FLAGS,
      jittery,
    ]),
    run('ffmpeg', [...encode, '-t', '1', '-c:v', 'mjpeg', ...FRAGMENTED_FLAGS, mjpegInMp4]),
  ]);
  fragmentedBytes = await readFile(fragmented);
});
after(() => rm(dir, { recursive: true, force: true }));

async function variant(name: string, bytes: Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

describe('probeSegment and the MP4 box walk', () => {
  test('a whole fragmented MP4', async () => {
    const probe = await probeSegment(fragmented);
    const firstMoof = fragmentedBytes.indexOf('moof') - 4;
    assert.deepEqual(probe, {
      durationMs: 3000,
      codec: 'h264',
      width: 320,
      height: 240,
      bytes: fragmentedBytes.length,
      initHeaderBytes: firstMoof,
      playableBytes: fragmentedBytes.length,
      complete: true,
      fragments: 3,
      source: 'boxes',
    });
    assert.equal(await mp4InitHeaderLength(fragmented), firstMoof);
    const ffprobe = await probeSegment(fragmented, { method: 'ffprobe' });
    assert.deepEqual(ffprobe, { ...probe, source: 'ffprobe' });
  });

  test('only the ftyp a kill leaves behind, or ftyp+moov: unreadable', async () => {
    const ftypSize = fragmentedBytes.readUInt32BE(0);
    assert.equal(ftypSize, 28);
    const ftypOnly = await variant('ftyp.mp4', fragmentedBytes.subarray(0, 28));
    await rejectsWith(probeSegment(ftypOnly), 'unreadable');
    await rejectsWith(mp4InitHeaderLength(ftypOnly), 'unreadable');
    const initOnly = await variant(
      'init.mp4',
      fragmentedBytes.subarray(0, fragmentedBytes.indexOf('moof') - 4),
    );
    await rejectsWith(probeSegment(initOnly), 'unreadable');
    const tornFirst = await variant(
      'torn1.mp4',
      fragmentedBytes.subarray(0, fragmentedBytes.indexOf('moof') + 3000),
    );
    await rejectsWith(probeSegment(tornFirst), 'unreadable');
  });

  test('a torn last fragment: only whole fragments count, and trimming makes the file whole', async () => {
    const third =
      fragmentedBytes.indexOf(
        'moof',
        fragmentedBytes.indexOf('moof', fragmentedBytes.indexOf('moof') + 4) + 4,
      ) - 4;
    const torn = await variant('torn.mp4', fragmentedBytes.subarray(0, third + 5000));
    const probe = await probeSegment(torn);
    assert.equal(probe.complete, false);
    assert.equal(probe.fragments, 2);
    assert.equal(probe.playableBytes, third);
    assert.equal(probe.durationMs, 2000, 'ffprobe alone would say 3000: it trusts the torn moof');
    assert.equal(probe.source, 'boxes');
    // The ffprobe path reads only the whole fragments (subfile) and agrees.
    assert.equal((await probeSegment(torn, { method: 'ffprobe' })).durationMs, 2000);
    assert.equal(await trimToLastFragment(torn), 5000);
    assert.equal((await stat(torn)).size, third);
    const trimmed = await probeSegment(torn);
    assert.equal(trimmed.complete, true);
    assert.equal(trimmed.durationMs, 2000);
    assert.equal((await probeSegment(torn, { method: 'ffprobe' })).durationMs, 2000);
    assert.equal(await trimToLastFragment(torn), 0);
  });

  test('per-sample durations in trun (a jittery timeline): the boxes agree with ffprobe', async () => {
    const moof = readBoxes(await readFile(jittery)).find((b) => b.type === 'moof');
    assert.ok(moof && find(moof, 'trun')[0]!.data.readUIntBE(1, 3) & 0x100, 'trun carries durations');
    await assertBoxesMatchFfprobe(jittery, 100);
  });

  test('box layouts ffmpeg does not write (tfdt v0, mdhd/tkhd v1, durations from trex) agree with ffprobe', async () => {
    const edits = {
      'tfdt-v0': toTfdtV0,
      'headers-v1': toHeadersV1,
      'trex-durations': toTrexDurations,
      all: (boxes: ReturnType<typeof readBoxes>) => {
        toTfdtV0(boxes);
        toHeadersV1(boxes);
        toTrexDurations(boxes);
      },
    };
    for (const [name, edit] of Object.entries(edits)) {
      const boxes = readBoxes(fragmentedBytes);
      edit(boxes);
      const file = await variant(`${name}.mp4`, writeBoxes(boxes));
      const probe = await assertBoxesMatchFfprobe(file, 100);
      assert.equal(probe.durationMs, 3000, name);
      assert.equal(probe.fragments, 3, name);
    }
  });

  test('a first tfdt above zero: the boxes count from it, ffprobe from zero (the one layout they disagree on)', async () => {
    const boxes = readBoxes(fragmentedBytes);
    shiftTfdt(boxes, 10_240 * 3600); // an hour in (timescale 10240 at 10 fps)
    const file = await variant('shifted.mp4', writeBoxes(boxes));
    const probe = await probeSegment(file);
    assert.equal(probe.source, 'boxes');
    assert.equal(probe.durationMs, 3000);
    // ffprobe reports the end time as the duration. The recorder's segments start at 0 (-reset_timestamps).
    assert.equal((await probeSegment(file, { method: 'ffprobe' })).durationMs, 3_603_000);
  });

  test('a codec the boxes do not name: ffprobe answers in their place; method boxes rejects', async () => {
    const probe = await probeSegment(mjpegInMp4);
    assert.equal(probe.source, 'ffprobe');
    assert.equal(probe.codec, 'mjpeg');
    assert.match(probe.fallbackReason ?? '', /codec 'mp4v'/);
    assert.deepEqual([probe.width, probe.height, probe.durationMs], [320, 240, 1000]);
    await rejectsWith(probeSegment(mjpegInMp4, { method: 'boxes' }), 'unreadable');
  });

  test('only box headers and moofs are read: a 3-GiB sparse fragment is answered at once', async () => {
    // ftyp+moov, the first moof, an mdat claiming 3 GiB (64-bit size; a hole on disk), the second fragment.
    const [, second, third] = [...fragmentedBytes.toString('latin1').matchAll(/moof/g)].map(
      (m) => m.index - 4,
    );
    const firstMoofEnd = fragmentedBytes.indexOf('mdat') - 4;
    const hugeMdat = 3 * 2 ** 30;
    const header = Buffer.alloc(16);
    header.writeUInt32BE(1, 0);
    header.write('mdat', 4, 'latin1');
    header.writeBigUInt64BE(BigInt(hugeMdat), 8);
    const file = await variant(
      'sparse.mp4',
      Buffer.concat([fragmentedBytes.subarray(0, firstMoofEnd), header]),
    );
    const tail = fragmentedBytes.subarray(second!, third!);
    const { open } = await import('node:fs/promises');
    const handle = await open(file, 'r+');
    try {
      await handle.write(tail, 0, tail.length, firstMoofEnd + hugeMdat);
    } finally {
      await handle.close();
    }
    const t0 = performance.now();
    const probe = await probeSegment(file, { method: 'boxes' });
    assert.ok(performance.now() - t0 < 1000, `${performance.now() - t0} ms`);
    assert.equal(probe.durationMs, 2000);
    assert.equal(probe.fragments, 2);
    assert.equal(probe.bytes, firstMoofEnd + hugeMdat + tail.length);
    assert.equal(probe.complete, true);
  });

  test('fuzz: truncated and corrupted segments give an answer or a MediaError, never another throw', async () => {
    const codes = new Set(['unreadable', 'not_fragmented']);
    let answered = 0;
    let rejected = 0;
    for (const [base, bytes] of [
      ['fragmented', fragmentedBytes],
      ['jittery', await readFile(jittery)],
    ] as const) {
      // Offsets of every box header in moov and the moofs (mdat payloads hold no structure).
      const headers: number[] = [];
      const collect = (start: number, end: number) => {
        for (let at = start; at + 8 <= end; ) {
          const size = bytes.readUInt32BE(at);
          const type = bytes.toString('latin1', at + 4, at + 8);
          headers.push(at);
          if (['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex', 'moof', 'traf'].includes(type))
            collect(at + 8, at + size);
          else if (type === 'stsd') collect(at + 16, at + size);
          at += size;
        }
      };
      collect(0, bytes.length);
      const structure = headers.flatMap((at) => {
        const type = bytes.toString('latin1', at + 4, at + 8);
        return type === 'mdat' ? [at] : Array.from({ length: bytes.readUInt32BE(at) }, (_, i) => at + i);
      });
      const seed = base === 'fragmented' ? 1 : 2;
      const random = prng(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
      for (let i = 0; i < 300; i++) {
        let mutated: Buffer;
        const kind = pick(['truncate', 'size', 'size64', 'bytes'] as const);
        if (kind === 'truncate') {
          mutated = bytes.subarray(0, Math.floor(random() * bytes.length));
        } else {
          mutated = Buffer.from(bytes);
          if (kind === 'bytes') {
            for (let n = 1 + Math.floor(random() * 4); n > 0; n--)
              mutated[pick(structure)] = Math.floor(random() * 256);
          } else {
            const at = pick(headers);
            const size = pick([0, 1, 7, 8, 9, 16, 0x7fffffff, 0xffffffff, Math.floor(random() * 2 ** 32)]);
            mutated.writeUInt32BE(kind === 'size64' ? 1 : size, at);
            if (kind === 'size64')
              mutated.writeBigUInt64BE(BigInt(size) * BigInt(pick([1, 2 ** 20])), at + 8);
          }
        }
        const file = await variant('fuzz.mp4', mutated);
        const what = `${base} seed ${seed} #${i} ${kind}`;
        try {
          const probe = await probeSegment(file, { method: 'boxes', timeoutMs: 5000 });
          assert.equal(probe.source, 'boxes', what);
          assert.ok(
            Number.isFinite(probe.durationMs) && probe.durationMs > 0,
            `${what}: ${probe.durationMs}`,
          );
          assert.ok(probe.playableBytes <= probe.bytes && probe.bytes === mutated.length, what);
          answered++;
        } catch (err) {
          assert.ok(err instanceof MediaError, `${what}: ${String(err)}`);
          assert.ok(codes.has(err.code), `${what}: ${err.code} ${err.message}`);
          assert.doesNotMatch(err.message, /unexpected/, `${what}: a read was not bounds-checked`);
          rejected++;
        }
      }
    }
    assert.ok(answered > 50 && rejected > 50, `${answered} answered, ${rejected} rejected`);
    // With ffprobe as the fallback, a few of them: still an answer or a MediaError.
    const bad = Buffer.from(fragmentedBytes);
    bad.writeUInt32BE(0xfffffff0, fragmentedBytes.indexOf('trun') - 4);
    const probe = await probeSegment(await variant('bad-trun.mp4', bad));
    assert.equal(probe.source, 'ffprobe');
    assert.match(probe.fallbackReason ?? '', /'trun' of 4294967280 bytes does not fit/);
  });

  test('a plain MP4 is not fragmented', async () => {
    await rejectsWith(mp4InitHeaderLength(plain), 'not_fragmented');
    await rejectsWith(probeSegment(plain), 'not_fragmented');
  });

  test('missing, empty, a directory, garbage', async () => {
    await rejectsWith(probeSegment(path.join(dir, 'nope.mp4')), 'not_found');
    await rejectsWith(mp4InitHeaderLength(path.join(dir, 'nope.mp4')), 'not_found');
    await rejectsWith(probeSegment(await variant('empty.mp4', Buffer.alloc(0))), 'unreadable');
    const sub = path.join(dir, 'sub.mp4');
    await mkdir(sub);
    await rejectsWith(probeSegment(sub), 'unreadable');
    await rejectsWith(
      probeSegment(await variant('junk.mp4', Buffer.from('hello, this is not a video file at all'))),
      'unreadable',
    );
    // A valid head followed by a box that claims to be larger than 2^53.
    const huge = Buffer.concat([
      fragmentedBytes.subarray(0, 28),
      Buffer.from([0, 0, 0, 1, 0x6d, 0x6f, 0x6f, 0x76, 0xff, 0xff, 0, 0, 0, 0, 0, 0]),
    ]);
    await rejectsWith(probeSegment(await variant('huge.mp4', huge)), 'unreadable');
    assert.equal((await scanFragmentedMp4(fragmented)).fragments, 3);
  });

  test('timeout: the promise rejects, and the ffprobe child is found and killed', async () => {
    await rejectsWith(probeSegment(fragmented, { timeoutMs: 1, method: 'ffprobe' }), 'timeout');
    // fluent-ffmpeg does not hand out ffprobe's process; the killer finds children by argv. Prove it on a
    // child that would otherwise hang for a minute.
    const target = path.join(dir, 'hung.mp4');
    const child = spawn(
      process.execPath,
      ['-e', 'setTimeout(() => {}, 60000)', '--', '-show_streams', target],
      { stdio: 'ignore' },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    await new Promise((resolve) => child.on('spawn', resolve));
    const killed = await killOwnChildren((argv) => argv.includes('-show_streams') && argv.at(-1) === target);
    assert.deepEqual(killed, [child.pid]);
    assert.equal(await exited, 'SIGKILL');
  });
});
