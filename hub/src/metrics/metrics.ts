import { and, count, isNull } from 'drizzle-orm';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ALERT_SEVERITIES, incidents } from '../care/care.schema.js';
import type { Db } from '../db/client.js';
import { DEVICE_STATUSES } from '../devices/devices.schema.js';
import type { EventBus } from '../events/bus.js';
import { JOB_STATUSES, jobs } from '../jobs/jobs.schema.js';
import type { ChannelStatus } from '../notify/dispatcher.js';
import { SEGMENT_LOCATIONS } from '../recording/recording.schema.js';
import type { RecorderState, RecorderStateName } from '../recording/supervisor.js';
import type { NasHealth } from '../storage/nas-guard.js';

const RECORDER_STATES: RecorderStateName[] = [
  'starting',
  'recording',
  'reconnecting',
  'failed',
  'disabled',
  'paused',
];

/** Methods outside this list share one label value, so a client cannot mint new series with made-up verbs. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * What the collectors read at scrape time. Each is a read of state a feature keeps anyway, so nothing is
 * counted twice and a metric cannot drift from what the UI and the API show.
 */
export interface MetricsSources {
  db: Db;
  bus: EventBus;
  version: string;
  cameraIds: () => string[];
  recorderState: (cameraId: string) => RecorderState | null;
  nasHealth: () => NasHealth;
  spool: { usedBytes: () => Promise<number>; quotaBytes: number };
  notifyStatus: () => ChannelStatus[];
  sseClients: () => number;
  nodeStatuses: () => { status: string }[];
}

/**
 * The hub's Prometheus registry. Its own `Registry` (never prom-client's global one), so several hubs in
 * one test process keep separate numbers. Almost every value is computed at scrape time from the
 * services; only request latencies and indexed segments are counted as they happen.
 */
