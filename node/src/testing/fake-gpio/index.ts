import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, waitFor } from '@hearth/hub/testing';

/** A GPIO chip as the kernel shows it: /dev/<name>, its label, its lines and their names ('' for none). */
export interface FakeGpioChip {
  name: string;
  label: string;
  lines: number;
  names: string[];
}

/** A Raspberry Pi 4's header chip (its line names from the device tree, the first 28 of its 58 lines). */
export function raspberryPiChip(name = 'gpiochip0'): FakeGpioChip {
  const names = Array.from({ length: 58 }, (_, offset) => (offset < 28 ? `GPIO${offset}` : ''));
  names[0] = 'ID_SDA';
  names[1] = 'ID_SCL';
  return { name, label: 'pinctrl-bcm2711', lines: 58, names };
}

/** A line request a stand-in tool made, with the settings it asked for. */
export interface FakeGpioRequest {
  tool: 'gpiomon' | 'gpioget';
  pid: number;
  chip: string;
  offsets: number[];
  activeLow: boolean;
  bias: 'as-is' | 'pull-up' | 'pull-down' | 'disable';
  consumer: string;
  /** Edge detection (gpiomon); null for gpioget. */
  edges: 'both' | 'rising' | 'falling' | null;
  debounceUs?: number;
}

interface Holder {
  request: FakeGpioRequest;
  socket: net.Socket;
}

const STAND_IN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-libgpiod.mjs');

/**
 * A GPIO "kernel" for the stand-in tools (fake-libgpiod.mjs): chips with lines whose physical levels the test
 * sets; a gpiomon that requested a line gets its edges (logical: flipped by active-low, as the kernel does),
 * stamped with CLOCK_MONOTONIC like the kernel's; a requested line is busy for any other request (EBUSY), so a
 * gpioget while gpiomon holds it fails as on a Pi. `bin` has `gpiomon`, `gpioget` (and `gpiofind` for 1.x):
 * shell wrappers that run the stand-in as that version.
 */
