import path from 'node:path';
import type { CameraService } from '../cameras/cameras.service.js';
import type { Clock } from '../clock.js';
import type { EventBus } from '../events/bus.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '../http/errors.js';
import { MediaError, probeSegment } from '../media/index.js';
import { parseRelPath } from '../recording/segment-names.js';
import { type SegmentRepo, segmentFromProbe } from '../recording/segments.repo.js';
import type { NasGuard } from '../storage/index.js';

/**
 * A node records its own cameras onto the NAS it mounts, in the hub's layout; the hub cannot see NFS writes
 * from other machines, so the node reports each segment it placed. The hub trusts nothing in the report but
 * the path: it checks the camera is this node's, reads the file from its own view of the NAS (ffprobe and
 * the MP4 boxes, as for its own recordings) and indexes it. Reconciliation stays the safety net.
 */
export function createNodeSegments(deps: {
  segments: SegmentRepo;
  cameras: CameraService;
  guard: NasGuard;
  nasRoot: string;
  clock: Clock;
  bus: EventBus;
}) {
  return {
    async report(deviceId: number, relPath: string) {
      const name = parseRelPath(relPath);
      if (!name)
        throw badRequest('relPath must be videos/<camera>/<YYYY-MM-DD>/<camera>_<YYYYMMDD_HHMMSS>.mp4');
      if (!deps.cameras.exists(name.cameraId)) throw notFound('Camera');
      const camera = deps.cameras.get(name.cameraId);
      if (camera.kind !== 'node') throw conflict(`Camera "${camera.id}" is not a node camera.`);
      if (camera.deviceId !== deviceId) throw forbidden(`Camera "${camera.id}" belongs to another node.`);
      const health = deps.guard.current();
      if (!health.healthy)
        throw new AppError(
          503,
          'nas_down',
          `The hub cannot reach the NAS (${health.reason}); report it again later.`,
        );
      let probe: Awaited<ReturnType<typeof probeSegment>>;
      try {
        probe = await probeSegment(path.join(deps.nasRoot, relPath), { timeoutMs: 15_000 });
      } catch (error) {
        if (error instanceof MediaError && error.code === 'not_found')
          throw notFound('Segment file on the NAS');
        throw new AppError(
          422,
          'invalid_segment',
          `The hub cannot read ${relPath} as a segment: ${(error as Error).message}`,
        );
      }
      const before = deps.segments.byRelPath(relPath);
      const row = deps.segments.insert(
        segmentFromProbe(name, probe, { location: 'nas', relPath }, deps.clock.now()),
      );
      if (!before) deps.bus.publish('recording', { change: 'segment', segment: row, reportedBy: deviceId });
      return { segment: row, created: !before };
    },
  };
}

export type NodeSegments = ReturnType<typeof createNodeSegments>;