export function createMetrics(sources: MetricsSources) {
  const { db } = sources;
  const registry = new Registry();
  // Event-loop lag, RSS, heap, GC, handles, file descriptors: prom-client's standard process metrics.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  new Gauge({
    name: 'hearth_hub_info',
    help: 'Always 1; the version label says which hub answers.',
    labelNames: ['version'],
    registers,
  }).set({ version: sources.version }, 1);

  const httpDuration = new Histogram({
    name: 'hearth_http_request_duration_seconds',
    help: 'Time to the response headers, by method, matched route pattern and status class (2xx, 4xx…).',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  new Gauge({
    name: 'hearth_recorder_state',
    help: 'Each camera recorder: 1 for its current state, 0 for the others.',
    labelNames: ['camera', 'state'],
    registers,
    collect() {
      this.reset();
      for (const camera of sources.cameraIds()) {
        const current = sources.recorderState(camera)?.state;
        if (!current) continue;
        for (const state of RECORDER_STATES) this.set({ camera, state }, state === current ? 1 : 0);
      }
    },
  });

  new Counter({
    name: 'hearth_recorder_restarts_total',
    help: "Restarts of each camera's ffmpeg recorder (starts again from 0 when the camera's recorder is rebuilt).",
    labelNames: ['camera'],
    registers,
    collect() {
      this.reset();
      for (const camera of sources.cameraIds()) {
        const state = sources.recorderState(camera);
        if (state) this.inc({ camera }, state.restarts);
      }
    },
  });

  const indexed = new Counter({
    name: 'hearth_segments_indexed_total',
    help: 'Segments added to the index since the hub started (recorded here or reported by edge nodes).',
    labelNames: ['camera'],
    registers,
  });
  const unsubscribe = sources.bus.subscribe((event) => {
    const data = event.data as { change?: string; segment?: { cameraId: string } };
    if (event.topic === 'recording' && data.change === 'segment' && data.segment)
      indexed.inc({ camera: data.segment.cameraId });
  });

  // From `segment_totals`, which triggers keep (migration 0006): counting a million-row index at every
  // scrape would hold the event loop for a noticeable fraction of a second.
  const totals = db.$client.prepare(
    'select location, sum(n) as n, sum(bytes) as bytes from segment_totals group by location',
  );
  const segmentTotals = () => {
    const rows = totals.all() as { location: string; n: number; bytes: number }[];
    return SEGMENT_LOCATIONS.map((location) => {
      const row = rows.find((each) => each.location === location);
      return { location, n: row?.n ?? 0, bytes: row?.bytes ?? 0 };
    });
  };
  new Gauge({
    name: 'hearth_segments',
    help: 'Rows in the segment index, by where the file lies (nas, spool, staging).',
    labelNames: ['location'],
    registers,
    collect() {
      for (const { location, n } of segmentTotals()) this.set({ location }, n);
    },
  });
  new Gauge({
    name: 'hearth_segment_bytes',
    help: 'Bytes of the indexed segments, by where the file lies.',
    labelNames: ['location'],
    registers,
    collect() {
      for (const { location, bytes } of segmentTotals()) this.set({ location }, bytes);
    },
  });

  new Gauge({
    name: 'hearth_spool_bytes',
    help: 'Bytes of recordings and photos waiting in the local spool for the NAS.',
    registers,
    async collect() {
      this.set(await sources.spool.usedBytes());
    },
  });
  new Gauge({
    name: 'hearth_spool_quota_bytes',
    help: 'The spool quota; past it the oldest spooled files are dropped.',
    registers,
  }).set(sources.spool.quotaBytes);

  new Gauge({
    name: 'hearth_nas_healthy',
    help: '1 when the NAS is mounted, marked and passed its last write probe; 0 otherwise.',
    registers,
    collect() {
      this.set(sources.nasHealth().healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hearth_nas_free_bytes',
    help: 'Free bytes on the NAS filesystem at its last check (absent until a check could read them).',
    registers,
    collect() {
      this.reset();
      const { freeBytes } = sources.nasHealth();
      if (freeBytes !== undefined) this.set(freeBytes);
    },
  });
  new Gauge({
    name: 'hearth_nas_total_bytes',
    help: 'Size of the NAS filesystem at its last check (absent until a check could read it).',
    registers,
    collect() {
      this.reset();
      const { totalBytes } = sources.nasHealth();
      if (totalBytes !== undefined) this.set(totalBytes);
    },
  });

  new Gauge({
    name: 'hearth_jobs',
    help: 'Rows of the job queue by status (succeeded ones are purged after jobs.keepFinishedDays).',
    labelNames: ['status'],
    registers,
    collect() {
      const rows = db.select({ status: jobs.status, n: count() }).from(jobs).groupBy(jobs.status).all();
      for (const status of JOB_STATUSES)
        this.set({ status }, rows.find((row) => row.status === status)?.n ?? 0);
    },
  });

  new Counter({
    name: 'hearth_incidents_total',
    help: 'Care incidents ever fired, by severity.',
    labelNames: ['severity'],
    registers,
    collect() {
      this.reset();
      const rows = db
        .select({ severity: incidents.severity, n: count() })
        .from(incidents)
        .groupBy(incidents.severity)
        .all();
      for (const severity of ALERT_SEVERITIES)
        this.inc({ severity }, rows.find((row) => row.severity === severity)?.n ?? 0);
    },
  });
  new Gauge({
    name: 'hearth_incidents_open',
    help: 'Care incidents neither acknowledged nor resolved, by severity.',
    labelNames: ['severity'],
    registers,
    collect() {
      const rows = db
        .select({ severity: incidents.severity, n: count() })
        .from(incidents)
        .where(and(isNull(incidents.acknowledgedAt), isNull(incidents.resolvedAt)))
        .groupBy(incidents.severity)
        .all();
      for (const severity of ALERT_SEVERITIES)
        this.set({ severity }, rows.find((row) => row.severity === severity)?.n ?? 0);
    },
  });

  // The notifier keeps these per channel in memory; each metric reads them afresh (a few array entries).
  const perChannel = (
    metric: Counter<'channel'> | Gauge<'channel'>,
    field: 'failed' | 'dropped' | 'consecutiveFailures' | 'pending',
  ) => {
    metric.reset();
    for (const status of sources.notifyStatus()) {
      if (metric instanceof Counter) metric.inc({ channel: status.id }, status[field]);
      else metric.set({ channel: status.id }, status[field]);
    }
  };
  new Counter({
    name: 'hearth_notify_failed_total',
    help: 'Alert notices a channel gave up on (refused, or out of retry time) since the hub started.',
    labelNames: ['channel'],
    registers,
    collect() {
      perChannel(this, 'failed');
    },
  });
  new Counter({
    name: 'hearth_notify_dropped_total',
    help: "Alert notices dropped because a channel's queue was full, since the hub started.",
    labelNames: ['channel'],
    registers,
    collect() {
      perChannel(this, 'dropped');
    },
  });
  new Gauge({
    name: 'hearth_notify_consecutive_failures',
    help: "Failed delivery attempts since the channel's last success (0 when it works).",
    labelNames: ['channel'],
    registers,
    collect() {
      perChannel(this, 'consecutiveFailures');
    },
  });
  new Gauge({
    name: 'hearth_notify_pending',
    help: 'Alert notices waiting or being delivered, per channel.',
    labelNames: ['channel'],
    registers,
    collect() {
      perChannel(this, 'pending');
    },
  });

  new Gauge({
    name: 'hearth_sse_clients',
    help: 'Open live-update streams (one per open browser tab).',
    registers,
    collect() {
      this.set(sources.sseClients());
    },
  });

  new Gauge({
    name: 'hearth_nodes',
    help: 'Edge nodes by status (online: a heartbeat within three intervals).',
    labelNames: ['status'],
    registers,
    collect() {
      const statuses = sources.nodeStatuses().map((node) => node.status);
      for (const status of DEVICE_STATUSES)
        this.set({ status }, statuses.filter((each) => each === status).length);
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    /** One answered request; `route` is the router's pattern (`/api/cameras/:id`), never the raw path. */
    observeRequest(method: string, route: string, status: number, seconds: number): void {
      httpDuration.observe(
        {
          method: METHODS.has(method) ? method : 'OTHER',
          route,
          status: `${Math.floor(status / 100)}xx`,
        },
        seconds,
      );
    },
    scrape: (): Promise<string> => registry.metrics(),
    stop(): void {
      unsubscribe();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
