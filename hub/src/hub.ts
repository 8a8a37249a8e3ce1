import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { createLoginLimiter } from './accounts/login-limiter.js';
import { createSessionService } from './accounts/sessions.service.js';
import { createSetupService } from './accounts/setup.service.js';
import { createUserService } from './accounts/users.service.js';
import { createCryService } from './ai/cry/cry.service.js';
import { createDetectionSettings } from './ai/detections/detection-settings.js';
import { createDetectionRepo } from './ai/detections/detections.repo.js';
import { createDetectionService, type DetectionService } from './ai/detections/detections.service.js';
import { createPictureAnalyser } from './ai/inference/analyse.js';
import { createInferencePool } from './ai/inference/pool.js';
import { registerRoutineJobs } from './ai/routine/routine.jobs.js';
import { createRoutineService } from './ai/routine/routine.service.js';
import { createAdoptionService } from './ble/adoption.service.js';
import { createBleManager } from './ble/ble-manager.js';
import { createBleControl } from './ble/camera-control.js';
import { hubUrlsForCameras } from './ble/hub-urls.js';
import { createWifiCredentials } from './ble/wifi-credentials.js';
import { createCameraService } from './cameras/cameras.service.js';
import { createMjpegSources } from './cameras/mjpeg-sources.js';
import { createAckLinks, noticeFor, personalNotice } from './care/alert-links.js';
import { createCareService } from './care/care.service.js';
import { createHistory } from './care/history.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config/schema.js';
import { readOrCreateSecret } from './config/secret-file.js';
import { registerDatabaseBackups } from './db/backup-schedule.js';
import { closeDatabase, databasePath, openDatabase } from './db/client.js';
import { createDeviceService } from './devices/devices.service.js';
import { EventBus } from './events/bus.js';
import { createStreamRegistry } from './events/events.routes.js';
import { createSystemEvents } from './events/system-events.service.js';
import { createExportService } from './exports/exports.service.js';
import { FIRMWARE_UPLOAD_PATH } from './firmware/firmware.routes.js';
import { createFirmwareService } from './firmware/firmware.service.js';
import { loadSigningKey } from './firmware/signing.js';
import { createAccess } from './http/access.js';
import { buildApi } from './http/api.js';
import { createHttpApp } from './http/app.js';
import { buildOpenApi } from './http/openapi.js';
import { createLoopRegistry } from './jobs/loops.js';
import { createJobQueue } from './jobs/queue.js';
import { createH264LiveSources } from './live/h264-live.js';
import { createViewerRegistry } from './live/live.routes.js';
import { createPictureCache } from './live/picture-cache.js';
import { createPictureRepo } from './live/pictures.repo.js';
import { createPictureService } from './live/pictures.service.js';
import type { Logger } from './log/logger.js';
import { createMetrics } from './metrics/metrics.js';
import { metricsRoutes } from './metrics/metrics.routes.js';
import { createNodeSegments } from './nodes/node-segments.js';
import { createNodeService } from './nodes/nodes.service.js';
import { createNotifyService } from './notify/notify.service.js';
import { createDemoPhotoCamera } from './photos/demo-camera.js';
import { createDeviceSettings } from './photos/device-settings.js';
import { createGallery } from './photos/gallery.js';
import { sweepPhotoLeftovers } from './photos/leftovers.js';
import { createPhotoFiles } from './photos/photo-files.js';
import { incomingDir } from './photos/photos.routes.js';
import { createPhotoService } from './photos/photos.service.js';
import { registerPhotoProcessing } from './photos/processing.js';
import { createPlaybackService } from './playback/playback.service.js';
import { createRecordingService } from './recording/recording.service.js';
import { reconcileRoot } from './recording/reindex.js';
import { createSegmentRepo } from './recording/segments.repo.js';
import { createRetentionService } from './retention/retention.service.js';
import { createSettingsService } from './settings/settings.service.js';
import { createFsWorker, createNasGuard, createSpool, createTransfer } from './storage/index.js';
import { HUB_VERSION } from './system/version.js';
import { type HttpsServer, listenHttps } from './tls/https-server.js';
import { withHttpsRedirect } from './tls/redirect.js';
import { redirectEnabled } from './tls/tls.routes.js';
import { createTlsService } from './tls/tls.service.js';

