/**
 * The stream a camera serves while streaming, framed by the firmware core (lib/hearth_core/src/mjpeg.cpp,
 * frames trimmed at their end marker by upload::jpegLength) and read by the hub's own MJPEG parser: every
 * frame comes out whole, nothing is dropped. Built from firmware/test/host/build/mjpeg-stream.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { firmwareHostProgram } from '../testing/firmware-host.js';
import { tempDir } from '../testing/spawn-hub.js';
import { boundaryFromContentType, MjpegParser } from './mjpeg.js';

test('the core’s MJPEG framing is what the hub reads: every frame whole, none dropped', async () => {
  const program = firmwareHostProgram('mjpeg-stream');
  const dir = tempDir('hearth-mjpeg-core-');
  const frames: Buffer[] = [];
  for (const [i, colour] of ['#c33', '#3c3', '#33c', '#999'].entries()) {
    const jpeg = await sharp({
      create: { width: 160 + i * 16, height: 120, channels: 3, background: colour },
    })
      .jpeg()
      .toBuffer();
    frames.push(jpeg);
    writeFileSync(path.join(dir, `${i}.jpg`), jpeg);
  }
  const run = spawnSync(
    program,
    frames.map((_, i) => path.join(dir, `${i}.jpg`)),
    { maxBuffer: 16 * 1024 * 1024 },
  );
  assert.equal(run.status, 0, run.stderr.toString());
  const boundary = boundaryFromContentType(run.stderr.toString());
  assert.equal(boundary, '123456789000000000000987654321');
  const parser = new MjpegParser(boundary!);
  const out = [];
  // Fed in uneven pieces, as TCP delivers it.
  for (let at = 0; at < run.stdout.length; at += 1000)
    out.push(...parser.push(run.stdout.subarray(at, at + 1000)));
  out.push(...parser.push(Buffer.from('\r\n--123456789000000000000987654321\r\n')));
  assert.deepEqual(
    out.map((frame) => frame.jpeg),
    frames,
  );
  assert.deepEqual(
    out.map((frame) => frame.timestamp),
    [1000, 2000, 3000, 4000],
  );
  assert.deepEqual(parser.stats.dropped, {
    torn: 0,
    badLength: 0,
    oversized: 0,
    notJpeg: 0,
    garbageBytes: 0,
  });
});
