import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { cameraWebServerPart, makeTestJpegs, prng } from './fixtures/media-fixtures.js';
import { boundaryFromContentType, type MjpegFrame, MjpegParser, type MjpegStats } from './mjpeg.js';

const BOUNDARY = '123456789000000000000987654321';
let jpegs: Buffer[] = [];

before(async () => {
  jpegs = await makeTestJpegs(6);
  assert.equal(jpegs.length, 6);
});

const latin = (s: string) => Buffer.from(s, 'latin1');
const part = (jpeg: Buffer, sec = 1, usec = 0) => cameraWebServerPart(BOUNDARY, jpeg, { sec, usec });
const rawPart = (headers: string[], body: Buffer) =>
  Buffer.concat([latin(`\r\n--${BOUNDARY}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`), body]);
const zeroStats = (): MjpegStats => ({
  frames: 0,
  dropped: { torn: 0, badLength: 0, oversized: 0, notJpeg: 0, garbageBytes: 0 },
});

function parseInChunks(stream: Buffer, sizes: () => number, options?: { maxFrameBytes?: number }) {
  const parser = new MjpegParser(BOUNDARY, options);
  const frames: MjpegFrame[] = [];
  let maxBuffered = 0;
  for (let i = 0; i < stream.length; ) {
    const n = Math.max(1, Math.min(stream.length - i, sizes()));
    frames.push(...parser.push(stream.subarray(i, i + n)));
    maxBuffered = Math.max(maxBuffered, parser.bufferedBytes);
    i += n;
  }
  return { frames, stats: parser.stats, maxBuffered, parser };
}

function sameFrames(actual: MjpegFrame[], expected: Buffer[]) {
  assert.equal(actual.length, expected.length, 'frame count');
  for (const [i, f] of actual.entries()) assert.ok(f.jpeg.equals(expected[i]!), `frame ${i} differs`);
}

describe('boundaryFromContentType', () => {
  test('reads the boundary however it is written', () => {
    assert.equal(boundaryFromContentType(`multipart/x-mixed-replace;boundary=${BOUNDARY}`), BOUNDARY);
    assert.equal(boundaryFromContentType('multipart/x-mixed-replace; boundary="frame"'), 'frame');
    assert.equal(
      boundaryFromContentType('Multipart/X-Mixed-Replace; charset=x; BOUNDARY=--myboundary'),
      'myboundary',
    );
    assert.equal(boundaryFromContentType('multipart/x-mixed-replace;boundary="--a b;c"'), 'a b;c');
  });
  test('null for anything else', () => {
    assert.equal(boundaryFromContentType(null), null);
    assert.equal(boundaryFromContentType(''), null);
    assert.equal(boundaryFromContentType('image/jpeg'), null);
    assert.equal(boundaryFromContentType('multipart/form-data; boundary=x'), null);
    assert.equal(boundaryFromContentType('multipart/x-mixed-replace'), null);
    assert.equal(boundaryFromContentType('multipart/x-mixed-replace; boundary='), null);
    assert.equal(boundaryFromContentType('multipart/x-mixed-replace; boundary=--'), null);
  });
});

