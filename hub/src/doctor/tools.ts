import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export type ToolResult =
  | { outcome: 'ok'; stdout: string; stderr: string }
  /** Not on PATH: the machine lacks the package, which calls for a different fix than a tool that broke. */
  | { outcome: 'missing' }
  | { outcome: 'failed'; code: number | null; stdout: string; stderr: string; message: string }
  | { outcome: 'timeout' };

const MAX_OUTPUT = 64 * 1024;

/**
 * Runs an outside tool (systemctl, timedatectl, chronyc, ffmpeg -version…) for a diagnosis: never
 * longer than `timeoutMs` (a wedged D-Bus makes systemctl wait for 25 s), output capped, and "not
 * installed" told apart from "ran and failed".
 */
export function runTool(
  command: string,
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ToolResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += chunk.toString();
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (
        error.code === 'ENOENT' ||
        (error.code === 'EACCES' && !onPath(command, options.env ?? process.env))
      )
        resolve({ outcome: 'missing' });
      else resolve({ outcome: 'failed', code: null, stdout, stderr, message: error.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) resolve({ outcome: 'timeout' });
      else if (code === 0) resolve({ outcome: 'ok', stdout, stderr });
      else
        resolve({
          outcome: 'failed',
          code,
          stdout,
          stderr,
          message: firstLine(stderr) || firstLine(stdout) || `exit code ${code}`,
        });
    });
  });
}

/**
 * Whether an executable of that name is on PATH. Spawning says EACCES instead of ENOENT when some PATH
 * folder cannot be searched (root's ~/.local/bin after `sudo -u hearth`), though the tool is just absent.
 */
function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  if (command.includes('/')) return true;
  return (env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}
