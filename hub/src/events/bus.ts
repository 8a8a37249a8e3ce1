import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';

/**
 * Topics carried by the one live stream. Later features add theirs here
 * (photos, device status, alerts) so the UI and the stream agree on names.
 */
export const TOPICS = [
  'system',
  'devices',
  'jobs',
  'cameras',
  'recording',
  'exports',
  'storage',
  'photos',
  'ble',
  'firmware',
  'nodes',
  'notify',
  'alerts',
  'detections',
] as const;
export type Topic = (typeof TOPICS)[number];

export interface LiveEvent {
  /** `<boot>-<sequence>`: a tab resuming after a hub restart sees a foreign boot and resyncs. */
  id: string;
  topic: Topic;
  at: number;
  data: unknown;
}

type Listener = (event: LiveEvent) => void;

/**
 * In-process fan-out of live updates with a bounded replay buffer for `Last-Event-ID` resume.
 * Publishing never blocks on a listener: each stream owns its own bounded queue.
 */
export class EventBus {
  readonly bootId = randomBytes(4).toString('hex');
  private sequence = 0;
  private readonly buffer: LiveEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly clock: Clock,
    private readonly replayLimit: number,
  ) {}

  publish(topic: Topic, data: unknown): LiveEvent {
    this.sequence += 1;
    const event: LiveEvent = { id: `${this.bootId}-${this.sequence}`, topic, at: this.clock.now(), data };
    this.buffer.push(event);
    if (this.buffer.length > this.replayLimit) this.buffer.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /**
   * Events after `lastEventId`, or `null` when they cannot be replayed exactly (another boot,
   * or older than the buffer): the client must then reload its state.
   */
  since(lastEventId: string): LiveEvent[] | null {
    const [boot, seqText] = lastEventId.split('-');
    const seq = Number(seqText);
    if (boot !== this.bootId || !Number.isInteger(seq) || seq > this.sequence) return null;
    const oldest = this.buffer[0];
    if (seq < this.sequence && (!oldest || Number(oldest.id.split('-')[1]) > seq + 1)) return null;
    return this.buffer.filter((event) => Number(event.id.split('-')[1]) > seq);
  }
}