const HOUR = 3600_000;

/**
 * Builds the whole hub in one ordered list: data folder, database, event bus, services, jobs and
 * loops, HTTP. Nothing starts until `start()`; `stop()` undoes it in reverse.
 */
export function createHub(options: { config: Config; log: Logger; clock?: Clock }) {
  const { config, log } = options;
  const clock = options.clock ?? systemClock;
  const startedAt = Date.now();

  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const db = openDatabase(databasePath(config.dataDir));
  const bus = new EventBus(clock, config.events.replayBuffer);
  const systemEvents = createSystemEvents({ db, clock, bus });
  const users = createUserService({ db, clock, passwordMinLength: config.auth.passwordMinLength });
  const sessions = createSessionService({
    db,
    clock,
    maxAgeMs: config.auth.sessionMaxAgeHours * HOUR,
    idleMs: config.auth.sessionIdleHours * HOUR,
  });
  const setup = createSetupService({ db, clock, users });
  const limiter = createLoginLimiter(config.auth);
  const settings = createSettingsService({ db, clock });
  const ackLinks = createAckLinks(
    readOrCreateSecret(config.secretsDir, 'ack-links.key', () => randomBytes(32)),
  );
  const notify = createNotifyService({
    db,
    clock,
    bus,
    systemEvents,
    log: log.child({ part: 'notify' }),
    personalize: (channel, notice) => personalNotice(ackLinks, clock.now(), channel, notice),
    secretsDir: config.secretsDir,
  });
  const devices = createDeviceService({ db, clock, bus, systemEvents });
  const queue = createJobQueue({
    db,
    clock,
    log: log.child({ part: 'jobs' }),
    config: config.jobs,
    systemEvents,
    bus,
  });
  const loops = createLoopRegistry({ log: log.child({ part: 'loops' }) });
  const streams = createStreamRegistry();

  // The laptop demo's NAS is a plain folder; an appliance's mount point is never created by the hub.
  if (config.demo) mkdirSync(config.nasDir, { recursive: true });
  const cameras = createCameraService({
    db,
    clock,
    bus,
    systemEvents,
    demoSegmentSeconds: config.recording.demoSegmentSeconds,
  });
  const mjpeg = createMjpegSources(log.child({ part: 'mjpeg' }));
  const viewers = createViewerRegistry();
  // One ffmpeg per watched H.264 camera; an edited camera's stream ends so its viewers reconnect to the new one.
  const live = createH264LiveSources({ log: log.child({ part: 'live' }) });
  cameras.onChange((id) => void live.cameraChanged(id));
  const segments = createSegmentRepo(db);
  const photoFiles = createPhotoFiles(db);
  const nasFs = createFsWorker({ timeoutMs: config.storage.nasTimeoutMs });
  const guard = createNasGuard({
    root: config.nasDir,
    fs: nasFs,
    requireMountPoint: config.storage.requireNasMount ?? true,
    createMarker: config.demo,
    intervalMs: config.storage.nasCheckSeconds * 1000,
  });
  const spool = createSpool({
    dir: config.storage.spoolDir,
    quotaBytes: config.storage.spoolQuotaBytes,
    onDrop: (dropped) => {
      for (const file of dropped) {
        segments.removeByRelPath(file.relPath);
        photoFiles.dropped(file.relPath);
      }
      systemEvents.record({
        kind: 'spool.dropped',
        severity: 'error',
        subject: 'spool',
        message: `The NAS is still down and the local spool is full: ${dropped.length} oldest recording(s) were deleted to keep recording.`,
        details: {
          count: dropped.length,
          bytes: dropped.reduce((sum, file) => sum + file.bytes, 0),
          files: dropped.map((file) => file.relPath),
        },
      });
    },
  });
  const transfer = createTransfer({ nasRoot: config.nasDir, fs: nasFs, guard, spool });
  const recording = createRecordingService({
    cameras,
    segments,
    storage: {
      nasRoot: config.nasDir,
      fs: nasFs,
      spoolRoot: config.storage.spoolDir,
      guard,
      spool,
      transfer,
    },
    mjpeg,
    config: { ...config.recording, stagingDir: config.storage.stagingDir },
    clock,
    log: log.child({ part: 'recording' }),
    systemEvents,
    bus,
    onSpoolMoved: (moved) => photoFiles.moved(moved.spooledAs, moved.relPath),
  });
  const seededDemo = config.demo && cameras.seedDemoCameras();
  const pictures = createPictureService({
    repo: createPictureRepo(db),
    openSegment: recording.openSegment,
    thumbnails: createPictureCache({
      dir: path.join(config.dataDir, 'cache', 'thumbs'),
      maxBytes: config.live.thumbnailCacheBytes,
    }),
    snapshots: createPictureCache({
      dir: path.join(config.dataDir, 'cache', 'snapshots'),
      maxBytes: config.live.snapshotCacheBytes,
    }),
    log: log.child({ part: 'pictures' }),
  });
  const clipExports = createExportService({
    db,
    clock,
    bus,
    log: log.child({ part: 'exports' }),
    queue,
    cameraExists: cameras.exists,
    segmentFile: recording.segmentFile,
    timeZone: () => settings.read().timeZone,
    storage: { nasRoot: config.nasDir, fs: nasFs, guard, transfer },
    dataDir: config.dataDir,
    config: config.exports,
  });
  const retention = createRetentionService({
    db,
    clock,
    fs: nasFs,
    guard,
    nasRoot: config.nasDir,
    config: config.retention,
    demo: config.demo,
    systemEvents,
    log: log.child({ part: 'retention' }),
    bus,
    recorders: recording,
  });
  retention.registerCategory(clipExports.storageCategory());
  const deviceSettings = createDeviceSettings({ db, clock, bus });
  /** Where the household reaches the hub (links in outbound notices): HTTPS when it is served. */
  let publicBaseUrl: string | null = null;
  const care = createCareService({
    db,
    clock,
    bus,
    log: log.child({ part: 'care' }),
    timeZone: () => settings.read().timeZone,
    escalateAfterSeconds: config.care.escalateAfterSeconds,
    maxEscalations: config.care.maxEscalations,
    ackLinks,
    deliver: (alert) => {
      const notice = noticeFor(alert, {
        baseUrl: publicBaseUrl,
        ackLink: (id) => ackLinks.make(id, clock.now()),
      });
      if (notice) notify.notify(notice);
    },
    // An injected clock (tests) is moved by hand, and `care.tick()` called after it.
    timers: !options.clock,
  });
  const history = createHistory({
    db,
    clock,
    rawDays: config.care.rawDays,
    rollupDays: config.care.rollupDays,
  });
  loops.register({ name: 'care.rollups', intervalMs: 10_000, run: () => void history.rollup() });
  loops.register({ name: 'care.prune', intervalMs: 3_600_000, run: () => void history.prune() });
  // Per-person routine models (ai/routine): retrained nightly by a job, the day so far scored every few minutes
  // into care, whose "Unusual day" rule turns it into an alert.
  const routine = createRoutineService({
    db,
    clock,
    history,
    care,
    timeZone: () => settings.read().timeZone,
    log: log.child({ part: 'routine' }),
  });
  registerRoutineJobs({ queue, loops, routine });
  // Household-trained cry classifiers (ai/cry): labelled clips stay, unlabelled ones go after 48 h.
  const cry = createCryService({ db, clock, dataDir: config.dataDir, care, log: log.child({ part: 'cry' }) });
  loops.register({
    name: 'cry.clips.expire',
    intervalMs: 10 * 60_000,
    immediate: true,
    run: () => cry.expireClips(),
  });
  // --- ai/: the inference service (worker threads, loaded on the first picture) and camera events.
  const detectionSettings = createDetectionSettings({ db, clock, config: config.ai.detections });
  const detections: DetectionService = createDetectionService({
    db,
    clock,
    bus,
    log: log.child({ part: 'detections' }),
    dataDir: config.dataDir,
    config: config.ai.detections,
    pool: { submit: (job) => inference.submit(job) },
    cameras,
    settings: detectionSettings,
    frameSource: (camera) => {
      // A camera to watch: load the models now, not on the first change (the start of an event).
      void inference.start();
      if (camera.kind === 'esp32' || camera.kind === 'mjpeg') {
        if (!camera.sourceUrl) return null;
        return { kind: 'mjpeg', subscribe: (listener) => mjpeg.forCamera(camera).subscribe(listener) };
      }
      const stream = live.forCamera(camera);
      return stream
        ? { kind: 'h264', subscribe: (listener) => stream.subscribe(listener), init: () => stream.init() }
        : null;
    },
    signal: (cameraId, signal) => care.signal({ cameraId }, signal),
  });
  const inference = createInferencePool({
    config: config.ai.inference,
    models: ['objects', 'face'],
    clock,
    log: log.child({ part: 'inference' }),
    onResult: (result) => {
      if (!photoAnalyser.onResult(result)) detections.onResult(result);
    },
  });
  // The photo job's best shot asks the same workers about faces and subjects, one picture at a time.
  const photoAnalyser = createPictureAnalyser({ pool: inference, clock, streamPrefix: 'photos:' });
  loops.register({ name: 'detections.tick', intervalMs: 2_000, run: () => detections.tick() });
  loops.register({
    name: 'detections.prune',
    intervalMs: HOUR,
    immediate: true,
    run: () => void detections.prune(),
  });
  // A battery camera's photo is a sign of life for the people it watches ("no photo for three wakes").
  bus.subscribe((event) => {
    const data = event.data as { change?: string; photo?: { cameraId: string } };
    if (event.topic === 'photos' && data.change === 'added' && data.photo)
      care.signal({ cameraId: data.photo.cameraId }, { at: clock.now(), kind: 'photo', state: 'received' });
  });
  // A safety net under the service's own deadline timer (a clock step, a missed wake-up).
  if (!options.clock) loops.register({ name: 'care.tick', intervalMs: 5_000, run: () => care.tick() });
  const nodes = createNodeService({
    db,
    clock,
    bus,
    log: log.child({ part: 'nodes' }),
    devices,
    systemEvents,
    heartbeatSeconds: config.nodes.heartbeatSeconds,
    cameras,
    signals: (deviceId, signal) => care.signal({ deviceId }, signal),
    deadman: () => ({ afterSeconds: config.care.deadmanSeconds, channels: notify.deadManChannels() }),
    liveSecret: readOrCreateSecret(config.secretsDir, 'node-live.key', () => randomBytes(32)),
  });
  loops.register({
    name: 'nodes.offline',
    intervalMs: Math.min(5_000, config.nodes.heartbeatSeconds * 1000),
    run: () => nodes.markSilentOffline(),
  });
  loops.register({ name: 'nodes.commands.expire', intervalMs: 5_000, run: () => nodes.expireCommands() });
  const firmware = createFirmwareService({
    db,
    clock,
    bus,
    log: log.child({ part: 'firmware' }),
    dataDir: config.dataDir,
    // Made at first start, so every camera adopted from then on learns the key.
    key: loadSigningKey(config.secretsDir),
  });
  /** A photo's original, wherever it lies: the NAS (through the fs worker) or the spool. */
  const removePhotoFile = async (file: { location: 'nas' | 'spool'; relPath: string }) => {
    if (file.location === 'nas') await nasFs.unlink(path.join(config.nasDir, file.relPath));
    else await spool.remove(file.relPath);
  };
  const photos = createPhotoService({
    db,
    clock,
    bus,
    log: log.child({ part: 'photos' }),
    transfer,
    removePlaced: removePhotoFile,
    config: config.photos,
    deviceSettings,
    firmwareOffer: firmware.offerFor,
    onStored: (ids) => photoProcessing.enqueue(ids),
  });
  const photoProcessing = registerPhotoProcessing({
    db,
    uploadsIdle: () => photos.whenIdle(2000),
    ...(config.ai.inference.enabled ? { analyse: photoAnalyser.analyse } : {}),
    queue,
    bus,
    log: log.child({ part: 'photos' }),
    dataDir: config.dataDir,
    readOriginal: async (photo) => {
      if (photo.location === 'spool') return readFile(path.join(config.storage.spoolDir, photo.relPath));
      const chunks: Buffer[] = [];
      for await (const chunk of nasFs.createReadStream(path.join(config.nasDir, photo.relPath)))
        chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
  });
  const gallery = createGallery({
    db,
    bus,
    dataDir: config.dataDir,
    removeOriginal: removePhotoFile,
  });
  retention.registerCategory(gallery.storageCategory());
  const demoPhotoCamera = createDemoPhotoCamera({
    devices,
    cameras,
    deviceSettings,
    log,
    wakeSeconds: config.photos.demoWakeSeconds,
  });
  if (seededDemo && config.photos.demoCamera) demoPhotoCamera.seed();
  const playback = createPlaybackService({ segments, bus, cameraExists: cameras.exists });
  const ble = createBleManager({ log: log.child({ part: 'ble' }), enabled: config.ble.enabled });
  const wifi = createWifiCredentials({ db, clock, secretsDir: config.secretsDir });
  let listeningPort = config.server.port;
  const adoptions = createAdoptionService({
    db,
    clock,
    bus,
    log: log.child({ part: 'adoption' }),
    ble,
    wifi,
    devices,
    cameras,
    systemEvents,
    hubUrls: () => hubUrlsForCameras(config.ble, listeningPort),
    signingKey: firmware.signingKey,
    timeouts: { contactMs: config.ble.contactSeconds * 1000 },
  });
  loops.register({ name: 'ble.contact', intervalMs: 2000, run: () => adoptions.checkContact() });
  const bleControl = createBleControl({
    db,
    clock,
    bus,
    log: log.child({ part: 'ble' }),
    ble,
    deviceSettings,
    wifi,
    removeDevice: (id) => devices.remove(id),
  });

  const backups = registerDatabaseBackups({
    db,
    queue,
    clock,
    dataDir: config.dataDir,
    config: config.backup,
    nas: { root: config.nasDir, fs: nasFs, guard },
  });
  loops.register({
    name: 'system-events.publish',
    intervalMs: 1000,
    run: () => systemEvents.publishNewRows(),
  });
  loops.register({
    name: 'devices.offline',
    intervalMs: 15_000,
    run: () => devices.markSilentOffline(config.devices.offlineAfterSeconds * 1000),
  });
  loops.register({
    name: 'sessions.purge',
    intervalMs: HOUR,
    immediate: true,
    run: () => sessions.purgeDead(),
  });
  loops.register({
    name: 'housekeeping',
    intervalMs: 6 * HOUR,
    immediate: true,
    run: () => {
      queue.purgeFinishedBefore(clock.now() - config.jobs.keepFinishedDays * 24 * HOUR);
      systemEvents.purgeOlderThan(clock.now() - config.events.keepSystemEventsDays * 24 * HOUR);
    },
  });
  loops.register({
    name: 'db.backup.schedule',
    intervalMs: 10 * 60_000,
    immediate: true,
    run: backups.enqueueIfDue,
  });
  loops.register({ name: 'spool.drain', intervalMs: 30_000, run: () => recording.drainSpool() });
  loops.register({
    name: 'exports.expire',
    intervalMs: 10 * 60_000,
    immediate: true,
    run: () => clipExports.expire(),
  });
  loops.register({
    name: 'retention',
    intervalMs: config.retention.intervalSeconds * 1000,
    run: (signal) => retention.runRetention(signal),
  });
  // Between the regular runs: free space under the floor (or a full NAS) is dealt with at the next
  // probe, and cameras paused for want of space resume as soon as there is room.
  loops.register({
    name: 'retention.pressure',
    intervalMs: config.storage.nasCheckSeconds * 1000,
    run: async (signal) => {
      if (retention.belowFreeFloor() || retention.pausedCameras().length > 0)
        await retention.runRetention(signal);
    },
  });
  loops.register({
    name: 'nas.reconcile',
    intervalMs: 6 * HOUR,
    immediate: true,
    run: async () => {
      // An unmounted NAS looks empty: reconciling against it would drop every row.
      if (!guard.current().healthy) return;
      const report = await reconcileRoot({
        db,
        fs: nasFs,
        segments,
        clock,
        root: config.nasDir,
        location: 'nas',
      });
      if (report.added || report.removed) log.info(report, 'NAS index reconciled');
      const strays = await sweepPhotoLeftovers({
        db,
        fs: nasFs,
        nasRoot: config.nasDir,
        nasHealthy: guard.current().healthy,
        spoolDir: config.storage.spoolDir,
        incomingDir: incomingDir(config.dataDir),
        now: clock.now(),
        startedAt,
      });
      if (strays.removed.length)
        log.info({ removed: strays.removed }, 'removed photo files a crash left without rows');
    },
  });

  // --- HTTPS (tls/): the local CA and the server certificate, checked hourly (names, addresses, expiry).
  const tls = config.https.enabled
    ? createTlsService({
        dataDir: config.dataDir,
        secretsDir: config.secretsDir,
        names: config.https.names,
        log: log.child({ part: 'tls' }),
      })
    : null;
  let https: HttpsServer | undefined;
  if (tls)
    loops.register({ name: 'tls.renew', intervalMs: HOUR, run: () => tls.ensure().then(() => undefined) });
  // --- end HTTPS

  const api = buildApi({
    config,
    users,
    sessions,
    setup,
    limiter,
    devices,
    settings,
    bus,
    systemEvents,
    streams,
    queue,
    loops,
    startedAt,
    cameras,
    segments,
    recording,
    mjpeg,
    viewers,
    live,
    pictures,
    clipExports,
    playback,
    retention,
    photos,
    gallery,
    deviceSettings,
    ble,
    wifi,
    adoptions,
    bleControl,
    firmware,
    nodes,
    https: { tls, port: () => https?.port ?? null, httpPort: () => listeningPort },
    care,
    history,
    detections: createDetectionRepo(db),
    ai: { inference, detections, settings: detectionSettings },
    routine,
    cry,
    notify,
    nodeSegments: createNodeSegments({
      segments,
      cameras,
      guard,
      nasRoot: config.nasDir,
      clock,
      bus,
    }),
    openPhoto: (photo: { location: 'nas' | 'spool'; relPath: string }) => recording.openSegment(photo),
  });
  // --- metrics/: read at scrape time from the services above; served at /metrics.
  const metrics = createMetrics({
    db,
    bus,
    version: HUB_VERSION,
    cameraIds: () => cameras.listForRecording().map((camera) => camera.id),
    recorderState: recording.state,
    nasHealth: guard.current,
    spool,
    notifyStatus: notify.status,
    sseClients: () => streams.size,
    nodeStatuses: nodes.list,
  });
  let openApi: unknown;
  const app = createHttpApp({
    log,
    api,
    uiDir: config.server.uiDir,
    bodyLimitBytes: config.server.bodyLimitBytes,
    streamedBodyPaths: ['/api/device/photos', FIRMWARE_UPLOAD_PATH],
    openApi: () => {
      openApi ??= buildOpenApi(app, { version: HUB_VERSION });
      return openApi;
    },
    metrics: {
      observe: metrics.observeRequest,
      routes: metricsRoutes({
        allow: createAccess({ sessions, devices }).allow,
        metrics,
        allowFrom: config.metrics.allowFrom,
      }),
    },
  });

  let server: ReturnType<typeof serve> | undefined;

  return {
    app,
    db,
    bus,
    clock,
    users,
    sessions,
    setup,
    devices,
    settings,
    systemEvents,
    queue,
    loops,
    cameras,
    segments,
    recording,
    clipExports,
    live,
    retention,
    firmware,
    nodes,
    care,
    history,
    routine,
    cry,
    notify,
    tls,
    /** The HTTPS port once listening; null before, or with `https.enabled` false. */
    httpsPort: (): number | null => https?.port ?? null,

    async start(): Promise<{ url: string; port: number; httpsUrl: string | null; httpsPort: number | null }> {
      // Before the first request: nobody may see an adoption the last run left half-done as still running.
      adoptions.recover();
      // Rule states as the last run left them: pending durations resume, firing alerts are not repeated.
      care.start();
      const address = await new Promise<AddressInfo>((resolve, reject) => {
        // --- HTTPS: plain HTTP redirects browsers' page loads once the household opts in (tls/redirect.ts).
        const httpFetch = tls
          ? withHttpsRedirect(app.fetch, {
              httpsPort: () => https?.port ?? null,
              enabled: () => redirectEnabled(settings, config.https.redirectHttp),
            })
          : app.fetch;
        server = serve({ fetch: httpFetch, port: config.server.port, hostname: config.server.host }, (info) =>
          resolve(info),
        );
        server.once('error', reject);
      });
      // --- HTTPS: certificates made or checked, then the same app on HTTP/2 + HTTP/1.1 over TLS.
      if (tls) {
        await tls.ensure();
        https = await listenHttps({
          fetch: app.fetch,
          port: config.https.port,
          hostname: config.server.host,
          tls,
          log: log.child({ part: 'tls' }),
        });
      }
      // Photos committed just before a crash, whose job was never enqueued.
      photoProcessing.enqueueOrphans();
      queue.start();
      loops.start();
      const shownHost = ['0.0.0.0', '::'].includes(config.server.host) ? '127.0.0.1' : config.server.host;
      const url = `http://${shownHost}:${address.port}`;
      const httpsUrl = https ? `https://${shownHost}:${https.port}` : null;
      publicBaseUrl = https
        ? `https://${os.hostname()}.local:${https.port}`
        : `http://${os.hostname()}.local:${address.port}`;
      log.info(
        {
          url,
          lan: `http://${os.hostname()}.local:${address.port}`,
          ...(https
            ? { httpsUrl, httpsPort: https.port, httpsLan: `https://${os.hostname()}.local:${https.port}` }
            : {}),
          dataDir: config.dataDir,
          nasDir: config.nasDir,
          demo: config.demo,
          version: HUB_VERSION,
          setupNeeded: setup.isNeeded(),
        },
        'listening',
      );
      const setupCode = setup.currentCode();
      if (setupCode)
        log.info(
          { setupCode, url: `${url}/setup` },
          'no owner yet: open the setup page and enter this one-time code',
        );
      guard.start();
      await recording.start();
      detections.start();
      listeningPort = address.port;
      // Finds out in the background whether there is an adapter; nothing waits for it.
      void ble.probe().then((status) => log.info({ ble: status }, 'bluetooth'));
      // Files a crash placed on the NAS before their rows were written get their rows now; then
      // retention finishes deletions a crash interrupted and applies the budget.
      void loops.runNow('nas.reconcile').then(() => loops.runNow('retention'));
      guard.onChange((health) => {
        if (health.reason === 'full') void loops.runNow('retention');
      });
      systemEvents.record({
        kind: 'hub.started',
        severity: 'info',
        message: `Hub ${HUB_VERSION} started.`,
        details: { version: HUB_VERSION },
      });
      if (config.demo && config.photos.demoCamera) demoPhotoCamera.start(url);
      return { url, port: address.port, httpsUrl, httpsPort: https?.port ?? null };
    },

    /** Stop accepting, end live streams, let in-flight requests finish, stop loops and jobs, close the DB. */
    async stop(): Promise<void> {
      await demoPhotoCamera.stop();
      // --- HTTPS: stops accepting and sends HTTP/2 clients away; the live streams end just below.
      const httpsClosed = https?.close(config.server.shutdownGraceMs);
      if (server) {
        const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
        streams.closeAll();
        viewers.closeAll();
        (server as import('node:http').Server).closeIdleConnections?.();
        const grace = new Promise<'timeout'>((resolve) =>
          setTimeout(() => resolve('timeout'), config.server.shutdownGraceMs).unref(),
        );
        if ((await Promise.race([closed, grace])) === 'timeout') {
          log.warn('in-flight requests outlived the shutdown grace period; closing them');
          (server as import('node:http').Server).closeAllConnections?.();
          await closed;
        }
      }
      if ((await httpsClosed) === 'forced')
        log.warn('HTTPS requests outlived the shutdown grace period; they were closed');
      detections.stop();
      photoAnalyser.close();
      await inference.close();
      await live.stopAll();
      await notify.stop();
      metrics.stop();
      care.stop();
      await recording.stop();
      await ble.stop();
      guard.stop();
      await loops.stop();
      await queue.stop();
      await nasFs.close();
      closeDatabase(db);
      log.info('stopped');
    },
  };
}

export type Hub = ReturnType<typeof createHub>;
