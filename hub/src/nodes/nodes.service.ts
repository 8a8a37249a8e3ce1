import { createHmac, randomInt } from 'node:crypto';
import { and, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { sha256 } from '../accounts/tokens.js';
import type { CameraService } from '../cameras/cameras.service.js';
import type { Signal } from '../care/rules.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { devices } from '../devices/devices.schema.js';
import type { DeviceService } from '../devices/devices.service.js';
import type { EventBus } from '../events/bus.js';
import type { SystemEventService } from '../events/system-events.service.js';
import { AppError, conflict, notFound } from '../http/errors.js';
import type { Logger } from '../log/logger.js';
import type { ChannelConfig } from '../notify/channels.js';
import {
  type CommandResult,
  ENROLMENT_CODE_ALPHABET,
  HEARTBEAT_SECONDS,
  type Heartbeat,
  type NodeCommand,
  type NodeCommandArgs,
  type NodeCommandKind,
  type Reading,
} from '../protocol/node.js';
import { nodeCommands, nodeEnrolmentCodes, nodeReadings, nodeStatus } from './nodes.schema.js';

export const CODE_LIFETIME_MS = 15 * 60_000;
/** A command nobody ran in this time is expired (the node does not start it late). */
const DEFAULT_COMMAND_LIFETIME_MS = 5 * 60_000;

/** An address as a URL's host: IPv4 as it is, IPv6 in brackets (a zone's `%` escaped), IPv4-mapped unwrapped. */
export function urlHost(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  return address.includes(':') ? `[${address.replace('%', '%25')}]` : address;
}

const normalizeCode = (code: string) => code.trim().toUpperCase().replace('-', '');

function newCode(): string {
  const pick = () => ENROLMENT_CODE_ALPHABET[randomInt(ENROLMENT_CODE_ALPHABET.length)];
  const chars = Array.from({ length: 8 }, pick).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4)}`;
}

type CommandRow = typeof nodeCommands.$inferSelect;

export const commandView = (row: CommandRow) => ({
  id: row.id,
  kind: row.kind as NodeCommandKind,
  args: row.args as NodeCommandArgs,
  state: row.state,
  detail: row.detail,
  createdAt: row.createdAt,
  expiresAt: row.expiresAt,
  deliveredAt: row.deliveredAt,
  finishedAt: row.finishedAt,
});

/**
 * Edge nodes seen from the hub: one-time enrolment codes, heartbeats (offline after 3 missed), readings
 * acknowledged up to the highest contiguous sequence, and commands the node long-polls for.
 */
export function createNodeService(deps: {
  db: Db;
  clock: Clock;
  bus: EventBus;
  log: Logger;
  devices: DeviceService;
  systemEvents: SystemEventService;
  heartbeatSeconds?: number;
  /** Node cameras follow their node's feed address (cameras.service). */
  cameras?: Pick<CameraService, 'adoptNodeCameras' | 'setNodeFeeds'>;
  /** `<secrets>/node-live.key`: each node's feed key is derived from it, so none is stored. */
  liveSecret?: Buffer;
  /** The household's webhook and ntfy channels, for the node that speaks if the hub dies (the dead-man). */
  deadman?: () => { afterSeconds: number; channels: ChannelConfig[] };
  /** Each new reading, heartbeat and check-in outcome, for the care rules (care.service.ts). */
  signals?: (deviceId: number, signal: Signal) => void;
}) {
  const { db, clock } = deps;
  const heartbeatSeconds = deps.heartbeatSeconds ?? HEARTBEAT_SECONDS;
  // The hot path (a batch of up to 500 rows per request) runs one statement prepared once: building and
  // preparing drizzle's insert for every batch took most of the hub's CPU in bench:readings.
  const insertReading = db.$client.prepare(
    `INSERT OR IGNORE INTO node_readings (device_id, seq, at, received_at, sensor, kind, value, state, confidence)
     VALUES (@deviceId, @seq, @at, @receivedAt, @sensor, @kind, @value, @state, @confidence)`,
  );
  /** Nodes waiting in a long poll, woken when a command is queued for them. */
  const waiting = new Map<number, Set<() => void>>();

  // Prepared once: every readings batch and heartbeat runs them (bench:readings).
  const deviceById = db
    .select()
    .from(devices)
    .where(eq(devices.id, sql.placeholder('id')))
    .prepare();
  const ackedOf = db
    .select({ ackedSeq: nodeStatus.ackedSeq })
    .from(nodeStatus)
    .where(eq(nodeStatus.deviceId, sql.placeholder('id')))
    .prepare();
  const storedSeq = db
    .select({ seq: nodeReadings.seq })
    .from(nodeReadings)
    .where(
      and(eq(nodeReadings.deviceId, sql.placeholder('id')), eq(nodeReadings.seq, sql.placeholder('seq'))),
    )
    .prepare();
  const setAcked = db
    .insert(nodeStatus)
    .values({ deviceId: sql.placeholder('id'), ackedSeq: sql.placeholder('acked') })
    .onConflictDoUpdate({ target: nodeStatus.deviceId, set: { ackedSeq: sql`excluded.acked_seq` } })
    .prepare();

  /** Nodes (all, or one) with their latest heartbeat and how far their readings are acknowledged. */
  function summaries(id?: number) {
    return db
      .select({ device: devices, status: nodeStatus })
      .from(devices)
      .leftJoin(nodeStatus, eq(nodeStatus.deviceId, devices.id))
      .where(and(eq(devices.kind, 'node'), id === undefined ? undefined : eq(devices.id, id)))
      .orderBy(devices.id)
      .all()
      .map(({ device, status }) => ({
        id: device.id,
        name: device.name,
        status: device.status,
        lastSeenAt: device.lastSeenAt,
        heartbeat: (status?.heartbeat ?? null) as Heartbeat | null,
        heartbeatAt: status?.heartbeatAt ?? null,
        ackedSeq: status?.ackedSeq ?? 0,
      }));
  }

  function nodeRow(id: number) {
    const row = deviceById.get({ id });
    if (row?.kind !== 'node') throw notFound('Node');
    return row;
  }

  function liveKeyOf(deviceId: number): string | null {
    if (!deps.liveSecret) return null;
    return createHmac('sha256', deps.liveSecret).update(`node-live:${deviceId}`).digest('base64url');
  }

  /** A check-in nobody answered (or that could not run at all) is a missed one: the care rules decide. */
  function checkInOutcome(row: CommandRow) {
    deps.signals?.(row.deviceId, {
      at: row.finishedAt ?? clock.now(),
      kind: 'check_in',
      state: row.state === 'done' ? 'answered' : 'missed',
    });
  }

  /** One node speaks for the house if the hub dies: the lowest-numbered one that is in touch. */
  function deadmanSender(now: number): number | null {
    const recent = new Date(now - 3 * heartbeatSeconds * 1000);
    return (
      db
        .select({ id: devices.id })
        .from(devices)
        .where(and(eq(devices.kind, 'node'), gte(devices.lastSeenAt, recent)))
        .orderBy(devices.id)
        .limit(1)
        .get()?.id ?? null
    );
  }

  function wake(deviceId: number) {
    for (const resolve of waiting.get(deviceId) ?? []) resolve();
  }

  function pending(deviceId: number): CommandRow[] {
    return db
      .select()
      .from(nodeCommands)
      .where(
        and(
          eq(nodeCommands.deviceId, deviceId),
          inArray(nodeCommands.state, ['queued', 'delivered']),
          sql`${nodeCommands.expiresAt} > ${clock.now()}`,
        ),
      )
      .orderBy(nodeCommands.id)
      .all();
  }

  const toWire = (row: CommandRow): NodeCommand => ({
    id: row.id,
    kind: row.kind as NodeCommandKind,
    args: row.args as NodeCommandArgs,
    expiresAt: row.expiresAt,
  });

  return {
    /** A code for `hearth-node enrol`, shown once; the node it enrols gets `name`. */
    createCode(input: { name: string; createdBy?: number | undefined }): { code: string; expiresAt: number } {
      const code = newCode();
      const expiresAt = clock.now() + CODE_LIFETIME_MS;
      db.insert(nodeEnrolmentCodes)
        .values({
          codeHash: sha256(normalizeCode(code)),
          name: input.name,
          createdBy: input.createdBy ?? null,
          createdAt: clock.now(),
          expiresAt,
        })
        .run();
      return { code, expiresAt };
    },

    /** Exchanges a code for a node device and its token; a code works once, for 15 minutes. */
    enrol(input: { code: string; hardwareId?: string | undefined }) {
      const hash = sha256(normalizeCode(input.code));
      return db.transaction(() => {
        const row = db.select().from(nodeEnrolmentCodes).where(eq(nodeEnrolmentCodes.codeHash, hash)).get();
        if (!row)
          throw new AppError(404, 'unknown_code', 'This enrolment code is not known; make a new one.');
        if (row.usedAt !== null)
          throw new AppError(409, 'code_used', 'This enrolment code was used already.');
        if (row.expiresAt <= clock.now())
          throw new AppError(410, 'code_expired', 'This enrolment code has expired; make a new one.');
        const { device, token } = deps.devices.create({
          name: row.name,
          kind: 'node',
          hardwareId: input.hardwareId,
        });
        db.update(nodeEnrolmentCodes)
          .set({ usedAt: clock.now(), deviceId: device.id })
          .where(eq(nodeEnrolmentCodes.id, row.id))
          .run();
        db.insert(nodeStatus).values({ deviceId: device.id }).run();
        return { token, device: { id: device.id, name: device.name } };
      });
    },

    /** `remoteAddress`: where the heartbeat came from, which is where the node's camera feeds are. */
    heartbeat(deviceId: number, heartbeat: Heartbeat, remoteAddress?: string) {
      const node = nodeRow(deviceId);
      const now = clock.now();
      db.insert(nodeStatus)
        .values({ deviceId, heartbeat, heartbeatAt: now })
        .onConflictDoUpdate({ target: nodeStatus.deviceId, set: { heartbeat, heartbeatAt: now } })
        .run();
      // Exact, not the every-few-seconds stamp of any call: "three heartbeats missed" is counted from here.
      db.update(devices)
        .set({ lastSeenAt: new Date(now) })
        .where(eq(devices.id, deviceId))
        .run();
      deps.bus.publish('nodes', { change: 'heartbeat', id: deviceId, at: now });
      deps.signals?.(deviceId, { at: now, kind: 'heartbeat', state: 'alive' });
      const adopted = deps.cameras?.adoptNodeCameras(
        deviceId,
        node.name,
        heartbeat.cameras.map((camera) => camera.name),
      );
      if (adopted?.length) deps.log.info({ node: node.name, cameras: adopted }, 'node cameras added');
      const liveKey = liveKeyOf(deviceId);
      if (heartbeat.live && remoteAddress && liveKey) {
        const origin = `http://hub:${liveKey}@${urlHost(remoteAddress)}:${heartbeat.live.port}`;
        deps.cameras?.setNodeFeeds(
          deviceId,
          (cameraId) => `${origin}/cameras/${encodeURIComponent(cameraId)}/live.ts`,
        );
      }
      return {
        hubTime: now,
        intervalSeconds: heartbeatSeconds,
        ...(liveKey ? { liveKey } : {}),
        ...(deps.deadman ? { deadman: { ...deps.deadman(), sender: deadmanSender(now) === deviceId } } : {}),
      };
    },

    /**
     * Stores a batch (a resent reading is a no-op) and answers the highest sequence up to which every
     * reading is stored: the node deletes its outbox up to there and resends anything after.
     */
    ingest(deviceId: number, readings: Reading[], droppedThrough = 0) {
      nodeRow(deviceId);
      const receivedAt = clock.now();
      const rows = readings.map((reading) => ({
        deviceId,
        seq: reading.seq,
        at: reading.at,
        receivedAt,
        sensor: reading.sensor,
        kind: reading.kind,
        value: reading.value ?? null,
        state: reading.state ?? null,
        confidence: reading.confidence ?? null,
      }));
      const fresh: typeof rows = [];
      const answer = db.transaction(() => {
        let stored = 0;
        for (const row of rows)
          if (insertReading.run(row).changes > 0) {
            stored += 1;
            fresh.push(row);
          }
        let acked = Math.max(ackedOf.get({ id: deviceId })?.ackedSeq ?? 0, droppedThrough);
        // The usual batch continues the sequence exactly: no need to look.
        const seqs = readings.map((reading) => reading.seq).sort((x, y) => x - y);
        if (seqs[0] === acked + 1 && seqs.every((seq, i) => seq === acked + 1 + i)) acked += seqs.length;
        // Otherwise walk forward over what is stored: a batch that filled a gap moves the acknowledgement past it.
        while (storedSeq.get({ id: deviceId, seq: acked + 1 })) acked += 1;
        setAcked.run({ id: deviceId, acked });
        if (stored > 0)
          deps.bus.publish('nodes', { change: 'readings', id: deviceId, stored, ackedSeq: acked });
        return { ackedSeq: acked, stored, duplicates: readings.length - stored };
      });
      // Once stored, in the node's order; a resent reading was evaluated the first time.
      if (deps.signals) for (const row of fresh.sort((x, y) => x.seq - y.seq)) deps.signals(deviceId, row);
      return answer;
    },

    queueCommand(
      deviceId: number,
      input: { kind: NodeCommandKind; args: NodeCommandArgs; expiresInSeconds?: number | undefined },
      createdBy?: number,
    ) {
      const node = nodeRow(deviceId);
      const now = clock.now();
      const row = db
        .insert(nodeCommands)
        .values({
          deviceId,
          kind: input.kind,
          args: input.args,
          state: 'queued',
          createdBy: createdBy ?? null,
          createdAt: now,
          expiresAt:
            now + (input.expiresInSeconds ? input.expiresInSeconds * 1000 : DEFAULT_COMMAND_LIFETIME_MS),
        })
        .returning()
        .get();
      deps.log.info({ node: node.name, command: row.id, kind: row.kind }, 'node command queued');
      deps.bus.publish('nodes', { change: 'command', id: deviceId, command: commandView(row) });
      wake(deviceId);
      return commandView(row);
    },

    /**
     * The node's long poll: commands not finished and not expired, at once when there are any, else as
     * soon as one is queued, else an empty list after `waitMs`. Unfinished ones come again on every poll;
     * the node runs each id at most once.
     */
    async takeCommands(deviceId: number, waitMs: number, signal?: AbortSignal): Promise<NodeCommand[]> {
      let rows = pending(deviceId);
      if (rows.length === 0 && waitMs > 0 && !signal?.aborted) {
        await new Promise<void>((resolve) => {
          const set = waiting.get(deviceId) ?? new Set();
          waiting.set(deviceId, set);
          const done = () => {
            clearTimeout(timer);
            set.delete(done);
            if (set.size === 0) waiting.delete(deviceId);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, waitMs);
          set.add(done);
          signal?.addEventListener('abort', done);
        });
        rows = pending(deviceId);
      }
      const now = clock.now();
      for (const row of rows.filter((r) => r.state === 'queued')) {
        const delivered = db
          .update(nodeCommands)
          .set({ state: 'delivered', deliveredAt: now })
          .where(eq(nodeCommands.id, row.id))
          .returning()
          .get();
        deps.bus.publish('nodes', { change: 'command', id: deviceId, command: commandView(delivered) });
      }
      return rows.map(toWire);
    },

    finishCommand(deviceId: number, commandId: number, result: CommandResult) {
      const row = db
        .select()
        .from(nodeCommands)
        .where(and(eq(nodeCommands.id, commandId), eq(nodeCommands.deviceId, deviceId)))
        .get();
      if (!row) throw notFound('Command');
      if (row.state === 'done' || row.state === 'failed') {
        if (row.state === result.result) return commandView(row); // a resent result
        throw conflict(`Command ${commandId} already finished as ${row.state}.`);
      }
      const updated = db
        .update(nodeCommands)
        .set({ state: result.result, detail: result.detail ?? null, finishedAt: clock.now() })
        .where(eq(nodeCommands.id, commandId))
        .returning()
        .get();
      deps.bus.publish('nodes', { change: 'command', id: deviceId, command: commandView(updated) });
      if (updated.kind === 'check_in') checkInOutcome(updated);
      return commandView(updated);
    },

    /** Commands past their expiry that no node finished. */
    expireCommands() {
      const expired = db
        .update(nodeCommands)
        .set({ state: 'expired', finishedAt: clock.now() })
        .where(
          and(inArray(nodeCommands.state, ['queued', 'delivered']), lt(nodeCommands.expiresAt, clock.now())),
        )
        .returning()
        .all();
      for (const row of expired) {
        deps.bus.publish('nodes', { change: 'command', id: row.deviceId, command: commandView(row) });
        if (row.kind === 'check_in') checkInOutcome(row);
      }
    },

    /** Three heartbeats missed: offline (a system event); the next one brings it back. */
    markSilentOffline() {
      return deps.devices.markSilentOffline(3 * heartbeatSeconds * 1000, 'node');
    },

    list: () => summaries(),

    detail(id: number) {
      nodeRow(id);
      const [node] = summaries(id);
      const commands = db
        .select()
        .from(nodeCommands)
        .where(eq(nodeCommands.deviceId, id))
        .orderBy(desc(nodeCommands.id))
        .limit(20)
        .all()
        .map(commandView);
      // The newest reading of each kind and sensor.
      const latest = db.all<{
        sensor: string;
        kind: string;
        value: number | null;
        state: string | null;
        at: number;
      }>(
        sql`SELECT sensor, kind, value, state, MAX(at) AS at FROM node_readings WHERE device_id = ${id} GROUP BY sensor, kind ORDER BY sensor, kind`,
      );
      return { node, commands, latest };
    },

    readings(id: number, options: { kind?: string | undefined; from: number; to: number; limit: number }) {
      nodeRow(id);
      return db
        .select()
        .from(nodeReadings)
        .where(
          and(
            eq(nodeReadings.deviceId, id),
            options.kind ? eq(nodeReadings.kind, options.kind) : undefined,
            sql`${nodeReadings.at} >= ${options.from}`,
            sql`${nodeReadings.at} < ${options.to}`,
          ),
        )
        .orderBy(nodeReadings.at, nodeReadings.seq)
        .limit(options.limit)
        .all()
        .map(({ deviceId: _device, receivedAt: _received, ...reading }) => reading);
    },
  };
}

export type NodeService = ReturnType<typeof createNodeService>;
