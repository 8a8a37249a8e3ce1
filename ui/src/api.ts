import type { AppType } from '@hearth/hub/client';
import { type ClientResponse, hc } from 'hono/client';
import type { ResponseFormat } from 'hono/types';
import type { SuccessStatusCode } from 'hono/utils/http-status';

/**
 * The one typed client of the hub's `/api`. Only this module touches `hc`; pages call the
 * functions below. Every non-2xx response becomes an `ApiError`; a 401 for a missing or
 * expired session also tells the app to show the sign-in page.
 */

export type Role = 'owner' | 'member' | 'viewer';
export type Locale = 'en' | 'ko';
export type DeviceKind = 'camera' | 'node';
export type DeviceStatus = 'new' | 'online' | 'offline';
export type Severity = 'info' | 'warning' | 'error' | 'critical';

export interface User {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  locale: Locale;
  createdAt: string;
}

export interface Device {
  id: number;
  name: string;
  kind: DeviceKind;
  hardwareId: string | null;
  status: DeviceStatus;
  lastSeenAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeviceToken {
  id: number;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface SystemEvent {
  id: number;
  at: string;
  kind: string;
  severity: Severity;
  subject: string | null;
  message: string;
  details: unknown;
}

export interface Settings {
  timeZone: string;
  householdName: string;
}

export type CameraKind = 'demo' | 'rtsp' | 'mjpeg' | 'esp32' | 'node';
export type PowerProfile = 'mains' | 'battery';
/** Who keeps recording longest when the storage is full and only protected footage is left. */
export type CameraPriority = 'low' | 'normal' | 'high';
export type RecorderStateName = 'starting' | 'recording' | 'reconnecting' | 'failed' | 'disabled' | 'paused';

export interface RecorderState {
  state: RecorderStateName;
  lastError: string | null;
  /** Epoch ms. */
  since: number;
  restarts: number;
}

export interface Camera {
  /** Slug; names the camera's NAS folder, fixed at creation. */
  id: string;
  name: string;
  kind: CameraKind;
  /** Any password in it is replaced by `***`; sending it back unchanged keeps the stored one. */
  sourceUrl: string | null;
  deviceId: number | null;
  powerProfile: PowerProfile;
  record: boolean;
  segmentSeconds: number;
  enabled: boolean;
  priority: CameraPriority;
  createdAt: string;
  updatedAt: string;
  recorder: RecorderState | null;
}

export interface CameraInput {
  name: string;
  kind: CameraKind;
  sourceUrl: string | null;
  deviceId: number | null;
  powerProfile: PowerProfile;
  record: boolean;
  segmentSeconds: number;
  enabled: boolean;
  priority: CameraPriority;
}

/** A recorded segment as the recording topic and the day listing carry it (times in epoch ms). */
export interface Segment {
  id: number;
  cameraId: string;
  startAt: number;
  endAt: number;
  durationMs: number;
  location: 'nas' | 'spool' | 'staging';
  clockSuspect: boolean;
  protected: boolean;
  bytes?: number;
  initBytes?: number;
}

export interface TimelineSegment {
  id: number;
  startAt: number;
  endAt: number;
  durationMs: number;
  location: 'nas' | 'spool';
  clockSuspect: boolean;
  protected: boolean;
}

export interface Span {
  from: number;
  to: number;
}

export interface Timeline {
  cameraId: string;
  from: number;
  to: number;
  segments: TimelineSegment[];
  coverage: Span[];
  gaps: Span[];
}

export type LiveSource = { kind: 'mjpeg'; url: string } | { kind: 'mp4'; url: string; codec: string };

export type ExportState = 'queued' | 'running' | 'done' | 'failed';

export interface ClipExport {
  id: number;
  cameraId: string;
  from: number;
  to: number;
  state: ExportState;
  /** 0..1 */
  progress: number;
  bytes: number | null;
  error: string | null;
}

export interface DayLimits {
  maxDays: number;
  minDays: number;
}

/** The storage budget (`GET/PUT /api/retention`). */
export interface RetentionBudget {
  maxBytes: number;
  minFreePercent: number;
  minFreeBytes: number;
  defaults: DayLimits;
  cameras: Record<string, Partial<DayLimits>>;
  categories: Record<string, { maxBytes: number }>;
}

export interface CameraStorage {
  cameraId: string;
  usedBytes: number;
  segments: number;
  protectedBytes: number;
  maxDays: number;
  minDays: number;
  recordingPaused: boolean;
  oldest: number | null;
  dailyBytes: number;
  forecastDays: number | null;
}

export interface StorageStatus {
  nas: NasHealth;
  spool: { usedBytes: number; quotaBytes: number; segments: number };
  limits: RetentionBudget & { minFreeEffectiveBytes: number | null; capacityBytes: number | null };
  categories: { name: string; usedBytes: number; items: number; oldest: number | null; maxBytes: number }[];
  cameras: CameraStorage[];
  lastRun: {
    at: number;
    deleted: number;
    bytes: number;
    brokenMinimums: string[];
    shortfallBytes: number;
  } | null;
}

export interface RetentionDeletion {
  id: number;
  at: number;
  category: string;
  cameraId: string;
  relPath: string;
  startAt: number;
  bytes: number;
  reason: 'max_days' | 'category' | 'global' | 'global_min_broken';
}

export interface NasHealth {
  healthy: boolean;
  reason: string | null;
  detail?: string;
  checkedAt: number;
  freeBytes?: number;
  totalBytes?: number;
}

export type PhotoState = 'queued' | 'processing' | 'completed' | 'failed';
export type WakeReason = 'timer' | 'pir' | 'manual' | 'command';

/** A photo a battery camera uploaded (times in epoch ms). */
export interface Photo {
  id: number;
  cameraId: string;
  burstId: string;
  seq: number;
  capturedAt: number;
  clockSuspect: boolean;
  receivedAt: number;
  wakeReason: WakeReason;
  width: number;
  height: number;
  bytes: number;
  location: 'nas' | 'spool';
  state: PhotoState;
  error: string | null;
  score: number | null;
  best: boolean;
  favorite: boolean;
  batteryMv: number | null;
  rssi: number | null;
}

export type FrameSize = 'QVGA' | 'VGA' | 'SVGA' | 'XGA' | 'HD' | 'SXGA' | 'UXGA';
export const FRAME_SIZES: readonly FrameSize[] = ['QVGA', 'VGA', 'SVGA', 'XGA', 'HD', 'SXGA', 'UXGA'];
export type CommandKind =
  | 'capture_now'
  | 'start_stream'
  | 'stop_stream'
  | 'sleep'
  | 'reboot'
  | 'factory_reset';

export interface CameraSettings {
  frameSize?: FrameSize;
  jpegQuality?: number;
  wakeIntervalSeconds?: number;
  pirEnabled?: boolean;
  burstLength?: number;
}

export interface DeviceCommand {
  id: number;
  kind: CommandKind;
  seconds: number | null;
  createdAt: number;
  /** When an upload reply first carried it; it is resent until acknowledged. */
  firstSentAt: number | null;
  ackedAt: number | null;
  deliveredVia: 'ble' | 'upload' | null;
}

/** `GET /api/devices/:id/camera`: what a battery camera reported and what waits for its next wake. */
export interface CameraDeviceState {
  deviceId: number;
  settings: CameraSettings;
  /** Bumped on every change; the camera reports the version it applied. */
  version: number;
  appliedVersion: number;
  status: {
    batteryMv: number | null;
    rssi: number | null;
    firmware: string | null;
    lastWakeReason: WakeReason | null;
    lastWakeAt: number | null;
    lastSeenAt: string | null;
    /** Adopted over Bluetooth: settings and commands go over GATT at once when it is in range. */
    bluetooth: boolean;
    bleSeenAt: number | null;
  };
  pendingCommands: DeviceCommand[];
  recentCommands: DeviceCommand[];
}

export type BleStatus =
  | { state: 'starting' }
  | { state: 'ready'; adapter: string }
  | { state: 'unavailable'; reason: string };

export interface ScannedCamera {
  address: string;
  name: string;
  rssi: number | null;
  /** Improv state from its advertisement: `authorization_required` means its button must be pressed. */
  improv: string | null;
  hearth: boolean;
}

export type AdoptionState =
  | 'connecting'
  | 'waiting_for_button'
  | 'provisioning'
  | 'enrolling'
  | 'waiting_for_contact'
  | 'adopted'
  | 'failed';

export interface Adoption {
  id: number;
  address: string;
  name: string;
  cameraId: string;
  state: AdoptionState;
  errorCode: string | null;
  error: string | null;
  deviceId: number | null;
  firmware: string | null;
  cameraUrl: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Seconds, from `Retry-After` on 429. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  /** Per-field problems of a 400 `invalid_input`. */
  get issues(): FieldIssue[] {
    const issues = (this.details as { issues?: unknown } | undefined)?.issues;
    if (!Array.isArray(issues)) return [];
    return issues.flatMap((issue: unknown) => {
      if (!issue || typeof issue !== 'object') return [];
      const { path, message } = issue as { path?: unknown; message?: unknown };
      const name = Array.isArray(path) ? path.join('.') : typeof path === 'string' ? path : '';
      return typeof message === 'string' ? [{ path: name, message }] : [];
    });
  }
}

let unauthorizedHandler: () => void = () => {};

/** Called when any request answers 401 `unauthorized` (session missing or expired). */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

async function toApiError(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let details: unknown;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (body?.error) {
      if (typeof body.error.code === 'string') code = body.error.code;
      if (typeof body.error.message === 'string') message = body.error.message;
      details = body.error.details;
    }
  } catch {
    // Not JSON (a proxy's error page, say): keep the status line.
  }
  const retryHeader = Number(res.headers.get('retry-after'));
  const retryAfter = Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader : undefined;
  return new ApiError(res.status, code, message, details, retryAfter);
}

const apiFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  let res: Response;
  try {
    res = await fetch(input, { ...init, credentials: 'same-origin', cache: init?.cache ?? 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'The hub did not answer.');
  }
  if (res.ok) return res;
  const error = await toApiError(res);
  if (res.status === 401 && error.code === 'unauthorized') unauthorizedHandler();
  throw error;
};

const client = hc<AppType>('/api', { fetch: apiFetch });

type Success<R> =
  R extends ClientResponse<infer T, infer S, infer F>
    ? S extends SuccessStatusCode
      ? F extends 'json'
        ? T
        : undefined
      : never
    : never;

/** The body of a successful response (errors were already thrown by `apiFetch`). */
async function data<R extends ClientResponse<unknown, number, ResponseFormat>>(
  request: Promise<R>,
): Promise<Success<R>> {
  const res = await request;
  if (res.status === 204) return undefined as Success<R>;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as Success<R>;
}

const param = (id: number) => ({ id: String(id) });
const cameraParam = (id: string) => ({ id });

/** The hub answered that the route itself does not exist (an older hub), not that a thing is missing. */
export function isMissingEndpoint(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && error.message.startsWith('No such endpoint');
}

/**
 * Endpoints the typed client does not know yet (playback, exports, live sources): plain requests
 * with hand-written answer types, through the same error handling as the typed ones.
 */
async function json<T>(url: string, init?: RequestInit & { json?: unknown }): Promise<T> {
  const { json: body, ...rest } = init ?? {};
  const res = await apiFetch(
    url,
    body === undefined
      ? rest
      : { ...rest, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
  );
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const enc = encodeURIComponent;

/** Addresses the browser loads itself (`<img>`, `<video>`, downloads): no JSON, so no fetch here. */
export const urls = {
  liveMjpeg: (cameraId: string) => `/api/cameras/${enc(cameraId)}/live.mjpeg`,
  segmentFile: (segmentId: number) => `/api/segments/${segmentId}/file`,
  thumbnail: (segmentId: number, width = 320) => `/api/segments/${segmentId}/thumbnail.jpg?w=${width}`,
  playlist: (cameraId: string, from: number, to: number) =>
    `/api/cameras/${enc(cameraId)}/playback.m3u8?from=${Math.floor(from)}&to=${Math.ceil(to)}`,
  exportFile: (exportId: number) => `/api/exports/${exportId}/file`,
  photo: (photoId: number, file: 'thumb' | 'preview' | 'enlarged' | 'original') =>
    `/api/photos/${photoId}/${file}.jpg`,
  cryClipAudio: (subjectId: number, clipId: number) => `/api/subjects/${subjectId}/cry/clips/${clipId}/audio`,
};

export interface NodeHealthItem {
  name: string;
  kind: string;
  healthy: boolean;
  detail?: string;
}

export interface NodeHeartbeat {
  version: string;
  uptimeSeconds: number;
  cpuTemperatureC: number | null;
  load1: number;
  memory: { totalBytes: number; availableBytes: number };
  disks: {
    state: { freeBytes: number; totalBytes: number };
    nas: { freeBytes: number; totalBytes: number } | null;
  };
  clockSynced: boolean | null;
  sensors: NodeHealthItem[];
  cameras: NodeHealthItem[];
  outbox: { pending: number; dropped: number };
}

export interface EdgeNode {
  id: number;
  name: string;
  status: DeviceStatus;
  lastSeenAt: string | null;
  heartbeat: NodeHeartbeat | null;
  /** Epoch ms. */
  heartbeatAt: number | null;
  ackedSeq: number;
}

export type NodeCommandKind = 'rock' | 'stop_rocking' | 'capture_photo' | 'check_in' | 'restart';

export interface NodeCommandView {
  id: number;
  kind: NodeCommandKind;
  args: { seconds?: number; intensity?: number; minutes?: number };
  state: 'queued' | 'delivered' | 'done' | 'failed' | 'expired';
  detail: string | null;
  createdAt: number;
  expiresAt: number;
  deliveredAt: number | null;
  finishedAt: number | null;
}

export interface LatestReading {
  sensor: string;
  kind: string;
  value: number | null;
  state: string | null;
  at: number;
}

export type SubjectKind = 'baby' | 'elder' | 'pet' | 'other';
export type AlertSeverity = 'info' | 'warning' | 'emergency';

/** A person (or pet) watched over. */
export interface Subject {
  id: number;
  name: string;
  kind: SubjectKind;
  notes: string;
  photoId: number | null;
  /** `HH:MM-HH:MM` in the household time zone, or null. */
  quietHours: string | null;
  deviceIds: number[];
  cameraIds: string[];
  followers: number[];
}

export interface CareRule {
  id: number;
  subjectId: number;
  name: string;
  kind: 'threshold' | 'state' | 'absence' | 'check_in';
  readingKind: string;
  params: Record<string, unknown>;
  severity: AlertSeverity;
  dedupSeconds: number;
  enabled: boolean;
  state: 'ok' | 'pending' | 'firing' | 'acknowledged';
}

export interface Incident {
  id: number;
  ruleId: number | null;
  subjectId: number | null;
  subjectName: string | null;
  severity: AlertSeverity;
  title: string;
  silent: boolean;
  firedAt: number;
  evidence: { at: number; kind: string; value?: number | null; state?: string | null }[];
  acknowledgedAt: number | null;
  acknowledgedBy: { id: number; name: string } | null;
  escalations: number;
  resolvedAt: number | null;
  state: 'open' | 'acknowledged' | 'resolved';
}

export interface IncidentLogEntry {
  at: number;
  kind: string;
  userId: number | null;
  userName: string | null;
  detail: Record<string, unknown> | null;
}

export interface HistoryResult {
  step: number;
  source: 'raw' | 'minute' | 'hour';
  points: {
    t: number;
    count: number;
    min: number | null;
    max: number | null;
    mean: number | null;
    last: string | null;
  }[];
}

interface ChannelBase {
  id: string;
  name: string;
  enabled: boolean;
  minSeverity: AlertSeverity;
  /** The member whose phone it reaches: its acknowledge links act as them. Unset: the household's. */
  memberId?: number;
}
/** An outbound alert channel; secrets come back as `***` and are kept when sent back so. */
export type AlertChannel =
  | (ChannelBase & { type: 'webhook'; url: string; secret?: string })
  | (ChannelBase & { type: 'ntfy'; server: string; topic: string; token?: string })
  | (ChannelBase & {
      type: 'mqtt';
      url: string;
      topic: string;
      username?: string;
      password?: string;
      qos: 0 | 1;
    });

export interface AlertChannelStatus {
  id: string;
  lastAttemptAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  consecutiveFailures: number;
  pending: number;
  dropped: number;
  failed: number;
}

export type IncidentFilter = {
  subjectId?: number;
  state?: 'open' | 'acknowledged' | 'resolved' | 'unresolved';
  severity?: AlertSeverity;
  before?: number;
  limit?: number;
};

export type RolloutState = 'offered' | 'downloading' | 'installed' | 'rolled_back' | 'refused';

export interface FirmwareRollout {
  deviceId: number;
  deviceName: string;
  /** What the camera last reported running. */
  firmware: string | null;
  state: RolloutState;
  detail: string | null;
  fromVersion: string | null;
  updatedAt: number;
}

export interface FirmwareImage {
  id: number;
  version: string;
  size: number;
  sha256: string;
  fileName: string;
  notes: string;
  createdAt: number;
  rollouts: FirmwareRollout[];
}

export interface DeviceFirmwareUpdate {
  version: string;
  state: RolloutState;
  detail: string | null;
  fromVersion: string | null;
  updatedAt: number;
}

export type DetectionLabel = 'person' | 'pet' | 'vehicle';
export const DETECTION_LABELS: readonly DetectionLabel[] = ['person', 'pet', 'vehicle'];

/** Something a camera's detector saw for a while (`GET /api/detections`); `endAt` null while it lasts. */
export interface DetectionEvent {
  id: number;
  cameraId: string;
  label: DetectionLabel;
  startAt: number;
  endAt: number | null;
  /** Best detector score over the event, 0..1. */
  score: number;
  hits: number;
  zone: string | null;
  snapshotUrl: string | null;
}

export interface DetectionFilter {
  cameraId?: string;
  label?: DetectionLabel;
  day?: string;
  before?: number;
  limit?: number;
}

/** An area of a camera's picture in fractions of its width and height; rect is [x, y, w, h]. */
export type MaskShape = { rect: [number, number, number, number] } | { polygon: [number, number][] };

/** `GET /api/cameras/:id/detection`: what the camera's detection runs with, every default filled in. */
export interface CameraDetectionSettings {
  enabled: boolean;
  /** Areas the motion gate ignores (a tree, a road, a TV). */
  mask: MaskShape[];
  /** Only detections centred in one count; none: the whole picture. */
  zones: { name: string; shape: MaskShape }[];
  minScore: Record<DetectionLabel, number>;
}

export interface CameraDetection {
  cameraId: string;
  /** Saved in the app, from the configuration file, or the hub's defaults. */
  source: 'stored' | 'config' | 'default';
  updatedAt: number | null;
  settings: CameraDetectionSettings;
  /** False when camera events are off for the whole hub. */
  hubEnabled: boolean;
}

/** `GET /api/ai/health`: the inference service as it runs now. */
export interface AiHealth {
  backend: 'wasm' | 'cpu' | 'tensorflow' | null;
  workers: number;
  models: {
    name: string;
    version: string;
    loaded: boolean;
    inferences: number;
    msMean: number | null;
    msP95: number | null;
    errors: number;
  }[];
  cameras: {
    cameraId: string;
    sampled: number;
    gated: number;
    detected: number;
    dropped: number;
    lastFrameAt: number | null;
  }[];
}

export type CryLabel = 'crying' | 'not_crying';

/** A short audio snippet of a person, kept for labelling (epoch ms). */
export interface CryClip {
  id: number;
  subjectId: number;
  deviceId: number | null;
  recordedAt: number;
  durationMs: number;
  /** What the detector in use said when it was kept (0–1). */
  probability: number | null;
  label: CryLabel | null;
  labelledAt: number | null;
  /** When an unlabelled clip is deleted; null once labelled. */
  expiresAt: number | null;
}

/** A cry model's confusion figures on one set of clips; ratios are null when undefined (nothing to divide). */
export interface CryFigures {
  threshold: number;
  positives: number;
  negatives: number;
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
  precision: number | null;
  recall: number | null;
  accuracy: number | null;
}

export interface CryVersion {
  version: number;
  active: boolean;
  kind: string;
  trainedAt: number;
  clips: number;
  positives: number;
  negatives: number;
  metrics: { heldOut: CryFigures; training: CryFigures };
  trainMs: number;
  note: string | null;
}

export interface CryModels {
  active: number | null;
  versions: CryVersion[];
  /** Labelled clips a training would use, and the fewest of each label it needs. */
  labelled: { crying: number; notCrying: number; needed: number };
}

export interface RoutineVersion {
  version: number;
  active: boolean;
  trainedAt: number;
  windowFrom: number;
  windowTo: number;
  daysUsed: number;
  streams: number;
  /** Training days the model itself calls unusual. */
  flaggedDays: number;
  trainMs: number;
  /** False: too little to score with; `note` says why. */
  ready: boolean;
  note: string | null;
}

export type RoutineCheck =
  | { ready: false; reason: string }
  | {
      ready: true;
      version: number;
      at: number;
      score: number;
      state: 'anomaly' | 'normal';
      reasons: string[];
    };

export interface RoutineStatus {
  active: RoutineVersion | null;
  versions: RoutineVersion[];
  now: RoutineCheck;
}

export const api = {
  health: (): Promise<{ status: string; version: string; setupNeeded: boolean }> =>
    data(client.health.$get()),

  setupStatus: (): Promise<{ needed: boolean }> => data(client.setup.$get()),
  setup: (json: {
    code: string;
    username: string;
    password: string;
    locale?: Locale;
  }): Promise<{ user: User }> => data(client.setup.$post({ json })),

  login: (json: { username: string; password: string }): Promise<{ user: User }> =>
    data(client.auth.login.$post({ json })),
  logout: async (): Promise<void> => {
    await client.auth.logout.$post();
  },
  me: (): Promise<{ user: User }> => data(client.auth.me.$get()),
  updateMe: (json: { locale?: Locale; displayName?: string }): Promise<{ user: User }> =>
    data(client.auth.me.$patch({ json })),
  changePassword: async (json: { currentPassword: string; newPassword: string }): Promise<void> => {
    await client.auth.password.$post({ json });
  },

  listUsers: (): Promise<{ users: User[] }> => data(client.users.$get()),
  createUser: (json: {
    username: string;
    password: string;
    role: Role;
    displayName?: string;
  }): Promise<{ user: User }> => data(client.users.$post({ json })),
  updateUser: (id: number, json: { role?: Role; displayName?: string }): Promise<{ user: User }> =>
    data(client.users[':id'].$patch({ param: param(id), json })),
  resetPassword: async (id: number, password: string): Promise<void> => {
    await client.users[':id'].password.$post({ param: param(id), json: { password } });
  },
  deleteUser: async (id: number): Promise<void> => {
    await client.users[':id'].$delete({ param: param(id) });
  },

  listDevices: (): Promise<{ devices: Device[] }> => data(client.devices.$get()),
  createDevice: (json: {
    name: string;
    kind: DeviceKind;
    hardwareId?: string;
  }): Promise<{ device: Device; token: string }> => data(client.devices.$post({ json })),
  deleteDevice: async (id: number): Promise<void> => {
    await client.devices[':id'].$delete({ param: param(id) });
  },
  listTokens: (id: number): Promise<{ tokens: DeviceToken[] }> =>
    data(client.devices[':id'].tokens.$get({ param: param(id) })),
  createToken: (id: number): Promise<{ token: string; info: DeviceToken }> =>
    data(client.devices[':id'].tokens.$post({ param: param(id) })),
  revokeToken: (id: number, tokenId: number): Promise<{ token: DeviceToken }> =>
    data(
      client.devices[':id'].tokens[':tokenId'].$delete({
        param: { id: String(id), tokenId: String(tokenId) },
      }),
    ),

  listSystemEvents: (query: {
    before?: number;
    limit?: number;
    minSeverity?: Severity;
  }): Promise<{ events: SystemEvent[] }> => {
    const q: { before?: string; limit?: string; minSeverity?: Severity } = {};
    if (query.before !== undefined) q.before = String(query.before);
    if (query.limit !== undefined) q.limit = String(query.limit);
    if (query.minSeverity) q.minSeverity = query.minSeverity;
    return data(client['system-events'].$get({ query: q }));
  },

  storageStatus: async (): Promise<StorageStatus> =>
    (await data(client.storage.$get())) as unknown as StorageStatus,
  retention: async (): Promise<RetentionBudget> =>
    (await data(client.retention.$get())) as unknown as RetentionBudget,
  saveRetention: async (json: RetentionBudget): Promise<RetentionBudget> =>
    (await data(client.retention.$put({ json }))) as unknown as RetentionBudget,
  retentionDeletions: async (limit = 50): Promise<{ deletions: RetentionDeletion[] }> =>
    (await data(client.retention.deletions.$get({ query: { limit: String(limit) } }))) as unknown as {
      deletions: RetentionDeletion[];
    },

  listCameras: async (): Promise<{ cameras: Camera[] }> =>
    (await data(client.cameras.$get())) as unknown as { cameras: Camera[] },
  getCamera: async (id: string): Promise<{ camera: Camera }> =>
    (await data(client.cameras[':id'].$get({ param: cameraParam(id) }))) as unknown as { camera: Camera },
  createCamera: async (json: CameraInput & { id: string }): Promise<{ camera: Camera }> =>
    (await data(client.cameras.$post({ json }))) as unknown as { camera: Camera },
  updateCamera: async (id: string, json: Partial<CameraInput>): Promise<{ camera: Camera }> =>
    (await data(client.cameras[':id'].$patch({ param: cameraParam(id), json }))) as unknown as {
      camera: Camera;
    },
  /** 409 `conflict` when the camera has footage: disable it instead. */
  deleteCamera: async (id: string): Promise<void> => {
    await client.cameras[':id'].$delete({ param: cameraParam(id) });
  },
  /**
   * The newest picture of a camera, revalidated with the hub (ETag) rather than refetched blindly;
   * `tag` tells whether it is the picture shown already.
   */
  snapshot: async (
    cameraId: string,
    signal?: AbortSignal,
  ): Promise<{ tag: string | null; blob: () => Promise<Blob> }> => {
    const res = await apiFetch(`/api/cameras/${enc(cameraId)}/snapshot.jpg`, {
      cache: 'no-cache',
      signal: signal ?? null,
    });
    return { tag: res.headers.get('etag'), blob: () => res.blob() };
  },
  segmentThumbnail: async (segmentId: number, signal?: AbortSignal): Promise<Blob> =>
    (await apiFetch(urls.thumbnail(segmentId), { cache: 'default', signal: signal ?? null })).blob(),
  /** A long binary response (the live fMP4 stream), with the same error handling as JSON calls. */
  openStream: (url: string, signal: AbortSignal): Promise<Response> => apiFetch(url, { signal }),
  /** How to watch a camera live now; 409 when it cannot be (battery, disabled, node). */
  liveSource: (cameraId: string): Promise<LiveSource> => json(`/api/cameras/${enc(cameraId)}/live`),
  daySegments: async (cameraId: string, day: string): Promise<{ segments: Segment[] }> =>
    (await data(
      client.cameras[':id'].segments.$get({ param: cameraParam(cameraId), query: { day } }),
    )) as unknown as { segments: Segment[] },
  timeline: (cameraId: string, from: number, to: number): Promise<Timeline> =>
    json(`/api/cameras/${enc(cameraId)}/timeline?from=${Math.floor(from)}&to=${Math.ceil(to)}`),
  protectSegment: (segmentId: number, value: boolean): Promise<{ segment: TimelineSegment }> =>
    json(`/api/segments/${segmentId}`, { method: 'PATCH', json: { protected: value } }),

  listExports: (): Promise<{ exports: ClipExport[] }> => json('/api/exports'),
  getExport: (id: number): Promise<{ export: ClipExport }> => json(`/api/exports/${id}`),
  createExport: (body: { cameraId: string; from: number; to: number }): Promise<{ export: ClipExport }> =>
    json('/api/exports', { method: 'POST', json: body }),
  deleteExport: async (id: number): Promise<void> => {
    await json(`/api/exports/${id}`, { method: 'DELETE' });
  },

  detections: (filter: DetectionFilter = {}): Promise<{ events: DetectionEvent[] }> => {
    const query = new URLSearchParams(
      Object.entries(filter)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => [key, String(value)]),
    ).toString();
    return json(`/api/detections${query ? `?${query}` : ''}`);
  },
  deleteDetection: async (id: number): Promise<void> => {
    await json(`/api/detections/${id}`, { method: 'DELETE' });
  },
  aiHealth: (): Promise<AiHealth> => json('/api/ai/health'),
  cameraDetection: (cameraId: string): Promise<CameraDetection> =>
    json(`/api/cameras/${enc(cameraId)}/detection`),
  saveCameraDetection: (cameraId: string, settings: CameraDetectionSettings): Promise<CameraDetection> =>
    json(`/api/cameras/${enc(cameraId)}/detection`, { method: 'PUT', json: settings }),
  /** Forgets the settings saved in the app; answers what runs now (the configuration file's or the defaults). */
  resetCameraDetection: (cameraId: string): Promise<CameraDetection> =>
    json(`/api/cameras/${enc(cameraId)}/detection`, { method: 'DELETE' }),

  dayPhotos: (cameraId: string, day: string): Promise<{ photos: Photo[] }> =>
    json(`/api/cameras/${enc(cameraId)}/photos?day=${day}`),
  setFavorite: (photoId: number, favorite: boolean): Promise<{ photo: Photo }> =>
    json(`/api/photos/${photoId}`, { method: 'PATCH', json: { favorite } }),
  deletePhoto: async (photoId: number): Promise<void> => {
    await json(`/api/photos/${photoId}`, { method: 'DELETE' });
  },
  cameraDevice: (deviceId: number): Promise<CameraDeviceState> => json(`/api/devices/${deviceId}/camera`),
  updateCameraDevice: (deviceId: number, change: CameraSettings): Promise<CameraDeviceState> =>
    json(`/api/devices/${deviceId}/camera`, { method: 'PATCH', json: change }),
  queueCommand: (
    deviceId: number,
    kind: CommandKind,
    seconds?: number,
  ): Promise<{ command: DeviceCommand }> =>
    json(`/api/devices/${deviceId}/commands`, {
      method: 'POST',
      json: seconds === undefined ? { kind } : { kind, seconds },
    }),

  firmware: (): Promise<{ signingKey: string; images: FirmwareImage[] }> => json('/api/firmware'),
  /** multipart: `image` (firmware.bin), optional `version` and `notes`. */
  uploadFirmware: (form: FormData): Promise<{ image: Omit<FirmwareImage, 'rollouts'> }> =>
    json('/api/firmware', { method: 'POST', body: form }),
  withdrawFirmware: async (imageId: number): Promise<void> => {
    await json(`/api/firmware/${imageId}`, { method: 'DELETE' });
  },
  deviceFirmware: (deviceId: number): Promise<{ update: DeviceFirmwareUpdate | null }> =>
    json(`/api/devices/${deviceId}/firmware`),

  listNodes: (): Promise<{ nodes: EdgeNode[] }> => json('/api/nodes'),
  node: (id: number): Promise<{ node: EdgeNode; commands: NodeCommandView[]; latest: LatestReading[] }> =>
    json(`/api/nodes/${id}`),
  nodeCode: (name: string): Promise<{ code: string; expiresAt: number }> =>
    json('/api/nodes/codes', { method: 'POST', json: { name } }),
  nodeCommand: (
    id: number,
    body: { kind: NodeCommandKind; seconds?: number; intensity?: number; minutes?: number },
  ): Promise<{ command: NodeCommandView }> =>
    json(`/api/nodes/${id}/commands`, { method: 'POST', json: body }),

  subjects: (): Promise<{ subjects: Subject[] }> => json('/api/subjects'),
  subject: (id: number): Promise<{ subject: Subject; rules: CareRule[] }> => json(`/api/subjects/${id}`),
  addSubject: (body: {
    name: string;
    kind: SubjectKind;
    deviceIds?: number[];
    cameraIds?: string[];
    quietHours?: string | null;
  }): Promise<{ subject: Subject }> => json('/api/subjects', { method: 'POST', json: body }),
  updateSubject: (
    id: number,
    body: Partial<Omit<Subject, 'id' | 'followers'>>,
  ): Promise<{ subject: Subject }> => json(`/api/subjects/${id}`, { method: 'PATCH', json: body }),
  followSubject: (id: number, following: boolean): Promise<{ subject: Subject }> =>
    json(`/api/subjects/${id}/follow`, { method: 'PUT', json: { following } }),
  /** The whole rule again, with the changes (PUT replaces it). */
  saveRule: (rule: CareRule): Promise<{ rule: CareRule }> =>
    json(`/api/rules/${rule.id}`, {
      method: 'PUT',
      json: {
        name: rule.name,
        kind: rule.kind,
        readingKind: rule.readingKind,
        params: rule.params,
        severity: rule.severity,
        dedupSeconds: rule.dedupSeconds,
        enabled: rule.enabled,
      },
    }),
  history: (
    subjectId: number,
    query: { kind: string; from: number; to: number; maxPoints?: number },
  ): Promise<HistoryResult> =>
    json(
      `/api/subjects/${subjectId}/history?kind=${encodeURIComponent(query.kind)}&from=${query.from}&to=${query.to}&maxPoints=${query.maxPoints ?? 500}`,
    ),
  cryClips: (subjectId: number): Promise<{ clips: CryClip[] }> =>
    json(`/api/subjects/${subjectId}/cry/clips`),
  labelCryClip: (subjectId: number, clipId: number, label: CryLabel | null): Promise<{ clip: CryClip }> =>
    json(`/api/subjects/${subjectId}/cry/clips/${clipId}/label`, { method: 'PUT', json: { label } }),
  deleteCryClip: async (subjectId: number, clipId: number): Promise<void> => {
    await json(`/api/subjects/${subjectId}/cry/clips/${clipId}`, { method: 'DELETE' });
  },
  cryModels: (subjectId: number): Promise<CryModels> => json(`/api/subjects/${subjectId}/cry/models`),
  /** 409 `not_enough_clips` (details `{crying, notCrying, needed}`) or `busy`. */
  trainCryModel: (subjectId: number): Promise<{ version: CryVersion }> =>
    json(`/api/subjects/${subjectId}/cry/models`, { method: 'POST', json: {} }),
  activateCryModel: (subjectId: number, version: number): Promise<{ version: CryVersion }> =>
    json(`/api/subjects/${subjectId}/cry/models/${version}/activate`, { method: 'POST', json: {} }),
  /** `active` null: back to the default detector. */
  rollbackCryModel: (subjectId: number): Promise<{ active: CryVersion | null }> =>
    json(`/api/subjects/${subjectId}/cry/models/rollback`, { method: 'POST', json: {} }),
  routine: (subjectId: number): Promise<RoutineStatus> => json(`/api/subjects/${subjectId}/routine`),
  trainRoutine: (subjectId: number): Promise<{ version: RoutineVersion }> =>
    json(`/api/subjects/${subjectId}/routine/train`, { method: 'POST', json: {} }),
  activateRoutine: (subjectId: number, version: number): Promise<{ version: RoutineVersion }> =>
    json(`/api/subjects/${subjectId}/routine/versions/${version}/activate`, { method: 'POST', json: {} }),
  rollbackRoutine: (subjectId: number): Promise<{ version: RoutineVersion }> =>
    json(`/api/subjects/${subjectId}/routine/rollback`, { method: 'POST', json: {} }),
  incidents: (filter: IncidentFilter = {}): Promise<{ incidents: Incident[] }> => {
    const query = new URLSearchParams(
      Object.entries(filter)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => [key, String(value)]),
    ).toString();
    return json(`/api/incidents${query ? `?${query}` : ''}`);
  },
  notifyChannels: (): Promise<{ channels: AlertChannel[]; status: AlertChannelStatus[] }> =>
    json('/api/notify/channels'),
  saveNotifyChannels: (
    channels: AlertChannel[],
  ): Promise<{ channels: AlertChannel[]; status: AlertChannelStatus[] }> =>
    json('/api/notify/channels', { method: 'PUT', json: { channels } }),
  testNotifyChannel: (id: string): Promise<{ ok: boolean; error?: string }> =>
    json(`/api/notify/channels/${encodeURIComponent(id)}/test`, { method: 'POST', json: {} }),
  incident: (id: number): Promise<{ incident: Incident; log: IncidentLogEntry[] }> =>
    json(`/api/incidents/${id}`),
  acknowledge: (id: number): Promise<{ incident: Incident }> =>
    json(`/api/incidents/${id}/acknowledge`, { method: 'POST', json: {} }),
  addIncidentNote: (id: number, text: string): Promise<{ incident: Incident; log: IncidentLogEntry[] }> =>
    json(`/api/incidents/${id}/notes`, { method: 'POST', json: { text } }),

  bleStatus: (): Promise<{ status: BleStatus }> => json('/api/ble'),
  bleWifi: (): Promise<{ ssid: string | null; passwordSet: boolean }> => json('/api/ble/wifi'),
  saveBleWifi: (body: {
    ssid: string;
    password: string;
  }): Promise<{ ssid: string | null; passwordSet: boolean }> =>
    json('/api/ble/wifi', { method: 'PUT', json: body }),
  bleScan: (seconds = 4): Promise<{ cameras: ScannedCamera[] }> =>
    json('/api/ble/scan', { method: 'POST', json: { seconds } }),
  adoptCamera: (body: { address: string; name: string }): Promise<{ adoption: Adoption }> =>
    json('/api/ble/adoptions', { method: 'POST', json: body }),
  adoption: (id: number): Promise<{ adoption: Adoption }> => json(`/api/ble/adoptions/${id}`),
  reprovisionWifi: (deviceId: number): Promise<{ provisioned: boolean; cameraUrl: string | null }> =>
    json(`/api/ble/devices/${deviceId}/wifi`, { method: 'POST', json: {} }),
  factoryReset: (deviceId: number): Promise<{ reset: boolean }> =>
    json(`/api/ble/devices/${deviceId}/factory-reset`, { method: 'POST', json: {} }),

  getSettings: (): Promise<{ settings: Settings }> => data(client.settings.$get()),
  updateSettings: (json: Partial<Settings>): Promise<{ settings: Settings }> =>
    data(client.settings.$patch({ json })),
};
