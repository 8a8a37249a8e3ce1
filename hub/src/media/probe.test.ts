import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { MediaError } from './errors.js';
import { killOwnChildren } from './ffmpeg.js';
import { mp4InitHeaderLength, probeSegment, scanFragmentedMp4, trimToLastFragment } from './probe.js';

const run = promisify(execFile);
let dir = '';
let fragmented = '';
let fragmentedBytes: Buffer;
let plain = '';

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
    });
    assert.equal(await mp4InitHeaderLength(fragmented), firstMoof);
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
    assert.equal(await trimToLastFragment(torn), 5000);
    assert.equal((await stat(torn)).size, third);
    const trimmed = await probeSegment(torn);
    assert.equal(trimmed.complete, true);
    assert.equal(trimmed.durationMs, 2000);
    assert.equal(await trimToLastFragment(torn), 0);
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
    await rejectsWith(probeSegment(fragmented, { timeoutMs: 1 }), 'timeout');
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
