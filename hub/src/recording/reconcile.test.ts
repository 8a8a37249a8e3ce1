import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cameras } from '../cameras/cameras.schema.js';
import { manualClock } from '../clock.js';
import { closeDatabase, openDatabase } from '../db/client.js';
import { createFsWorker, type FsWorker } from '../storage/index.js';
import { tempDir } from '../testing/spawn-hub.js';
import { reconcileRoot } from './reindex.js';
import { parseRelPath } from './segment-names.js';
import { createSegmentRepo, segmentFromProbe } from './segments.repo.js';

const PROBE = { durationMs: 10_000, bytes: 4, codec: 'h264', width: 640, height: 480, initHeaderBytes: 1 };

test('reconcile removes rows whose file is gone but keeps a row whose file landed after the walk listed its folder', async () => {
  const dir = tempDir();
  const root = path.join(dir, 'nas');
  mkdirSync(path.join(root, 'videos', 'porch', '2026-11-23'), { recursive: true });
  const db = openDatabase(path.join(dir, 'hearth.db'), { migrate: true });
  const worker = createFsWorker({});
  try {
    const clock = manualClock(Date.UTC(2026, 10, 23, 12));
    const now = new Date(clock.now());
    db.insert(cameras)
      .values({ id: 'porch', name: 'Porch', kind: 'demo', createdAt: now, updatedAt: now })
      .run();
    const segments = createSegmentRepo(db);
    const rowFor = (relPath: string) =>
      segmentFromProbe(parseRelPath(relPath)!, PROBE, { location: 'nas', relPath }, clock.now());

    const gone = 'videos/porch/2026-11-23/porch_20261123_100000.mp4';
    segments.insert(rowFor(gone));
    // A segment finalized while the walk runs: its file lands after the listing, then its row.
    const late = 'videos/porch/2026-11-23/porch_20261123_100010.mp4';
    const racingWalk: FsWorker = {
      ...worker,
      walk: (async (walkRoot: string, options?: { maxEntries?: number }) => {
        const listed = await worker.walk(walkRoot, options);
        writeFileSync(path.join(root, late), 'moof');
        segments.insert(rowFor(late));
        return listed;
      }) as FsWorker['walk'],
    };

    const report = await reconcileRoot({ db, fs: racingWalk, segments, clock, root, location: 'nas' });
    assert.equal(report.removed, 1);
    assert.equal(segments.byRelPath(gone), undefined, 'a row whose file is missing goes');
    assert.equal(segments.byRelPath(late)?.location, 'nas', 'the late segment keeps its row');
  } finally {
    await worker.close();
    closeDatabase(db);
  }
});
