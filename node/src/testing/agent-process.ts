import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '@hearth/hub/testing';

const AGENT = path.join(REPO_ROOT, 'node', 'src', 'main.ts');

export interface AgentProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGTERM (a systemd stop) or SIGKILL (a power cut); resolves once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `hearth-node --state-dir DIR …` as a separate process, from the sources (as the tests run everything). */
export function agentProcess(stateDir: string, args: string[]): AgentProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=development', AGENT, '--state-dir', stateDir, ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
