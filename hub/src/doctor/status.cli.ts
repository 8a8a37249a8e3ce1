import { readdirSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type Database from 'better-sqlite3';
import type { Command } from '../cli/command.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { databasePath } from '../db/client.js';
import { createFsWorker, type FsWorker, type NasHealth } from '../storage/index.js';
import { HUB_VERSION } from '../system/version.js';
import { probeNas } from './checks.js';
import { hasTable, openForReading } from './database.js';
import { parsedOrUsage } from './doctor.cli.js';
import { bytes, span } from './format.js';
import { becomeDataOwner } from './identity.js';
import { HUB_UNIT, unitState } from './systemd.js';

const USAGE = 'hearth status';
/** One terminal screen. */
export const MAX_LINES = 25;

interface Health {
  version: string;
  uptimeSeconds: number;
}

/** The hub as the CLI on the same machine reaches it: its HTTP port on loopback (or its own address). */
export function localBaseUrl(config: Config): string {
  const host = ['0.0.0.0', '::', ''].includes(config.server.host) ? '127.0.0.1' : config.server.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`;
}

async function fetchText(url: string): Promise<{ status: number; text: string } | { error: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000), redirect: 'manual' });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { error: cause ?? (error as Error).name };
  }
}

/**
 * Recorder states only the running hub knows, from `/metrics` (served without a session to loopback
 * unless `metrics.allowFrom` says otherwise): `hearth_recorder_state{camera,state} 1`.
 */
export function recorderStates(metrics: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of metrics.split('\n')) {
    const match = /^hearth_recorder_state\{([^}]*)\}\s+1(?:\.0+)?\s*$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...match[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]),
    );
    if (labels.camera && labels.state) states.set(labels.camera, labels.state);
  }
  return states;
}

async function newestBackup(
  config: Config,
  fs: FsWorker,
  nas: NasHealth,
): Promise<{ name: string; at: number; where: string } | null> {
  const own = (name: string) => name.startsWith('hearth-') && !name.includes('.partial');
  const found: { name: string; at: number; where: string }[] = [];
  const local = path.join(config.dataDir, 'backups');
  try {
    for (const name of readdirSync(local).filter(own))
      found.push({ name, at: statSync(path.join(local, name)).mtimeMs, where: local });
  } catch {
    // No local backups folder yet.
  }
  if (nas.healthy) {
    const remote = path.join(config.nasDir, 'backups');
    try {
      for (const entry of await fs.readdir(remote, { limit: 10_000 }))
        if (entry.type === 'file' && own(entry.name))
          found.push({
            name: entry.name,
            at: (await fs.stat(path.join(remote, entry.name))).mtimeMs,
            where: remote,
          });
    } catch {
      // No backups folder on the NAS yet, or the NAS went away meanwhile: the local ones still count.
    }
  }
  return found.sort((a, b) => b.at - a.at)[0] ?? null;
}

function serviceLines(config: Config, unit: Awaited<ReturnType<typeof unitState>>, health: Health | string) {
  const lines: string[] = [];
  if (unit.kind === 'unit') {
    const { ActiveState, SubState, NRestarts, ActiveEnterTimestamp } = unit.props;
    lines.push(
      `service  ${HUB_UNIT} ${ActiveState} (${SubState})${ActiveEnterTimestamp ? ` since ${ActiveEnterTimestamp}` : ''}${Number(NRestarts) > 0 ? `, restarted ${NRestarts}×` : ''}`,
    );
  } else lines.push(`service  not run by systemd (${unit.kind === 'none' ? unit.reason : unit.message})`);
  const url = localBaseUrl(config);
  if (typeof health === 'string') lines.push(`http     ${url} not answering (${health})`);
  else
    lines.push(
      `http     ${url} answering: hub ${health.version}, up ${span(health.uptimeSeconds * 1000)}${health.version !== HUB_VERSION ? ` (installed: ${HUB_VERSION}; restart the hub)` : ''}`,
    );
  return lines;
}

function cameraLines(sqlite: Database.Database, states: Map<string, string>, now: number, room: number) {
  if (!hasTable(sqlite, 'cameras')) return [];
  const cameras = sqlite
    .prepare(
      `select c.id, c.name, c.power_profile as power, c.record, c.enabled, c.segment_seconds as segmentSeconds,
         d.last_seen_at as seenAt
       from cameras c left join devices d on d.id = c.device_id order by c.name`,
    )
    .all() as {
    id: string;
    name: string;
    power: string;
    record: number;
    enabled: number;
    segmentSeconds: number;
    seenAt: number | null;
  }[];
  const newest = sqlite.prepare(
    'select end_at as endAt from segments where camera_id = ? order by start_at desc limit 1',
  );
  const lines = [
    `cameras  ${cameras.length}${states.size ? '' : ' (states guessed from the index: the hub’s /metrics did not answer)'}`,
  ];
  const width = Math.min(24, Math.max(0, ...cameras.map((camera) => camera.id.length)));
  for (const [i, camera] of cameras.entries()) {
    if (i === room - 1 && cameras.length > room) {
      lines.push(`  … and ${cameras.length - i} more (hearth device list, or the web UI)`);
      break;
    }
    let what: string;
    if (!camera.enabled) what = 'disabled';
    else if (camera.power === 'battery')
      what = `battery, photos; last heard ${camera.seenAt ? `${span(now - camera.seenAt)} ago` : 'never'}`;
    else {
      const segment = newest.get(camera.id) as { endAt: number } | undefined;
      const age = segment ? `newest segment ${span(now - segment.endAt)} ago` : 'no segment yet';
      // Without the hub's word: a segment within two lengths plus the finalize time means it records.
      const guess =
        segment && now - segment.endAt < (2 * camera.segmentSeconds + 15) * 1000
          ? 'recording'
          : 'not recording';
      what = camera.record ? `${states.get(camera.id) ?? guess}, ${age}` : `live only, ${age}`;
    }
    lines.push(`  ${camera.id.padEnd(width)}  ${camera.name}: ${what}`);
  }
  return lines;
}

function nodeLine(sqlite: Database.Database, config: Config, now: number): string | null {
  if (!hasTable(sqlite, 'node_status')) return null;
  const silentMs = 3 * config.nodes.heartbeatSeconds * 1000;
  const nodes = sqlite
    .prepare(
      `select d.name, coalesce(s.heartbeat_at, d.last_seen_at) as heardAt from devices d
       left join node_status s on s.device_id = d.id where d.kind = 'node' order by d.id`,
    )
    .all() as { name: string; heardAt: number | null }[];
  if (nodes.length === 0) return 'nodes    none';
  const offline = nodes.filter((node) => node.heardAt === null || now - node.heardAt > silentMs);
  const named = offline
    .slice(0, 3)
    .map(
      (node) =>
        `"${node.name}" ${node.heardAt === null ? 'never heard' : `silent ${span(now - node.heardAt)}`}`,
    )
    .join(', ');
  return `nodes    ${nodes.length - offline.length} online, ${offline.length} offline${named ? `: ${named}${offline.length > 3 ? ', …' : ''}` : ''}`;
}

function incidentLine(sqlite: Database.Database, now: number): string | null {
  if (!hasTable(sqlite, 'incidents')) return null;
  const open = sqlite
    .prepare(
      `select title, fired_at as firedAt, acknowledged_at as acknowledgedAt from incidents
       where resolved_at is null order by fired_at desc`,
    )
    .all() as { title: string; firedAt: number; acknowledgedAt: number | null }[];
  if (open.length === 0) return 'alerts   no open incident';
  const unacknowledged = open.filter((incident) => incident.acknowledgedAt === null).length;
  const newest = open[0]!;
  return `alerts   ${open.length} open (${unacknowledged} not acknowledged); newest "${newest.title}" ${span(now - newest.firedAt)} ago`;
}

function nasLine(config: Config, nas: NasHealth, spool: { n: number; bytes: number } | null): string {
  const spooled = spool?.n ? `; ${spool.n} segment(s), ${bytes(spool.bytes)} waiting in the spool` : '';
  if (nas.healthy)
    return `nas      ${config.nasDir}: ok, ${bytes(nas.freeBytes ?? 0)} free of ${bytes(nas.totalBytes ?? 0)}${spooled}`;
  return `nas      ${config.nasDir}: NOT USABLE (${nas.reason}; hearth doctor explains)${spooled}`;
}

function dataLine(config: Config): string {
  try {
    const space = statfsSync(config.dataDir);
    return `data     ${config.dataDir}: ${bytes(space.bavail * space.bsize)} free of ${bytes(space.blocks * space.bsize)}`;
  } catch (error) {
    return `data     ${config.dataDir}: ${(error as Error).message}`;
  }
}

/** `hearth status`: the state of the whole hub on one screen, read without changing anything. */
export const statusCommand: Command = async (argv) => {
  const { values } = parsedOrUsage(
    () => parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } } }),
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig();
  const user = becomeDataOwner(config.dataDir);
  const now = Date.now();
  const base = localBaseUrl(config);
  const fs = createFsWorker({ timeoutMs: config.storage.nasTimeoutMs });
  try {
    const [unit, healthAnswer, metricsAnswer, nas] = await Promise.all([
      unitState(process.env),
      fetchText(`${base}/api/health`),
      fetchText(`${base}/metrics`),
      probeNas(config, fs),
    ]);
    let health: Health | string;
    if ('error' in healthAnswer) health = healthAnswer.error;
    else if (healthAnswer.status !== 200) health = `HTTP ${healthAnswer.status}`;
    else health = JSON.parse(healthAnswer.text) as Health;
    const states =
      'status' in metricsAnswer && metricsAnswer.status === 200
        ? recorderStates(metricsAnswer.text)
        : new Map();

    const head = [
      `Hearth ${HUB_VERSION}, data in ${config.dataDir}${config.demo ? ' (demo mode)' : ''}, read as ${user}`,
    ];
    head.push(...serviceLines(config, unit, health));
    let sqlite: Database.Database | null = null;
    let problem: string | null = null;
    try {
      sqlite = openForReading(databasePath(config.dataDir));
    } catch (error) {
      problem = `database ${databasePath(config.dataDir)}: ${(error as Error).message}`;
    }
    try {
      const spool =
        sqlite && hasTable(sqlite, 'segments')
          ? (sqlite
              .prepare(
                "select count(*) as n, coalesce(sum(bytes), 0) as bytes from segments where location = 'spool'",
              )
              .get() as { n: number; bytes: number })
          : null;
      head.push(nasLine(config, nas, spool), dataLine(config));
      const tail: string[] = [];
      if (sqlite) {
        for (const line of [nodeLine(sqlite, config, now), incidentLine(sqlite, now)])
          if (line) tail.push(line);
      } else tail.push(problem!);
      const backup = await newestBackup(config, fs, nas);
      tail.push(
        backup
          ? `backup   ${backup.name}, ${span(now - backup.at)} ago (${backup.where})`
          : 'backup   none found (hearth backup)',
      );
      const cameras = sqlite
        ? cameraLines(sqlite, states, now, MAX_LINES - head.length - tail.length - 1)
        : [];
      console.log([...head, ...cameras, ...tail].join('\n'));
    } finally {
      sqlite?.close();
    }
    return 0;
  } finally {
    await fs.close();
  }
};
