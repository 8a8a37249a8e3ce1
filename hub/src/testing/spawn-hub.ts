import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const HUB_MAIN = path.join(REPO_ROOT, 'hub', 'dist', 'main.js');
export const HEARTH_BIN = path.join(REPO_ROOT, 'hub', 'bin', 'hearth.js');

export interface SpawnedHub {
  url: string;
  setupCode: string | null;
  dataDir: string;
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export function tempDir(prefix = 'hearth-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Starts the compiled hub as production runs it (a separate process, real port on 127.0.0.1)
 * and resolves once it logs `listening` and, on a fresh database, its setup code.
 */
export async function spawnHub(
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<SpawnedHub> {
  const dataDir = options.dataDir ?? tempDir();
  const child = spawn(process.execPath, [HUB_MAIN], {
    env: {
      ...process.env,
      HEARTH_DATA_DIR: dataDir,
      HEARTH_PORT: '0',
      HEARTH_HOST: '127.0.0.1',
      HEARTH_DEMO: '0',
      // Demo tests count cameras and processes; the one about photos turns the virtual camera on.
      HEARTH_DEMO_PHOTOS: '0',
      HEARTH_DETECTIONS: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ready = new Promise<{ url: string; setupCode: string | null }>((resolve, reject) => {
    let url: string | undefined;
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'listening') {
        url = entry.url as string;
        if (entry.setupNeeded === false) resolve({ url, setupCode: null });
      }
      if (url && typeof entry.setupCode === 'string') resolve({ url, setupCode: entry.setupCode });
    });
    void exited.then((code) => reject(new Error(`hub exited with ${code} before it was ready:\n${stderr}`)));
  });

  const { url, setupCode } = await ready;
  return {
    url,
    setupCode,
    dataDir,
    child,
    logs,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}

/** Runs the `hearth` CLI against a data folder; resolves with its output and exit code. */
export function runCli(
  args: string[],
  options: { dataDir: string; input?: string; env?: Record<string, string> },
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; lastLine: string }>((resolve) => {
    const child = spawn(process.execPath, [HEARTH_BIN, ...args], {
      env: { ...process.env, HEARTH_DATA_DIR: options.dataDir, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdin.end(options.input ?? '');
    child.on('exit', (code) => {
      const lines = stdout.trim().split('\n');
      resolve({ code, stdout, stderr, lastLine: lines[lines.length - 1] ?? '' });
    });
  });
}
