import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { manualClock } from '../../clock.js';
import { createFrameQueue } from './queue.js';

interface Frame {
  cameraId: string;
  at: number;
  seq: number;
  pixels: Buffer;
}

describe('frame queue', () => {
  it('a pinned consumer: the queue stays bounded and drops are counted', async () => {
    const clock = manualClock();
    const queue = createFrameQueue<Frame>(clock, { perCamera: 2, maxAgeMs: 2000 });
    const started: Frame[] = [];
    // The consumer takes one frame and its detector never returns.
    void (async () => {
      for (;;) {
        started.push(await queue.take());
        await new Promise<never>(() => {});
      }
    })();
    const alive: WeakRef<Frame>[] = [];
    for (let seq = 0; seq < 600; seq++) {
      clock.advance(100);
      for (const cameraId of ['door', 'garden', 'hall']) {
        const frame = { cameraId, at: clock.now(), seq, pixels: Buffer.alloc(64 * 1024) };
        alive.push(new WeakRef(frame));
        queue.push(frame);
      }
      // The consumer gets its turn on the event loop, as it would in the hub.
      await new Promise(setImmediate);
      const stats = queue.stats();
      assert.ok(stats.queued <= 6, `queued ${stats.queued} after ${seq}`);
    }
    const stats = queue.stats();
    assert.equal(started.length, 1);
    assert.equal(stats.pushed, 1800);
    assert.equal(stats.taken, 1);
    assert.equal(stats.queued, 6);
    assert.equal(stats.dropped.overflow, 1800 - 1 - 6);
    // Nothing but those 6 and the one the consumer holds can still be reachable.
    setFlagsFromString('--expose-gc');
    // A WeakRef keeps its target alive until the end of the job that made it; let that job end.
    await new Promise(setImmediate);
    (runInNewContext('gc') as () => void)();
    assert.equal(alive.filter((ref) => ref.deref() !== undefined).length, 7);
  });

  it('a consumer that catches up gets the newest frame of each camera, not the oldest', async () => {
    const clock = manualClock();
    const queue = createFrameQueue<Frame>(clock, { perCamera: 3, maxAgeMs: 5000 });
    for (let seq = 0; seq < 10; seq++) {
      clock.advance(100);
      queue.push({ cameraId: 'door', at: clock.now(), seq, pixels: Buffer.alloc(1) });
      queue.push({ cameraId: 'hall', at: clock.now(), seq: 100 + seq, pixels: Buffer.alloc(1) });
    }
    const first = await queue.take();
    const second = await queue.take();
    assert.deepEqual([first.cameraId, first.seq, second.cameraId, second.seq], ['door', 9, 'hall', 109]);
    const stats = queue.stats();
    assert.equal(stats.queued, 0);
    assert.equal(stats.dropped.overflow, 14);
    assert.equal(stats.dropped.superseded, 4);
  });

  it('frames older than maxAgeMs are never handed out', async () => {
    const clock = manualClock();
    const queue = createFrameQueue<Frame>(clock, { maxAgeMs: 2000 });
    queue.push({ cameraId: 'door', at: clock.now(), seq: 1, pixels: Buffer.alloc(1) });
    clock.advance(2001);
    assert.equal(queue.stats().dropped.stale, 1);
    const controller = new AbortController();
    const waiting = queue.take(controller.signal);
    // A frame that is already stale when pushed does not wake the waiter either.
    queue.push({ cameraId: 'door', at: clock.now() - 3000, seq: 2, pixels: Buffer.alloc(1) });
    queue.push({ cameraId: 'door', at: clock.now(), seq: 3, pixels: Buffer.alloc(1) });
    assert.equal((await waiting).seq, 3);
    assert.equal(queue.stats().dropped.stale, 2);
    const aborted = queue.take(controller.signal);
    controller.abort(new Error('stopping'));
    await assert.rejects(aborted, /stopping/);
  });

  it('cameras take turns', async () => {
    const clock = manualClock();
    const queue = createFrameQueue<Frame>(clock);
    const order: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const cameraId of ['a', 'b', 'c'])
        queue.push({ cameraId, at: clock.now(), seq: round, pixels: Buffer.alloc(1) });
      order.push((await queue.take()).cameraId);
    }
    // a was served in round 0, so b, then c come first although a pushed again each round.
    assert.deepEqual(order, ['a', 'b', 'c']);
  });
});
