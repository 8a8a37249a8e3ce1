#!/usr/bin/env node
// CPU of one probeSegment call on a 10-s 640x480 @ 10 fps segment written with the recorder's muxer options:
// the box parse the hub uses (this process only, no child) against ffprobe (its child's CPU plus this
// process's), measured in the same run. Run: npm run build && npm run bench:probe [calls]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { probeSegment } = await import(path.join(root, 'hub/dist/media/index.js'));
const calls = Number(process.argv[2] ?? 50);
const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU of reaped children in ms (utime+stime of waited-for children, proc(5) fields 16 and 17). */
function childrenCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) / ticks) * 1000;
}

async function measure(file, method) {
  for (let i = 0; i < 3; i++) await probeSegment(file, { method }); // warm-up
  const self0 = process.cpuUsage();
  const children0 = childrenCpuMs();
  let last;
  for (let i = 0; i < calls; i++) last = await probeSegment(file, { method });
  const self = process.cpuUsage(self0);
  const selfMs = (self.user + self.system) / 1000 / calls;
  const childrenMs = (childrenCpuMs() - children0) / calls;
  return {
    source: last.source,
    durationMs: last.durationMs,
    cpuMsPerCall: Number((selfMs + childrenMs).toFixed(2)),
  };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-probe-'));
try {
  execFileSync('ffmpeg', [
    ...[
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=640x480:rate=10',
      '-t',
      '10',
    ],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '10', '-keyint_min', '10'],
    ...['-f', 'segment', '-segment_format', 'mp4', '-segment_time', '10', '-reset_timestamps', '1'],
    ...['-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1'],
    path.join(dir, 'seg%d.mp4'),
  ]);
  const file = path.join(dir, 'seg0.mp4');
  const boxes = await measure(file, 'boxes');
  const ffprobe = await measure(file, 'ffprobe');
  console.log(
    JSON.stringify(
      {
        calls,
        boxes,
        ffprobe,
        ffprobeToBoxesRatio: Number((ffprobe.cpuMsPerCall / boxes.cpuMsPerCall).toFixed(1)),
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
