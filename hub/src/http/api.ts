import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import { authRoutes } from '../accounts/auth.routes.js';
import type { LoginLimiter } from '../accounts/login-limiter.js';
import type { SessionService } from '../accounts/sessions.service.js';
import type { SetupService } from '../accounts/setup.service.js';
import { userRoutes } from '../accounts/users.routes.js';
import type { UserService } from '../accounts/users.service.js';
import { aiRoutes } from '../ai/ai.routes.js';
import { cryRoutes, deviceCryRoutes } from '../ai/cry/cry.routes.js';
import type { CryService } from '../ai/cry/cry.service.js';
import type { DetectionSettings } from '../ai/detections/detection-settings.js';
import { detectionSettingsRoutes } from '../ai/detections/detection-settings.routes.js';
import type { DetectionRepo } from '../ai/detections/detections.repo.js';
import { detectionRoutes } from '../ai/detections/detections.routes.js';
import type { DetectionService } from '../ai/detections/detections.service.js';
import type { InferencePool } from '../ai/inference/pool.js';
import { routineRoutes } from '../ai/routine/routine.routes.js';
import type { RoutineService } from '../ai/routine/routine.service.js';
import type { AdoptionService } from '../ble/adoption.service.js';
import { bleRoutes } from '../ble/ble.routes.js';
import type { BleManager } from '../ble/ble-manager.js';
import type { BleControl } from '../ble/camera-control.js';
import type { WifiCredentials } from '../ble/wifi-credentials.js';
import { cameraRoutes } from '../cameras/cameras.routes.js';
import type { CameraService } from '../cameras/cameras.service.js';
import type { MjpegSources } from '../cameras/mjpeg-sources.js';
import { incidentRoutes, ruleRoutes, subjectRoutes } from '../care/care.routes.js';
import type { CareService } from '../care/care.service.js';
import type { HistoryService } from '../care/history.js';
import type { Config } from '../config/schema.js';
import { deviceRoutes, deviceSelfRoutes } from '../devices/devices.routes.js';
import type { DeviceService } from '../devices/devices.service.js';
import type { EventBus } from '../events/bus.js';
import { eventRoutes, type StreamRegistry } from '../events/events.routes.js';
import type { SystemEventService } from '../events/system-events.service.js';
import { exportRoutes } from '../exports/exports.routes.js';
import type { ExportService } from '../exports/exports.service.js';
import { deviceFirmwareRoutes, firmwareRoutes } from '../firmware/firmware.routes.js';
import type { FirmwareService } from '../firmware/firmware.service.js';
import { jobRoutes } from '../jobs/jobs.routes.js';
import type { LoopRegistry } from '../jobs/loops.js';
import type { JobQueue } from '../jobs/queue.js';
import type { H264LiveSources } from '../live/h264-live.js';
import { liveRoutes, type ViewerRegistry } from '../live/live.routes.js';
import type { PictureService } from '../live/pictures.service.js';
import { thumbnailRoutes } from '../live/thumbnails.routes.js';
import type { NodeSegments } from '../nodes/node-segments.js';
import { deviceNodeRoutes, nodeRoutes } from '../nodes/nodes.routes.js';
import type { NodeService } from '../nodes/nodes.service.js';
import { notifyRoutes } from '../notify/notify.routes.js';
import type { NotifyService } from '../notify/notify.service.js';
import type { DeviceSettings } from '../photos/device-settings.js';
import type { Gallery } from '../photos/gallery.js';
import { devicePhotoRoutes, photoRoutes } from '../photos/photos.routes.js';
import type { PhotoService } from '../photos/photos.service.js';
import { derivedPath } from '../photos/processing.js';
import { playbackRoutes } from '../playback/playback.routes.js';
import type { PlaybackService } from '../playback/playback.service.js';
import type { ServableFile } from '../recording/file-response.js';
import { recordingRoutes } from '../recording/recording.routes.js';
import type { RecordingService } from '../recording/recording.service.js';
import type { SegmentRepo } from '../recording/segments.repo.js';
import { retentionRoutes } from '../retention/retention.routes.js';
import type { RetentionService } from '../retention/retention.service.js';
import { settingsRoutes } from '../settings/settings.routes.js';
import type { SettingsService } from '../settings/settings.service.js';
import { systemRoutes } from '../system/system.routes.js';
import { tlsRoutes } from '../tls/tls.routes.js';
import type { TlsService } from '../tls/tls.service.js';
import { createAccess } from './access.js';
import type { AppEnv } from './env.js';

export interface ApiDeps {
  config: Config;
  users: UserService;
  sessions: SessionService;
  setup: SetupService;
  limiter: LoginLimiter;
  devices: DeviceService;
  settings: SettingsService;
  bus: EventBus;
  systemEvents: SystemEventService;
  streams: StreamRegistry;
  queue: JobQueue;
  loops: LoopRegistry;
  startedAt: number;
  cameras: CameraService;
  segments: SegmentRepo;
  recording: RecordingService;
  mjpeg: MjpegSources;
  viewers: ViewerRegistry;
  live: H264LiveSources;
  pictures: PictureService;
  clipExports: ExportService;
  retention: RetentionService;
  photos: PhotoService;
  gallery: Gallery;
  deviceSettings: DeviceSettings;
  openPhoto: (photo: { location: 'nas' | 'spool'; relPath: string }) => Promise<ServableFile>;
  playback: PlaybackService;
  ble: BleManager;
  wifi: WifiCredentials;
  adoptions: AdoptionService;
  bleControl: BleControl;
  firmware: FirmwareService;
  nodes: NodeService;
  nodeSegments: NodeSegments;
  /** HTTPS (tls/): null service when `https.enabled` is false; the port once it listens. */
  https: { tls: TlsService | null; port: () => number | null; httpPort: () => number };
  notify: NotifyService;
  care: CareService;
  history: HistoryService;
  detections: DetectionRepo;
  ai: { inference: InferencePool; detections: DetectionService; settings: DetectionSettings };
  routine: RoutineService;
  cry: CryService;
}

