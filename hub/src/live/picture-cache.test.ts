import assert from 'node:assert/strict';
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../testing/spawn-hub.js';
import { createPictureCache } from './picture-cache.js';

const kb = (n: number, fill = 1) => Buffer.alloc(n * 1024, fill);

test('the cache keeps its total under the bound, dropping the least recently used first', async () => {
  const dir = path.join(tempDir(), 'thumbs');
  const cache = createPictureCache({ dir, maxBytes: 100 * 1024 });
  for (const key of ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']) {
    await cache.put(key, kb(30, key.charCodeAt(0)));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // 4 × 30 kB > 100 kB: the oldest (a) went.
  assert.equal(await cache.get('a.jpg'), null);
  assert.deepEqual(readdirSync(dir).sort(), ['b.jpg', 'c.jpg', 'd.jpg']);
  // b is used now, so c is the least recently used when e arrives.
  assert.deepEqual(await cache.get('b.jpg'), kb(30, 'b'.charCodeAt(0)));
  await new Promise((resolve) => setTimeout(resolve, 5));
  await cache.put('e.jpg', kb(30));
  assert.deepEqual(readdirSync(dir).sort(), ['b.jpg', 'd.jpg', 'e.jpg']);
  const stats = await cache.stats();
  assert.ok(stats.bytes <= 100 * 1024 && stats.files === 3, JSON.stringify(stats));
  // A picture larger than the whole cache is not kept.
  await cache.put('huge.jpg', kb(200));
  assert.equal(await cache.get('huge.jpg'), null);
  await assert.rejects(cache.get('../escape.jpg'), /bad cache key/);
});

test('the bound holds across restarts: the folder is read back, leftovers of torn writes are removed', async () => {
  const dir = tempDir();
  const now = Date.now() / 1000;
  for (const [i, key] of ['old.jpg', 'mid.jpg', 'new.jpg'].entries()) {
    writeFileSync(path.join(dir, key), kb(40));
    utimesSync(path.join(dir, key), now - 100 + i, now - 100 + i);
  }
  writeFileSync(path.join(dir, 'x.jpg.tmp-1234'), kb(1));
  const cache = createPictureCache({ dir, maxBytes: 90 * 1024 });
  assert.deepEqual(await cache.stats(), { files: 2, bytes: 80 * 1024, maxBytes: 90 * 1024 });
  assert.deepEqual(readdirSync(dir).sort(), ['mid.jpg', 'new.jpg']);
  assert.ok(await cache.get('new.jpg'));
});
