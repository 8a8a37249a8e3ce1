import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LiveFragment, LiveInit } from '../media/index.js';
import type { LiveListener } from './h264-live.js';
import { mp4ViewerStream } from './mp4-fanout.js';

/** A stand-in for one camera's shared stream: fragments are pushed by the test. */
function fakeLive() {
  const listeners = new Set<LiveListener>();
  const gop: LiveFragment[] = [];
  const init: LiveInit = {
    bytes: Buffer.from('INIT'),
    codec: 'avc1.42C01E',
    timescale: 10240,
    width: 4,
    height: 4,
  };
  let seq = 0;
  return {
    listeners,
    init: () => init,
    subscribe(listener: LiveListener) {
      listeners.add(listener);
      return { gop: [...gop], unsubscribe: () => void listeners.delete(listener) };
    },
    /** One fragment of `bytes` bytes, tagged with its number so the reader can tell which arrived. */
    emit(keyframe: boolean, bytes = 10_000): LiveFragment {
      const n = seq++;
      const data = Buffer.alloc(bytes, 0);
      data.writeUInt32BE(n, 0);
      data[4] = keyframe ? 1 : 0;
      const fragment = {
        seq: n,
        bytes: data,
        keyframe,
        startSeconds: 0,
        endSeconds: 0,
        receivedAt: Date.now(),
      };
      if (keyframe) gop.length = 0;
      gop.push(fragment);
      for (const listener of listeners) listener.onFragment(fragment);
      return fragment;
    },
    end(reason: string) {
      for (const listener of [...listeners]) listener.onEnd(reason);
      listeners.clear();
    },
  };
}

async function read(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ n: number; key: boolean } | 'init' | null> {
  const { done, value } = await reader.read();
  if (done) return null;
  const chunk = Buffer.from(value);
  if (chunk.toString() === 'INIT') return 'init';
  return { n: chunk.readUInt32BE(0), key: chunk[4] === 1 };
}

test('a joining viewer gets the init, then the current GOP from its keyframe, then each fragment once', async () => {
  const live = fakeLive();
  live.emit(false); // before any keyframe: nobody can start here
  live.emit(true);
  live.emit(false);
  let ended = 0;
  const viewer = mp4ViewerStream(live, () => ended++);
  live.emit(false);
  live.emit(true);
  const reader = viewer.stream.getReader();
  assert.equal(await read(reader), 'init');
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await read(reader));
  assert.deepEqual(got, [
    { n: 1, key: true },
    { n: 2, key: false },
    { n: 3, key: false },
    { n: 4, key: true },
  ]);
  await reader.cancel();
  assert.equal(ended, 1);
  assert.equal(live.listeners.size, 0, 'cancelling unsubscribes');
});

test('a stalled viewer holds a bounded backlog, drops it whole, and resumes at a keyframe', async () => {
  const live = fakeLive();
  const viewer = mp4ViewerStream(live, () => {}, { maxQueuedBytes: 100_000 });
  let maxQueued = 0;
  // 60 fragments of 10 kB (a keyframe every 5th) while nobody reads: 600 kB against a 100-kB bound.
  for (let i = 0; i < 60; i++) {
    live.emit(i % 5 === 0);
    maxQueued = Math.max(maxQueued, viewer.stats().queuedBytes);
  }
  assert.ok(maxQueued <= 100_000, `queued at most ${maxQueued} bytes`);
  const { fragmentsDropped } = viewer.stats();
  assert.ok(fragmentsDropped >= 45, `${fragmentsDropped} fragments dropped`);

  const reader = viewer.stream.getReader();
  assert.equal(await read(reader), 'init');
  const first = await read(reader);
  assert.ok(
    first !== null && first !== 'init' && first.key,
    'after a drop the viewer restarts at a keyframe',
  );
  // From there on, contiguous: nothing is skipped inside a GOP.
  let previous = first.n;
  for (;;) {
    if (viewer.stats().queuedBytes === 0) break;
    const next = await read(reader);
    assert.ok(next !== null && next !== 'init');
    assert.equal(next.n, previous + 1);
    previous = next.n;
  }
  assert.equal(previous, 59);

  // The source ends: what is queued is still delivered, then the answer ends.
  live.emit(true);
  live.end('camera gone');
  assert.deepEqual(await read(reader), { n: 60, key: true });
  assert.equal(await read(reader), null);
});

test('a single fragment larger than the bound still goes through (never an empty stream)', async () => {
  const live = fakeLive();
  const viewer = mp4ViewerStream(live, () => {}, { maxQueuedBytes: 1000 });
  live.emit(true, 5000);
  const reader = viewer.stream.getReader();
  assert.equal(await read(reader), 'init');
  assert.deepEqual(await read(reader), { n: 0, key: true });
  viewer.end();
  assert.equal(await read(reader), null);
});
