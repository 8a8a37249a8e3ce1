import { useEffect, useRef } from 'preact/hooks';
import type {
  Adoption,
  ClipExport,
  DetectionEvent,
  Device,
  DeviceStatus,
  Incident,
  NasHealth,
  Photo,
  PhotoState,
  RecorderState,
  Segment,
  SystemEvent,
} from './api';
import { createStore } from './store';

/**
 * The tab's one live connection to the hub. `startLive()` opens a single EventSource for every
 * topic after sign-in; pages subscribe to topics here and never open their own stream.
 *
 * The browser reconnects by itself (the hub sends `retry:` and replays from `Last-Event-ID`);
 * the hub sends `resync` when it cannot replay, and pages then reload what they show. If the
 * browser gives up (the stream answered an error status), we reopen it after a pause, resuming
 * from the last id we saw (`lastEventId` query). A reconnect with no id to resume from cannot be
 * replayed by the hub, so we announce `resync` ourselves then.
 */

export type DeviceChange =
  | { change: 'added'; device: Device }
  | { change: 'removed'; id: number }
  | { change: 'status'; id: number; status: DeviceStatus; device?: Device; batteryMv?: number; rssi?: number }
  /** A camera device's settings changed, or a command was queued for it. */
  | { change: 'settings'; id: number; version: number }
  | { change: 'command'; id: number; command: unknown };

export interface CameraChange {
  change: 'added' | 'updated' | 'removed';
  id: string;
}

export type RecordingChange =
  | ({ change: 'recorder'; cameraId: string } & RecorderState)
  | { change: 'segment'; segment: Segment }
  /** A segment's flags changed (protected, by someone in any tab). */
  | { change: 'segment-updated'; segment: Segment }
  | { change: 'nas'; health: NasHealth };

/** After each retention run, and when recording pauses or resumes for want of space. */
export type StorageChange =
  | { change: 'retention'; report: { at: number; deleted: number; bytes: number } }
  | { change: 'paused' | 'resumed'; cameraId: string };

/** Export progress; the hub may send it on `exports` or on `jobs` (see `exportFrom`). */
export interface ExportChange {
  change: 'export';
  export: ClipExport;
}

/** Photos arriving, processed, marked best or favourite, or deleted. */
export type PhotoChange =
  | { change: 'added'; photo: Photo }
  | { change: 'updated'; id: number; state?: PhotoState; favorite?: boolean; error?: string | null }
  | { change: 'best'; id: number; burstId: string }
  | { change: 'removed'; id: number };

/** An "Add camera" over Bluetooth moved to its next step. */
export interface BleChange {
  change: 'adoption';
  adoption: Adoption;
}

export type FirmwareChange =
  | { change: 'added'; image: unknown }
  | { change: 'removed'; id: number }
  | { change: 'rollout'; deviceId: number; imageId: number; state: string };

export type NodeChange =
  | { change: 'heartbeat'; id: number; at: number }
  | { change: 'readings'; id: number; stored: number; ackedSeq: number }
  | { change: 'command'; id: number; command: unknown };

/** An incident fired, escalated, was acknowledged or resolved (docs/protocols.md, "Care: alerts"). */
export type AlertChange =
  | {
      change: 'fired' | 'escalated' | 'acknowledged' | 'resolved' | 'repeated' | 'note';
      incident: Incident;
      /** Who should be told (the subject's followers, or everyone). */
      audience: { everyone: boolean; userIds: number[] };
      loudness: 'silent' | 'normal' | 'loud';
    }
  | { change: 'subjects' };

/** The detector opened an event, improved or closed it; or someone deleted it. */
export interface DetectionChange {
  change: 'opened' | 'updated' | 'closed' | 'deleted';
  event: DetectionEvent;
}

export interface LiveTopics {
  system: SystemEvent;
  devices: DeviceChange;
  jobs: unknown;
  cameras: CameraChange;
  recording: RecordingChange;
  exports: unknown;
  storage: StorageChange;
  photos: PhotoChange;
  ble: BleChange;
  firmware: FirmwareChange;
  nodes: NodeChange;
  alerts: AlertChange;
  notify: { change: 'channels' | 'status' };
  detections: DetectionChange;
  hello: unknown;
  resync: unknown;
}
export type LiveTopic = keyof LiveTopics;