/** Every `/api` route, by feature. Chained so the UI's and the node's typed client see each route. */
export function buildApi(deps: ApiDeps) {
  const { allow } = createAccess(deps);
  return new Hono<AppEnv>()
    .route(
      '/',
      systemRoutes({
        allow,
        queue: deps.queue,
        isSetupNeeded: deps.setup.isNeeded,
        startedAt: deps.startedAt,
      }),
    )
    .route('/', authRoutes({ allow, ...deps, config: deps.config.auth }))
    .route('/users', userRoutes({ allow, users: deps.users }))
    .route('/devices', deviceRoutes({ allow, devices: deps.devices }))
    .route('/device', deviceSelfRoutes({ allow, devices: deps.devices }))
    .route(
      '/device',
      devicePhotoRoutes({
        allow,
        photos: deps.photos,
        dataDir: deps.config.dataDir,
        maxUploadBytes: deps.config.photos.maxUploadBytes,
        maxPhotosPerUpload: deps.config.photos.maxPhotosPerUpload,
      }),
    )
    .route('/device', deviceFirmwareRoutes({ allow, firmware: deps.firmware }))
    .route('/device', deviceNodeRoutes({ allow, nodes: deps.nodes, nodeSegments: deps.nodeSegments }))
    .route('/device', deviceCryRoutes({ allow, cry: deps.cry }))
    .route('/nodes', nodeRoutes({ allow, nodes: deps.nodes }))
    .route('/notify', notifyRoutes({ allow, notify: deps.notify }))
    .route('/subjects', subjectRoutes({ allow, care: deps.care, history: deps.history }))
    .route('/subjects', routineRoutes({ allow, routine: deps.routine }))
    .route('/subjects', cryRoutes({ allow, cry: deps.cry }))
    .route('/rules', ruleRoutes({ allow, care: deps.care }))
    .route('/incidents', incidentRoutes({ allow, care: deps.care }))
    .route('/', firmwareRoutes({ allow, firmware: deps.firmware }))
    .route('/settings', settingsRoutes({ allow, settings: deps.settings }))
    .route(
      '/tls',
      tlsRoutes({
        allow,
        tls: deps.https.tls,
        httpsPort: deps.https.port,
        httpPort: deps.https.httpPort,
        settings: deps.settings,
        redirectByDefault: deps.config.https.redirectHttp,
      }),
    )
    .route('/', eventRoutes({ allow, ...deps, config: deps.config.events }))
    .route('/', jobRoutes({ allow, queue: deps.queue, loops: deps.loops }))
    .route(
      '/cameras',
      cameraRoutes({
        allow,
        cameras: deps.cameras,
        recorderState: deps.recording.state,
        sourceStatus: deps.recording.sourceStatus,
      }),
    )
    .route(
      '/cameras',
      liveRoutes({
        allow,
        camera: deps.cameras.getForRecording,
        mjpeg: deps.mjpeg,
        live: deps.live,
        pictures: deps.pictures,
        viewers: deps.viewers,
        maxViewersPerCamera: deps.config.live.maxViewersPerCamera,
        newestPhoto: (cameraId) => {
          const photo = deps.gallery.newestProcessed(cameraId);
          if (!photo) return null;
          return {
            id: photo.id,
            capturedAt: photo.capturedAt,
            read: () => readFile(derivedPath(deps.config.dataDir, photo.id, 'preview')),
          };
        },
      }),
    )
    .route('/', thumbnailRoutes({ allow, segments: deps.segments, pictures: deps.pictures }))
    .route(
      '/',
      recordingRoutes({
        allow,
        segments: deps.segments,
        settings: deps.settings,
        cameraExists: deps.cameras.exists,
        openSegment: deps.recording.openSegment,
      }),
    )
    .route(
      '/',
      retentionRoutes({ allow, retention: deps.retention, spoolStatus: deps.recording.storageStatus }),
    )
    .route('/exports', exportRoutes({ allow, exports: deps.clipExports }))
    .route(
      '/',
      photoRoutes({
        allow,
        gallery: deps.gallery,
        deviceSettings: deps.deviceSettings,
        settings: deps.settings,
        cameraExists: deps.cameras.exists,
        dataDir: deps.config.dataDir,
        openOriginal: deps.openPhoto,
        onDeviceWork: (deviceId) => {
          void deps.bleControl.sync(deviceId).catch(() => undefined);
        },
      }),
    )
    .route('/', playbackRoutes({ allow, playback: deps.playback }))
    .route('/ai', aiRoutes({ allow, inference: deps.ai.inference, detections: deps.ai.detections }))
    .route(
      '/',
      detectionSettingsRoutes({ allow, settings: deps.ai.settings, camera: deps.cameras.getForRecording }),
    )
    .route(
      '/detections',
      detectionRoutes({
        allow,
        detections: deps.detections,
        settings: deps.settings,
        bus: deps.bus,
        dataDir: deps.config.dataDir,
      }),
    )
    .route(
      '/ble',
      bleRoutes({
        allow,
        ble: deps.ble,
        wifi: deps.wifi,
        adoptions: deps.adoptions,
        control: deps.bleControl,
      }),
    );
}

export type AppType = ReturnType<typeof buildApi>;
