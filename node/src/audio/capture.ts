import { type ChildProcess, spawn } from 'node:child_process';

/** What ffmpeg is asked for whatever the input: 16 kHz mono signed 16-bit PCM on stdout, nothing else. */
export const PCM_OUTPUT = [
  '-vn',
  '-ac',
  '1',
  '-ar',
  '16000',
  '-acodec',
  'pcm_s16le',
  '-f',
  's16le',
  'pipe:1',
];

export function captureArgs(input: string[]): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'error', ...input, ...PCM_OUTPUT];
}

export interface CaptureHealth {
  running: boolean;
  restarts: number;
  lastError: string | null;
}

/**
 * One ffmpeg capturing audio, started again whenever it ends (a USB microphone unplugged, an ALSA xrun that
 * kills it): after `restartMs`, doubling up to 30 s while it keeps dying young, back to `restartMs` once a run
 * lasted a minute. `onStart` marks each new run: the audio before it does not continue into the next.
 */
export function superviseCapture(options: {
  command: string;
  args: string[];
  restartMs: number;
  onStart(): void;
  /** Whole samples only (an odd byte waits for the next chunk). */
  onPcm(pcm: Buffer): void;
}) {
  let child: ChildProcess | null = null;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = options.restartMs;
  let restarts = 0;
  let lastError: string | null = null;
  let exited: Promise<void> = Promise.resolve();

  function start() {
    const startedAt = Date.now();
    let carry: Buffer | null = null;
    let stderr = '';
    const running = spawn(options.command, options.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = running;
    options.onStart();
    running.stdout!.on('data', (chunk: Buffer) => {
      const data = carry ? Buffer.concat([carry, chunk]) : chunk;
      const whole = data.length - (data.length % 2);
      carry = whole < data.length ? Buffer.from(data.subarray(whole)) : null;
      if (whole > 0) options.onPcm(data.subarray(0, whole));
    });
    running.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-300);
    });
    exited = new Promise<void>((resolve) => {
      running.on('error', (error) => {
        lastError = error.message;
      });
      running.on('close', (code, signal) => {
        child = null;
        resolve();
        if (stopping) return;
        lastError = `ffmpeg ended (${code ?? signal})${stderr.trim() ? `: ${stderr.trim()}` : ''}`;
        restarts++;
        if (Date.now() - startedAt > 60_000) delay = options.restartMs;
        timer = setTimeout(start, delay);
        delay = Math.min(30_000, delay * 2);
      });
    });
  }

  start();
  return {
    health(): CaptureHealth {
      return { running: child !== null, restarts, lastError };
    },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      const running = child;
      if (running) {
        running.kill('SIGTERM');
        const kill = setTimeout(() => running.kill('SIGKILL'), 2_000);
        await exited;
        clearTimeout(kill);
      }
    },
  };
}