/**
 * No `topics=` filter: the hub then sends every topic it has. Naming one it does not know yet
 * (`exports`, say, before that feature lands) would make it refuse the whole stream; topics the
 * app does not listen to cost next to nothing and are ignored by the EventSource.
 */
const STREAM_URL = '/api/events/stream';
/** Every topic, checked against `LiveTopics` so a new one cannot be left unheard. */
const NAMES = Object.keys({
  hello: true,
  resync: true,
  system: true,
  devices: true,
  jobs: true,
  cameras: true,
  recording: true,
  exports: true,
  storage: true,
  photos: true,
  ble: true,
  firmware: true,
  nodes: true,
  alerts: true,
  notify: true,
  detections: true,
} satisfies Record<LiveTopic, true>) as LiveTopic[];

/** The export in a `jobs` or `exports` message, if it carries one. */
export function exportFrom(data: unknown): ClipExport | null {
  if (!data || typeof data !== 'object') return null;
  const message = data as { change?: unknown; export?: unknown };
  if (message.change !== 'export' || !message.export || typeof message.export !== 'object') return null;
  const value = message.export as Partial<ClipExport>;
  return typeof value.id === 'number' && typeof value.state === 'string' ? (value as ClipExport) : null;
}

export type LiveStatus = 'off' | 'connecting' | 'open';
export const liveStatus = createStore<LiveStatus>('off');

const handlers = new Map<LiveTopic, Set<(data: never) => void>>();
let source: EventSource | null = null;
let reopenTimer: ReturnType<typeof setTimeout> | undefined;
let reopenDelay = 1000;
let connectedBefore = false;
let lastEventId = '';
let closedHandler: () => void = () => {};

function dispatch<K extends LiveTopic>(topic: K, data: LiveTopics[K]): void {
  for (const handler of [...(handlers.get(topic) ?? [])]) {
    try {
      (handler as (data: LiveTopics[K]) => void)(data);
    } catch (error) {
      console.error(`live ${topic} handler failed`, error);
    }
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function open(): void {
  liveStatus.set('connecting');
  const es = new EventSource(
    lastEventId ? `${STREAM_URL}?lastEventId=${encodeURIComponent(lastEventId)}` : STREAM_URL,
  );
  source = es;
  for (const name of NAMES) {
    es.addEventListener(name, (event) => {
      const message = event as MessageEvent<string>;
      if (message.lastEventId) lastEventId = message.lastEventId;
      dispatch(name, parse(message.data) as never);
      if (name === 'hello') {
        if (connectedBefore && !lastEventId) dispatch('resync', null);
        connectedBefore = true;
      }
    });
  }
  es.onopen = () => {
    reopenDelay = 1000;
    liveStatus.set('open');
  };
  es.onerror = () => {
    if (source !== es) return;
    if (es.readyState !== EventSource.CLOSED) {
      liveStatus.set('connecting');
      return;
    }
    // The browser gave up: maybe the session ended (let the app check), maybe the hub restarted.
    source = null;
    liveStatus.set('connecting');
    closedHandler();
    reopenTimer = setTimeout(() => {
      reopenTimer = undefined;
      if (liveStatus.get() === 'off') return;
      open();
    }, reopenDelay);
    reopenDelay = Math.min(reopenDelay * 2, 30_000);
  };
}

/** Opens the stream unless it is already open (idempotent: one stream per tab). */
export function startLive(): void {
  if (source || reopenTimer !== undefined) return;
  reopenDelay = 1000;
  connectedBefore = false;
  lastEventId = '';
  open();
}

export function stopLive(): void {
  if (reopenTimer !== undefined) clearTimeout(reopenTimer);
  reopenTimer = undefined;
  source?.close();
  source = null;
  liveStatus.set('off');
}

/** Called when the browser closed the stream for good, before we try again. */
export function onLiveClosed(handler: () => void): void {
  closedHandler = handler;
}

export function subscribe<K extends LiveTopic>(topic: K, handler: (data: LiveTopics[K]) => void): () => void {
  let set = handlers.get(topic);
  if (!set) {
    set = new Set();
    handlers.set(topic, set);
  }
  set.add(handler as (data: never) => void);
  return () => {
    set.delete(handler as (data: never) => void);
  };
}

/** Subscribes a component to a topic for as long as it is mounted. */
export function useLive<K extends LiveTopic>(topic: K, handler: (data: LiveTopics[K]) => void): void {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => subscribe(topic, (data) => latest.current(data)), [topic]);
}
