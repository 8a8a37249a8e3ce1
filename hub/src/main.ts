import { ConfigError, loadConfig } from './config/load.js';
import { createHub } from './hub.js';
import { createLogger } from './log/logger.js';
import { systemdNotifier } from './system/sd-notify.js';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}

const log = createLogger(config.log.level);
// Under systemd (Type=notify): READY once serving, watchdog pings from this event loop, STOPPING.
// Made first: the hub's child processes (ffmpeg, its fs worker) must not inherit the notify variables.
const systemd = systemdNotifier({ log });
const hub = createHub({ config, log });

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  systemd.stopping('Stopping: finishing requests and segments');
  try {
    await hub.stop();
    process.exit(0);
  } catch (error) {
    log.fatal({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception; exiting so systemd restarts a clean process');
  process.exit(1);
});

try {
  const { url, httpsUrl } = await hub.start();
  if (process.stderr.isTTY) {
    const code = hub.setup.currentCode();
    // HTTPS (tls/): the second address, and where phones get the hub's CA certificate.
    const secure = httpsUrl
      ? `  Over HTTPS at ${httpsUrl} once its certificate is installed: see ${url}/secure\n`
      : '';
    process.stderr.write(
      `\n  Hearth is running at ${url}\n${secure}${code ? `  First run: open ${url}/setup and enter the setup code ${code}\n` : ''}\n`,
    );
  }
  const recording = hub.cameras.listForRecording().length;
  systemd.ready(`Listening on ${url}; recording ${recording} camera${recording === 1 ? '' : 's'}`);
} catch (error) {
  log.fatal({ err: error }, 'hub failed to start');
  process.exit(1);
}