describe('MjpegParser on a clean CameraWebServer stream', () => {
  test('whole frames with their X-Timestamp, however the bytes are split', () => {
    const stream = Buffer.concat(jpegs.map((j, i) => part(j, 100 + i, 250_000)));
    const whole = parseInChunks(stream, () => stream.length);
    sameFrames(whole.frames, jpegs);
    assert.deepEqual(
      whole.frames.map((f) => f.timestamp),
      jpegs.map((_, i) => (100 + i) * 1000 + 250),
    );
    assert.deepEqual(whole.stats, { ...zeroStats(), frames: jpegs.length });

    const bytewise = parseInChunks(stream, () => 1);
    sameFrames(bytewise.frames, jpegs);
    assert.deepEqual(bytewise.stats, whole.stats);

    for (let seed = 1; seed <= 30; seed++) {
      const random = prng(seed);
      const max = [3, 50, 700, 9000, 70_000][seed % 5]!;
      const run = parseInChunks(stream, () => 1 + Math.floor(random() * max));
      sameFrames(run.frames, jpegs);
      assert.deepEqual(run.stats, whole.stats, `seed ${seed}`);
    }
  });

  test('a frame is emitted as soon as its Content-Length bytes are in, before the next boundary', () => {
    const parser = new MjpegParser(BOUNDARY);
    assert.equal(parser.push(part(jpegs[0]!)).length, 1);
  });

  test('accepts the RFC form (CRLF after the payload), a close delimiter and parts without X-Timestamp', () => {
    const p = (j: Buffer) =>
      Buffer.concat([
        latin(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${j.length}\r\n\r\n`),
        j,
        latin('\r\n'),
      ]);
    const stream = Buffer.concat([p(jpegs[0]!), p(jpegs[1]!), latin(`--${BOUNDARY}--\r\n`)]);
    const { frames, stats } = parseInChunks(stream, () => 17);
    sameFrames(frames, [jpegs[0]!, jpegs[1]!]);
    assert.equal(frames[0]!.timestamp, undefined);
    // The CRLF epilogue is still held: it could yet turn out to precede another delimiter.
    assert.equal(stats.dropped.garbageBytes, 0);
  });
});

describe('MjpegParser drops damage, counts it, and keeps the good frames', () => {
  let a: Buffer = Buffer.alloc(0);
  let b: Buffer = a;
  let c: Buffer = a;
  let d: Buffer = a;
  before(() => {
    [a, b, c, d] = [jpegs[0]!, jpegs[1]!, jpegs[2]!, jpegs[3]!];
  });
  const cases: {
    name: string;
    stream: () => Buffer;
    good: () => Buffer[];
    expect: Partial<MjpegStats['dropped']>;
    max?: () => number;
  }[] = [
    {
      name: 'torn part (next boundary before Content-Length bytes)',
      stream: () =>
        Buffer.concat([
          part(a),
          rawPart([`Content-Type: image/jpeg`, `Content-Length: ${b.length}`], b.subarray(0, 5000)),
          part(c),
        ]),
      good: () => [a, c],
      expect: { torn: 1 },
    },
    {
      name: 'Content-Length smaller than the JPEG',
      stream: () =>
        Buffer.concat([part(a), rawPart([`Content-Length: ${b.length - 100}`], b), part(c), part(d)]),
      good: () => [a, c, d],
      expect: { badLength: 1 },
    },
    {
      name: 'Content-Length larger than the JPEG',
      stream: () =>
        Buffer.concat([part(a), rawPart([`Content-Length: ${b.length + 300}`], b), part(c), part(d)]),
      good: () => [a, c, d],
      expect: { badLength: 1 },
    },
    {
      name: 'Content-Length that is not a number',
      stream: () => Buffer.concat([part(a), rawPart(['Content-Length: 12x4'], b), part(c)]),
      good: () => [a, c],
      expect: { badLength: 1 },
    },
    {
      name: 'two Content-Length headers that disagree',
      stream: () =>
        Buffer.concat([part(a), rawPart([`Content-Length: ${b.length}`, 'Content-Length: 5'], b), part(c)]),
      good: () => [a, c],
      expect: { badLength: 1 },
    },
    {
      name: 'missing Content-Length: a whole JPEG is still taken, a torn one dropped',
      stream: () =>
        Buffer.concat([
          part(a),
          rawPart(['Content-Type: image/jpeg'], b),
          rawPart([], c.subarray(0, 3000)),
          part(d),
        ]),
      good: () => [a, b, d],
      expect: { torn: 1 },
    },
    {
      name: 'part declared larger than maxFrameBytes',
      stream: () => Buffer.concat([part(a), rawPart(['Content-Length: 900000'], b), part(c)]),
      good: () => [a, c],
      expect: { oversized: 1 },
      max: () => 100_000,
    },
    {
      name: 'part without Content-Length that grows past maxFrameBytes',
      stream: () => Buffer.concat([part(a), rawPart([], Buffer.concat([b, b, b, b])), part(c)]),
      good: () => [a, c],
      expect: { oversized: 1 },
      max: () => Math.max(a.length, c.length) + 10,
    },
    {
      name: 'not image/jpeg, or not a JPEG inside',
      stream: () =>
        Buffer.concat([
          part(a),
          rawPart(['Content-Type: text/plain', 'Content-Length: 5'], latin('hello')),
          rawPart(['Content-Type: image/jpeg', 'Content-Length: 8'], latin('\x89PNG\r\n\x1a\n')),
          part(b),
        ]),
      good: () => [a, b],
      expect: { notJpeg: 2 },
    },
    {
      name: 'garbage before the first part and between parts',
      stream: () =>
        Buffer.concat([latin('HTTP junk'), part(a), latin('xyz\r\n\r\n'), part(b), latin('----'), part(c)]),
      good: () => [a, b, c],
      expect: { garbageBytes: 9 + 7 + 4 },
    },
    {
      name: 'a header block that never ends',
      stream: () =>
        Buffer.concat([
          part(a),
          latin(`\r\n--${BOUNDARY}\r\n`),
          latin('X-Junk: '.padEnd(6000, 'z')),
          part(b),
        ]),
      good: () => [a, b],
      expect: { garbageBytes: 6000 },
    },
    {
      name: 'a part cut inside its headers',
      stream: () => Buffer.concat([part(a), latin(`\r\n--${BOUNDARY}\r\nContent-Type: ima`), part(b)]),
      good: () => [a, b],
      expect: { garbageBytes: 'Content-Type: ima'.length },
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const stream = c.stream();
      const options = c.max ? { maxFrameBytes: c.max() } : {};
      const whole = parseInChunks(stream, () => stream.length, options);
      sameFrames(whole.frames, c.good());
      const expected = zeroStats();
      expected.frames = c.good().length;
      Object.assign(expected.dropped, c.expect);
      assert.deepEqual(whole.stats, expected);
      // The verdicts must not depend on where TCP happened to split the bytes.
      for (let seed = 1; seed <= 12; seed++) {
        const random = prng(seed * 7919);
        const max = [1, 40, 1500, 30_000][seed % 4]!;
        const run = parseInChunks(stream, () => 1 + Math.floor(random() * max), options);
        sameFrames(run.frames, c.good());
        assert.deepEqual(run.stats, expected, `seed ${seed * 7919}, chunks up to ${max}`);
      }
    });
  }
});

describe('MjpegParser under fuzz', () => {
  test('random garbage and mangled streams never throw, stay bounded, and emit only whole JPEGs', () => {
    const maxFrameBytes = 64 * 1024;
    const bound = maxFrameBytes + 4096 + BOUNDARY.length + 2 + 64;
    const clean = Buffer.concat(jpegs.slice(0, 4).map((j) => part(j)));
    for (let seed = 1; seed <= 60; seed++) {
      const random = prng(seed);
      const parser = new MjpegParser(BOUNDARY, { maxFrameBytes });
      let emitted = 0;
      for (let round = 0; round < 12; round++) {
        let chunk: Buffer;
        const kind = Math.floor(random() * 4);
        if (kind === 0) {
          chunk = Buffer.alloc(1 + Math.floor(random() * 200_000));
          for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(random() * 256);
        } else if (kind === 1) {
          // A valid stream with bytes flipped, cut and repeated.
          chunk = Buffer.from(clean);
          for (let i = 0; i < 20; i++)
            chunk[Math.floor(random() * chunk.length)] = Math.floor(random() * 256);
          const from = Math.floor(random() * chunk.length);
          chunk = Buffer.concat([chunk.subarray(from), chunk.subarray(0, from)]);
        } else if (kind === 2) {
          // Delimiters and headers with nonsense in between.
          const bits = [
            '\r\n',
            `--${BOUNDARY}`,
            '\r\n\r\n',
            'Content-Length: 99999999\r\n',
            'Content-Length: 10\r\n',
            '\xff\xd8\xff',
            '\xff\xd9',
            '--',
          ];
          chunk = latin(Array.from({ length: 400 }, () => bits[Math.floor(random() * bits.length)]).join(''));
        } else {
          chunk = rawPart(['Content-Length: 65000'], Buffer.alloc(70_000, 0x41));
        }
        let i = 0;
        while (i < chunk.length) {
          const n = 1 + Math.floor(random() * 20_000);
          for (const frame of parser.push(chunk.subarray(i, i + n))) {
            emitted++;
            assert.equal(frame.jpeg[0], 0xff);
            assert.equal(frame.jpeg[1], 0xd8);
            assert.ok(frame.jpeg.length <= maxFrameBytes);
          }
          assert.ok(parser.bufferedBytes <= bound, `seed ${seed}: ${parser.bufferedBytes} bytes buffered`);
          i += n;
        }
      }
      // After the storm, a clean stream still comes through.
      parser.push(clean.subarray(0, 1));
      const after = parser.push(Buffer.concat([clean.subarray(1), part(jpegs[4]!)]));
      assert.ok(after.length >= 4, `seed ${seed}: ${after.length} frames after resync`);
      assert.equal(parser.stats.frames >= emitted, true);
    }
  });

  test('one huge chunk is consumed in slices without holding it', () => {
    const parser = new MjpegParser(BOUNDARY, { maxFrameBytes: 100_000 });
    const huge = Buffer.concat([Buffer.alloc(20 * 1024 * 1024, 0x20), part(jpegs[0]!)]);
    const frames = parser.push(huge);
    assert.equal(frames.length, 1);
    assert.ok(parser.bufferedBytes < 200_000);
    assert.equal(parser.stats.dropped.garbageBytes, 20 * 1024 * 1024);
  });

  test('rejects a boundary it could never match', () => {
    assert.throws(() => new MjpegParser(''), TypeError);
    assert.throws(() => new MjpegParser('a\r\nb'), TypeError);
  });
});
