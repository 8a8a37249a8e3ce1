import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { type ChannelConfig, channelConfigSchema, type Notice, sendNotice } from '@hearth/hub/notify';
import { z } from 'zod';
import type { AgentLog } from './agent.js';

/** What the hub's heartbeat answers carry for the dead-man (docs/protocols.md, "Edge nodes"). */
export const deadmanOrderSchema = z
  .object({
    /** The hub silent this long: tell the household. */
    afterSeconds: z.number().int().positive(),
    /** One node speaks for the house (the hub picks it), so a hub failure is one notice, not one per node. */
    sender: z.boolean(),
    channels: z.array(channelConfigSchema).max(16),
  })
  .strict();
export type DeadmanOrder = z.infer<typeof deadmanOrderSchema>;

const stateSchema = z.object({
  order: deadmanOrderSchema.nullable(),
  lastContactAt: z.number(),
  /** The household was told the hub is away, and not yet that it is back. */
  told: z.boolean(),
  /** Notices not yet delivered to every channel, oldest first (a restart keeps them). */
  pending: z.array(z.object({ notice: z.unknown(), channels: z.array(z.string()) })),
});
type State = z.infer<typeof stateSchema>;

/**
 * If the hub itself dies, nobody is told by the hub: the node that the hub named its sender keeps a copy of
 * the household's webhook and ntfy channels and, once the hub has been unreachable for `afterSeconds`, sends
 * one notice straight to them, and one more when the hub answers again. What it has promised to send is kept
 * in `<state-dir>/deadman.json` (0600: it holds the channels' secrets) until every channel took it.
 */
export function createDeadman(options: {
  stateDir: string;
  nodeName: () => string;
  log: AgentLog;
  now?: () => number;
  send?: (channel: ChannelConfig, notice: Notice) => Promise<void>;
}) {
  const now = options.now ?? Date.now;
  const send = options.send ?? ((channel, notice) => sendNotice(channel, notice, { timeoutMs: 10_000 }));
  const file = path.join(options.stateDir, 'deadman.json');
  let state: State = { order: null, lastContactAt: now(), told: false, pending: [] };
  try {
    state = stateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    // First start, or a file from an older version: begin from "the hub was just here".
  }
  let delivering: Promise<void> | null = null;
  /** When the last contact was written: once a minute is enough to count an outage across a restart. */
  let savedContactAt = state.lastContactAt;

  async function save() {
    const temporary = `${file}.tmp`;
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  }

  function promise(kind: 'hub_unreachable' | 'hub_back') {
    const channels = (state.order?.channels ?? []).filter((c) => c.type !== 'mqtt' && c.enabled);
    const since = new Date(state.lastContactAt).toISOString();
    const notice: Notice = {
      id: `deadman-${randomUUID()}`,
      kind,
      severity: kind === 'hub_unreachable' ? 'emergency' : 'info',
      title: kind === 'hub_unreachable' ? 'Hearth hub unreachable' : 'Hearth hub back',
      message:
        kind === 'hub_unreachable'
          ? `The hub has not answered ${options.nodeName()} since ${since}: alerts are not being raised.`
          : `The hub answers ${options.nodeName()} again.`,
      at: now(),
    };
    if (channels.length) state.pending.push({ notice, channels: channels.map((c) => c.id) });
  }

  /** Tries what is pending; a channel that fails keeps its notice for the next round. */
  function deliver() {
    delivering ??= (async () => {
      for (const entry of [...state.pending]) {
        const notice = entry.notice as Notice;
        for (const id of [...entry.channels]) {
          const channel = state.order?.channels.find((c) => c.id === id);
          try {
            if (channel) await send(channel, notice);
            entry.channels = entry.channels.filter((other) => other !== id);
          } catch (error) {
            options.log.warn(`dead-man notice to ${id}: ${(error as Error).message}`);
          }
        }
        if (entry.channels.length === 0) state.pending = state.pending.filter((e) => e !== entry);
        await save();
      }
    })().finally(() => {
      delivering = null;
    });
    return delivering;
  }

  return {
    /** The hub answered a heartbeat (with its current order). */
    async contact(order: DeadmanOrder | undefined) {
      state.lastContactAt = now();
      const changed = order !== undefined && JSON.stringify(order) !== JSON.stringify(state.order);
      if (order) state.order = order;
      if (state.told) {
        state.told = false;
        promise('hub_back');
        options.log.info('the hub answers again: telling the household');
      }
      // Written when something changed, else once a minute (an SD card need not hear of every heartbeat).
      if (changed || state.pending.length || state.lastContactAt - savedContactAt >= 60_000) {
        savedContactAt = state.lastContactAt;
        await save();
      }
      if (state.pending.length) await deliver();
    },
    /** A heartbeat went unanswered. */
    async silence() {
      const order = state.order;
      if (order?.sender && !state.told && now() - state.lastContactAt >= order.afterSeconds * 1000) {
        state.told = true;
        promise('hub_unreachable');
        options.log.warn(
          `the hub has not answered for ${order.afterSeconds} s: telling the household directly`,
        );
        await save();
      }
      if (state.pending.length) await deliver();
    },
    status: () => ({ told: state.told, pending: state.pending.length, sender: state.order?.sender ?? false }),
  };
}

export type Deadman = ReturnType<typeof createDeadman>;
