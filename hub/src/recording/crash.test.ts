import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ffprobeSeconds } from '../testing/ffprobe.js';
import { spawnHub } from '../testing/spawn-hub.js';
import { waitFor } from '../testing/wait.js';

function ffmpegPidsWritingInto(dir: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return args[0]?.endsWith('ffmpeg') && args.some((arg) => arg.startsWith(`${dir}/`));
      } catch {
        return false;
      }
    })
    .map(Number);
}

function segmentRows(dataDir: string) {
  const db = new Database(path.join(dataDir, 'hearth.db'), { readonly: true });
  try {
    return db
      .prepare('select camera_id, rel_path, location, duration_ms from segments order by id')
      .all() as {
      camera_id: string;
      rel_path: string;
      location: string;
      duration_ms: number;
    }[];
  } finally {
    db.close();
  }
}

function nasFiles(nas: string): string[] {
  const root = path.join(nas, 'videos');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.mp4'))
    .map((name) => `videos/${name}`)
    .sort();
}

test('SIGKILL of the hub and its ffmpeg mid-segment: finished segments play, the partial one is recovered or discarded, the index reconciles', async () => {
  const first = await spawnHub({ env: { HEARTH_DEMO: '1' } });
  const staging = path.join(first.dataDir, 'staging');
  const nas = path.join(first.dataDir, 'nas');
  try {
    // One whole segment per camera indexed, and the next one under way with some fragments in it.
    await waitFor('a finished segment of each demo camera', () => {
      const rows = segmentRows(first.dataDir);
      return new Set(rows.map((row) => row.camera_id)).size === 2 ? rows : undefined;
    });
    await waitFor('segments in progress', () => {
      const growing = readdirSync(staging).filter((name) => statSync(path.join(staging, name)).size > 50_000);
      return growing.length === 2 ? growing : undefined;
    });
    const recorders = ffmpegPidsWritingInto(staging);
    assert.equal(recorders.length, 2, 'one ffmpeg per demo camera');
    await first.kill('SIGKILL');
    for (const pid of recorders) process.kill(pid, 'SIGKILL');
  } finally {
    await first.kill('SIGKILL');
  }
  const partials = readdirSync(staging);
  assert.ok(partials.length >= 1, 'the segments in progress stayed in staging');
  const before = segmentRows(first.dataDir);
  for (const row of before) {
    const seconds = ffprobeSeconds(path.join(nas, row.rel_path));
    assert.ok(
      Math.abs(seconds * 1000 - row.duration_ms) < 500,
      `${row.rel_path} plays in full (${seconds}s)`,
    );
  }

  const second = await spawnHub({ dataDir: first.dataDir, env: { HEARTH_DEMO: '1' } });
  try {
    // Each partial segment is finalized (readable up to its last fragment) or discarded (no fragment).
    await waitFor('the partial segments handled', () =>
      partials.every((name) => !existsSync(path.join(staging, name))) ? true : undefined,
    );
    const rows = segmentRows(first.dataDir);
    for (const name of partials) {
      const recovered = rows.find((row) => row.rel_path.endsWith(`/${name}`));
      if (recovered) {
        assert.equal(recovered.location, 'nas');
        const seconds = ffprobeSeconds(path.join(nas, recovered.rel_path));
        assert.ok(
          seconds > 0 && Math.abs(seconds * 1000 - recovered.duration_ms) < 500,
          `${name} recovered: ${seconds}s`,
        );
      }
    }
    // Every file on the NAS has its row and every row its file.
    assert.ok(second.logs.some((line) => line.msg === 'listening'));
  } finally {
    assert.equal(await second.stop(), 0);
  }
  assert.deepEqual(ffmpegPidsWritingInto(staging), [], 'no recorder outlives a clean stop');
  // Compared at rest (a running recorder always has a file a moment ahead of its row):
  // every file on the NAS has its row and every row its file.
  const indexed = new Set(
    segmentRows(first.dataDir)
      .filter((row) => row.location === 'nas')
      .map((row) => row.rel_path),
  );
  const files = new Set(nasFiles(nas));
  assert.deepEqual(
    {
      filesWithoutRows: [...files].filter((file) => !indexed.has(file)),
      rowsWithoutFiles: [...indexed].filter((row) => !files.has(row)),
    },
    { filesWithoutRows: [], rowsWithoutFiles: [] },
    JSON.stringify(
      {
        rows: segmentRows(first.dataDir),
        warnings: [...first.logs, ...second.logs].filter((line) => Number(line.level) >= 40),
      },
      null,
      1,
    ),
  );
  assert.deepEqual(readdirSync(staging), [], 'a clean stop finalizes the segment in progress');
});

test('start-up ends ffmpeg processes a killed hub left writing into staging', async () => {
  const first = await spawnHub({ env: { HEARTH_DEMO: '1' } });
  const staging = path.join(first.dataDir, 'staging');
  await waitFor('recorders running', () => (ffmpegPidsWritingInto(staging).length === 2 ? true : undefined));
  const orphans = ffmpegPidsWritingInto(staging);
  await first.kill('SIGKILL');
  assert.deepEqual(
    ffmpegPidsWritingInto(staging).sort(),
    orphans.sort(),
    'the orphans still run after the hub died',
  );
  const second = await spawnHub({ dataDir: first.dataDir, env: { HEARTH_DEMO: '1' } });
  try {
    await waitFor(
      'orphans gone',
      () =>
        orphans.every(
          (pid) =>
            !existsSync(`/proc/${pid}/cmdline`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'),
        )
          ? true
          : undefined,
      10_000,
    );
  } finally {
    await second.stop();
  }
});
