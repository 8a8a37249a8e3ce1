// The one file that touches fluent-ffmpeg (see README.md): swapping it for plain `spawn` starts here.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import ffmpeg from 'fluent-ffmpeg';
import { MediaError } from './errors.js';

export type FfmpegCommand = ffmpeg.FfmpegCommand;
export type FfprobeData = ffmpeg.FfprobeData;

type EndCallback = (err: Error | null, stdout?: { get(): string }, stderr?: { get(): string }) => void;
type SpawnFfmpeg = (
  args: string[],
  options: SpawnOptions & Record<string, unknown>,
  processCB: ((proc: ChildProcess) => void) | EndCallback,
  endCB?: EndCallback,
) => void;

/** fluent-ffmpeg internals we rely on; the package is archived, so they will not move under us. */
interface CommandInternals {
  _spawnFfmpeg: SpawnFfmpeg;
  ffmpegProc?: ChildProcess;
}

export interface NewCommandOptions {
  /** Extra environment for the ffmpeg process (fluent-ffmpeg has no option for it). */
  env?: Record<string, string>;
  /** Lines of stdout/stderr fluent-ffmpeg keeps in memory; small, because recorders run for days. */
  stdoutLines?: number;
}

export function newCommand(options: NewCommandOptions = {}): FfmpegCommand {
  const command = ffmpeg({ stdoutLines: options.stdoutLines ?? 20 });
  const env = options.env;
  if (env) {
    // `-strftime` names segments in the process's local time and fluent-ffmpeg spawns without an `env`
    // option, so the environment is added where it spawns (also used by its capability probes: harmless).
    const internals = command as unknown as CommandInternals;
    const original = internals._spawnFfmpeg;
    internals._spawnFfmpeg = function (this: unknown, args, spawnOptions, processCB, endCB) {
      let opts = spawnOptions;
      let onProcess = processCB;
      let onEnd = endCB;
      if (typeof opts === 'function') {
        onEnd = processCB as EndCallback;
        onProcess = opts as unknown as EndCallback;
        opts = {};
      }
      return original.call(this, args, { ...opts, env: { ...process.env, ...env } }, onProcess, onEnd);
    };
  }
  return command;
}

/** The child process behind a command, once fluent-ffmpeg has spawned it (after its `start` event). */
export function processOf(command: FfmpegCommand): ChildProcess | undefined {
  return (command as unknown as CommandInternals).ffmpegProc;
}

/** Runs `ffmpeg <args>` through fluent-ffmpeg and resolves with its stdout. */
export function runFfmpegForOutput(args: string[], timeoutMs: number): Promise<string> {
  const command = newCommand({ stdoutLines: 50 });
  const internals = command as unknown as CommandInternals;
  return new Promise((resolve, reject) => {
    let child: ChildProcess | undefined;
    const timer = setTimeout(() => {
      child?.kill('SIGKILL');
      reject(new MediaError('timeout', `ffmpeg ${args.join(' ')} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    internals._spawnFfmpeg.call(
      command,
      args,
      { captureStdout: true, stdoutLines: 50, windowsHide: true },
      (proc: ChildProcess) => {
        child = proc;
      },
      (err, stdout) => {
        clearTimeout(timer);
        if (err) reject(new MediaError('ffmpeg_failed', err.message, { cause: err }));
        else resolve(stdout?.get() ?? '');
      },
    );
  });
}

/**
 * fluent-ffmpeg's ffprobe() with a deadline. It keeps its child process to itself, so on timeout the
 * child is found through /proc (parent pid and argv) and killed; elsewhere the promise still rejects.
 */
export function ffprobe(file: string, extraArgs: string[], timeoutMs: number): Promise<FfprobeData> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      void killOwnChildren((argv) => argv.includes('-show_streams') && argv.at(-1) === file);
      reject(new MediaError('timeout', `ffprobe ${file} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    ffmpeg.ffprobe(file, extraArgs, (err: unknown, data: FfprobeData) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(data);
    });
  });
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  argv: string[];
}

/** Processes whose argv matches, from Linux /proc (empty elsewhere). Never throws. */
export async function findProcesses(match: (p: ProcessInfo) => boolean): Promise<ProcessInfo[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const found: ProcessInfo[] = [];
  await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        try {
          const stat = await readFile(`/proc/${name}/stat`, 'latin1');
          // Fields after the parenthesised command name, which may itself hold spaces or parentheses.
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').filter(Boolean);
          const info = { pid: Number(name), ppid: Number(fields[1]), argv };
          if (argv.length > 0 && match(info)) found.push(info);
        } catch {
          // Gone already, or not ours to read.
        }
      }),
  );
  return found;
}

/** Kills this process's children whose argv matches; returns their pids. */
export async function killOwnChildren(match: (argv: string[]) => boolean): Promise<number[]> {
  const children = await findProcesses((p) => p.ppid === process.pid && match(p.argv));
  const killed: number[] = [];
  for (const child of children) {
    try {
      process.kill(child.pid, 'SIGKILL');
      killed.push(child.pid);
    } catch {
      // Exited meanwhile.
    }
  }
  return killed;
}
