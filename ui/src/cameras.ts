import { api, type Camera, type NasHealth, type Role, type Segment, type StorageStatus } from './api';
import { type Resource, useResource } from './components/ui';
import { type RecordingChange, subscribe, useLive } from './live';
import { authStore } from './session';
import { createStore, useStore } from './store';

/**
 * Camera state shared by the camera pages: the list with live recorder states, the newest
 * segment of each camera, and the NAS/spool health for the banner. All of it rides the tab's
 * one live stream (`cameras` and `recording` topics); nothing here polls.
 */

/** Members and owners change cameras, protect footage and export clips; viewers only watch. */
export function canManage(role: Role | undefined): boolean {
  return role === 'owner' || role === 'member';
}

export function useCanManage(): boolean {
  const auth = useStore(authStore);
  return auth.status === 'ready' && canManage(auth.user.role);
}

/** Owners alone manage users, devices, Bluetooth adoption and the storage budget. */
export function useIsOwner(): boolean {
  const auth = useStore(authStore);
  return auth.status === 'ready' && auth.user.role === 'owner';
}

/** What a camera's badge says. */
export type CameraStatus =
  | 'recording'
  | 'starting'
  | 'reconnecting'
  | 'failed'
  | 'paused'
  | 'idle'
  /** A battery camera: it never records, it sends photo bursts when it wakes. */
  | 'photos'
  | 'disabled';

export function cameraStatus(camera: Camera): CameraStatus {
  if (!camera.enabled) return 'disabled';
  switch (camera.recorder?.state) {
    case 'recording':
    case 'starting':
    case 'reconnecting':
    case 'failed':
    case 'paused':
      return camera.recorder.state;
    default:
      return camera.powerProfile === 'battery' ? 'photos' : 'idle';
  }
}

function applyRecorder(list: Camera[] | undefined, data: RecordingChange): Camera[] | undefined {
  if (!list || data.change !== 'recorder') return list;
  const { change: _change, cameraId, ...state } = data;
  return list.map((camera) => (camera.id === cameraId ? { ...camera, recorder: state } : camera));
}

/** Every camera, kept current from the live stream. */
export function useCameras(): Resource<Camera[]> {
  const cameras = useResource(async () => (await api.listCameras()).cameras);
  useLive('cameras', (change) => {
    if (change.change === 'removed') cameras.update((list) => list?.filter((c) => c.id !== change.id));
    else void cameras.reload();
  });
  useLive('recording', (data) => cameras.update((list) => applyRecorder(list, data)));
  useLive('resync', () => void cameras.reload());
  return cameras;
}

/** One camera, kept current from the live stream; `data` becomes undefined with an error when it is removed. */
export function useCamera(id: string): Resource<Camera> {
  const camera = useResource(async () => (await api.getCamera(id)).camera);
  useLive('cameras', (change) => {
    if (change.id === id) void camera.reload();
  });
  useLive('recording', (data) => camera.update((c) => (c ? applyRecorder([c], data)?.[0] : c)));
  useLive('resync', () => void camera.reload());
  return camera;
}

// ---------------------------------------------------------------- newest segment per camera

export const latestSegments = createStore<ReadonlyMap<string, Segment>>(new Map());

function noteSegment(segment: Segment): void {
  const current = latestSegments.get().get(segment.cameraId);
  if (current && current.startAt >= segment.startAt) return;
  const next = new Map(latestSegments.get());
  next.set(segment.cameraId, segment);
  latestSegments.set(next);
}

subscribe('recording', (data) => {
  if (data.change === 'segment' && data.segment) noteSegment(data.segment);
});

const asked = new Set<string>();

/** Looks up a camera's newest segment once (the last half hour), for a tile with no snapshot. */
export async function findLatestSegment(cameraId: string): Promise<void> {
  if (asked.has(cameraId) || latestSegments.get().has(cameraId)) return;
  asked.add(cameraId);
  const now = Date.now();
  try {
    const { segments } = await api.timeline(cameraId, now - 30 * 60_000, now);
    const last = segments[segments.length - 1];
    if (last) noteSegment({ ...last, cameraId });
  } catch {
    // No timeline (an older hub) or nothing recorded lately: the tile waits for the next segment.
    asked.delete(cameraId);
  }
}

// ---------------------------------------------------------------- NAS and spool

export interface StorageState {
  /** null until known; the hub reports only changes, so the start comes from its system events. */
  nas: NasHealth | null;
  /** Recordings the full spool deleted while the NAS has been down. */
  spoolDropped: number;
  /** Footage waiting on the hub for the NAS; kept current by spooled segments between reads. */
  spool: StorageStatus['spool'] | null;
}

export const storageStore = createStore<StorageState>({ nas: null, spoolDropped: 0, spool: null });

function setStorage(change: Partial<StorageState>): void {
  storageStore.set({ ...storageStore.get(), ...change });
}

/** Counts live NAS reports, so a slower read of the event history never overwrites a newer one. */
let nasReports = 0;

subscribe('recording', (data) => {
  if (data.change === 'nas' && data.health) {
    nasReports += 1;
    const wasDown = storageStore.get().nas?.healthy === false;
    setStorage(
      data.health.healthy
        ? { nas: data.health, spoolDropped: 0 }
        : { nas: data.health, ...(wasDown ? {} : { spoolDropped: 0 }) },
    );
    // A NAS coming back drains the spool: read its real size again rather than guess.
    if (data.health.healthy) void refreshSpool();
  } else if (data.change === 'segment' && data.segment?.location === 'spool') {
    const spool = storageStore.get().spool;
    if (spool)
      setStorage({
        spool: {
          ...spool,
          usedBytes: spool.usedBytes + (data.segment.bytes ?? 0),
          segments: spool.segments + 1,
        },
      });
  }
});

subscribe('system', (event) => {
  if (event.kind === 'spool.dropped') {
    const count = Number((event.details as { count?: unknown } | null)?.count) || 1;
    setStorage({ spoolDropped: storageStore.get().spoolDropped + count });
  }
});

let storageLoaded = false;
subscribe('resync', () => {
  storageLoaded = false;
});

async function refreshSpool(): Promise<void> {
  try {
    setStorage({ spool: (await api.storageStatus()).spool });
  } catch {
    // The banner keeps what it had; the next visit reads again.
  }
}

/**
 * Reads the NAS and spool state once per visit and again after a resync (the stream keeps it
 * current in between), and what the full spool deleted since the NAS went down, from the latest
 * system events.
 */
export async function loadStorageState(): Promise<void> {
  if (storageLoaded) return;
  storageLoaded = true;
  const reportsBefore = nasReports;
  try {
    const [status, { events }] = await Promise.all([
      api.storageStatus(),
      api.listSystemEvents({ limit: 200 }),
    ]);
    if (nasReports !== reportsBefore) return; // the stream told us something newer meanwhile
    let spoolDropped = 0;
    for (const event of events) {
      if (event.kind === 'nas.down' || event.kind === 'nas.up') break;
      if (event.kind === 'spool.dropped')
        spoolDropped += Number((event.details as { count?: unknown } | null)?.count) || 1;
    }
    setStorage({
      nas: status.nas,
      spool: status.spool,
      spoolDropped: status.nas.healthy ? 0 : spoolDropped,
    });
  } catch {
    storageLoaded = false;
  }
}

export function useStorageState(): StorageState {
  return useStore(storageStore);
}