export async function startFakeGpio(options: { version: string; chips?: FakeGpioChip[]; dir?: string }) {
  const dir = options.dir ?? tempDir('hearth-gpio-');
  const chips = options.chips ?? [raspberryPiChip()];
  const present = new Set(chips.map((chip) => chip.name));
  const levels = new Map(chips.map((chip) => [chip.name, new Array<0 | 1>(chip.lines).fill(0)]));
  const holders = new Set<Holder>();
  const requests: FakeGpioRequest[] = [];
  const sockets = new Set<net.Socket>();
  /** Tool runs that reached the "kernel" (each asks for the chips first). */
  let runs = 0;

  const chipNamed = (name: string) => {
    const chip = chips.find((c) => c.name === name);
    if (!chip) throw new Error(`no chip ${name} in this fake`);
    return chip;
  };

  function answer(socket: net.Socket, message: Record<string, unknown>): Holder | null {
    const send = (reply: unknown) => socket.write(`${JSON.stringify({ reply })}\n`);
    if (message.op === 'chips') {
      runs++;
      send({ chips: chips.filter((chip) => present.has(chip.name)) });
      return null;
    }
    if (message.op !== 'request') {
      send({ error: 'EINVAL' });
      return null;
    }
    const request = message as unknown as FakeGpioRequest;
    requests.push({ ...request });
    const busy = (offset: number) =>
      [...holders].some((h) => h.request.chip === request.chip && h.request.offsets.includes(offset));
    const error = !present.has(request.chip)
      ? 'ENOENT'
      : request.offsets.some((offset) => offset >= chipNamed(request.chip).lines)
        ? 'EINVAL'
        : new Set(request.offsets).size !== request.offsets.length || request.offsets.some(busy)
          ? 'EBUSY'
          : null;
    if (error) {
      send({ error });
      return null;
    }
    const physical = levels.get(request.chip)!;
    send({ values: request.offsets.map((offset) => physical[offset]! ^ (request.activeLow ? 1 : 0)) });
    if (request.edges === null) return null;
    const holder = { request, socket };
    holders.add(holder);
    return holder;
  }

  const socketPath = path.join(dir, 'kernel.sock');
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffer = '';
    const held: Holder[] = [];
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const holder = answer(socket, JSON.parse(buffer.slice(0, newline)));
        if (holder) held.push(holder);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
      }
    });
    // The process exited (or was killed): the kernel releases its lines.
    socket.on('close', () => {
      for (const holder of held) holders.delete(holder);
      sockets.delete(socket);
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));

  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const tools =
    Number(options.version.split('.')[0]) >= 2 ? ['gpiomon', 'gpioget'] : ['gpiomon', 'gpioget', 'gpiofind'];
  for (const tool of tools) {
    const file = path.join(bin, tool);
    writeFileSync(
      file,
      [
        '#!/bin/sh',
        `export FAKE_LIBGPIOD_VERSION=${quote(options.version)}`,
        `export FAKE_GPIO_SOCKET=${quote(socketPath)}`,
        `exec ${quote(process.execPath)} ${quote(STAND_IN)} ${tool} "$0" "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(file, 0o755);
  }

  /** Sets a line's physical level; each gpiomon holding it gets the edge, stamped `ns` (CLOCK_MONOTONIC). */
  function drive(chipName: string, offset: number, level: 0 | 1, ns: bigint) {
    const physical = levels.get(chipName)!;
    if (physical[offset] === level) return;
    physical[offset] = level;
    for (const { request, socket } of holders) {
      if (request.chip !== chipName || !request.offsets.includes(offset)) continue;
      const rising = (level ^ (request.activeLow ? 1 : 0)) === 1;
      if (request.edges !== 'both' && request.edges !== (rising ? 'rising' : 'falling')) continue;
      socket.write(`${JSON.stringify({ edge: { offset, rising, ns: String(ns) } })}\n`);
    }
  }

  const monitors = () => [...holders].map((h) => h.request);

  return {
    version: options.version,
    bin,
    dir,
    tool: (name: 'gpiomon' | 'gpioget' | 'gpiofind') => path.join(bin, name),
    /** Every request made, gpioget's and gpiomon's, with its settings. */
    requests,
    /** How many tool runs have looked for the chips (a run that found none made no request). */
    runs: () => runs,
    level: (chip: string, offset: number) => levels.get(chip)![offset]!,
    /** The gpiomon requests holding lines now. */
    monitors,
    /** A line's physical level; `agoMs`: the edge is stamped that long ago (an event read late). */
    set(chip: string, offset: number, level: 0 | 1, opts: { agoMs?: number } = {}) {
      drive(chip, offset, level, process.hrtime.bigint() - BigInt(Math.round((opts.agoMs ?? 0) * 1e6)));
    },
    /**
     * Several edges at once, as a bouncing contact makes them: `levels` in turn, stamped `spacingMs` apart,
     * the last `agoMs` ago, written to the monitors together.
     */
    burst(
      chip: string,
      offset: number,
      sequence: (0 | 1)[],
      opts: { spacingMs?: number; agoMs?: number } = {},
    ) {
      const spacing = BigInt(Math.round((opts.spacingMs ?? 0.5) * 1e6));
      const last = process.hrtime.bigint() - BigInt(Math.round((opts.agoMs ?? 0) * 1e6));
      sequence.forEach((level, i) => {
        drive(chip, offset, level, last - spacing * BigInt(sequence.length - 1 - i));
      });
    },
    /** Bytes on the stdout of every gpiomon holding a line of `chip` (garbage, a cut-off line). */
    noise(chip: string, text: string) {
      for (const { request, socket } of holders)
        if (request.chip === chip) socket.write(`${JSON.stringify({ raw: text })}\n`);
    },
    /** Waits for a gpiomon holding `offset` (another than `exceptPid`): then edges reach the driver. */
    waitForMonitor(chip: string, offset: number, exceptPid?: number) {
      return waitFor(
        `a gpiomon on ${chip} line ${offset}`,
        () => monitors().find((r) => r.chip === chip && r.offsets.includes(offset) && r.pid !== exceptPid),
        10_000,
        10,
      );
    },
    /** The chip's device goes away (a USB GPIO expander pulled): its gpiomons fail with ENODEV. */
    unplug(chip: string) {
      present.delete(chip);
      for (const holder of [...holders])
        if (holder.request.chip === chip) {
          holders.delete(holder);
          holder.socket.write(`${JSON.stringify({ gone: 'ENODEV' })}\n`);
        }
    },
    plugIn(chip: string) {
      chipNamed(chip);
      present.add(chip);
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeGpio = Awaited<ReturnType<typeof startFakeGpio>>;
