import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPlaylist, CLOCK_SUSPECT_LINE } from './playlist.js';
import { coverageOf, gapsIn, type Span } from './timeline.js';

const s = (from: number, to: number): Span => ({ from, to });

test('coverage merges seams up to 1500 ms, keeps longer holes as gaps, and clips to the range', () => {
  const spans = [s(0, 10_000), s(11_500, 20_000), s(21_501, 30_000), s(40_000, 50_000)];
  const coverage = coverageOf(spans, 5000, 45_000);
  assert.deepEqual(coverage, [s(5000, 20_000), s(21_501, 30_000), s(40_000, 45_000)]);
  assert.deepEqual(gapsIn(coverage, 5000, 45_000), [s(20_000, 21_501), s(30_000, 40_000)]);
});

test('overlapping and unsorted spans (a clock that jumped back) merge into one', () => {
  const coverage = coverageOf([s(20_000, 30_000), s(0, 25_000), s(5000, 6000)], 0, 30_000);
  assert.deepEqual(coverage, [s(0, 30_000)]);
  assert.deepEqual(gapsIn(coverage, 0, 30_000), []);
});

test('an empty range is one gap; coverage and gaps tile the range exactly', () => {
  assert.deepEqual(coverageOf([], 0, 1000), []);
  assert.deepEqual(gapsIn([], 0, 1000), [s(0, 1000)]);
  const spans = [s(100, 200), s(1000, 1800), s(1900, 2500), s(5000, 9000)];
  for (const [from, to] of [
    [0, 10_000],
    [150, 1950],
    [2500, 5000],
    [8000, 8001],
  ] as const) {
    const coverage = coverageOf(spans, from, to);
    const tiles = [...coverage, ...gapsIn(coverage, from, to)].sort((a, b) => a.from - b.from);
    assert.equal(tiles[0]?.from, from);
    assert.equal(tiles.at(-1)?.to, to);
    for (let i = 1; i < tiles.length; i++) assert.equal(tiles[i]!.from, tiles[i - 1]!.to, `${from}-${to}`);
  }
});

test('a seam just outside the range still joins: a range cut from a wider one agrees with it', () => {
  // Footage [0,10s) and [11s,20s): the range [10.5s, 15s) starts inside the seam, which is not a gap.
  const spans = [s(0, 10_000), s(11_000, 20_000)];
  assert.deepEqual(coverageOf(spans, 10_500, 15_000), [s(10_500, 15_000)]);
  assert.deepEqual(coverageOf(spans, 0, 20_000), [s(0, 20_000)]);
});

test('the playlist text, line by line', () => {
  const text = buildPlaylist([
    {
      id: 7,
      startAt: Date.UTC(2026, 2, 1, 12),
      durationMs: 10_007,
      bytes: 50_000,
      initBytes: 812,
      clockSuspect: false,
    },
    {
      id: 9,
      startAt: Date.UTC(2026, 2, 1, 12, 0, 10),
      durationMs: 9400,
      bytes: 40_000,
      initBytes: 800,
      clockSuspect: true,
    },
  ]);
  assert.equal(
    text,
    [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-TARGETDURATION:11',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-PROGRAM-DATE-TIME:2026-03-01T12:00:00.000Z',
      '#EXT-X-MAP:URI="/api/segments/7/file",BYTERANGE="812@0"',
      '#EXTINF:10.007,',
      '#EXT-X-BYTERANGE:49188@812',
      '/api/segments/7/file',
      '#EXT-X-DISCONTINUITY',
      CLOCK_SUSPECT_LINE,
      '#EXT-X-PROGRAM-DATE-TIME:2026-03-01T12:00:10.000Z',
      '#EXT-X-MAP:URI="/api/segments/9/file",BYTERANGE="800@0"',
      '#EXTINF:9.400,',
      '#EXT-X-BYTERANGE:39200@800',
      '/api/segments/9/file',
      '#EXT-X-ENDLIST',
      '',
    ].join('\n'),
  );
  assert.throws(() => buildPlaylist([]));
});
