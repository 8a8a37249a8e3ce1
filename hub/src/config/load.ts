import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type Config, type ConfigInput, configSchema } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function fromEnvironment(env: NodeJS.ProcessEnv): ConfigInput {
  const out: Record<string, unknown> = {};
  const server: Record<string, unknown> = {};
  if (env.HEARTH_PORT !== undefined && env.HEARTH_PORT !== '') {
    const port = Number(env.HEARTH_PORT);
    if (!Number.isInteger(port))
      throw new ConfigError(`HEARTH_PORT must be an integer, got "${env.HEARTH_PORT}"`);
    server.port = port;
  }
  if (env.HEARTH_HOST) server.host = env.HEARTH_HOST;
  if (Object.keys(server).length > 0) out.server = server;
  if (env.HEARTH_HTTPS_PORT !== undefined && env.HEARTH_HTTPS_PORT !== '') {
    const port = Number(env.HEARTH_HTTPS_PORT);
    if (!Number.isInteger(port))
      throw new ConfigError(`HEARTH_HTTPS_PORT must be an integer, got "${env.HEARTH_HTTPS_PORT}"`);
    out.https = { port };
  }
  if (env.HEARTH_DATA_DIR) out.dataDir = env.HEARTH_DATA_DIR;
  if (env.HEARTH_NAS_DIR) out.nasDir = env.HEARTH_NAS_DIR;
  if (env.HEARTH_DEMO !== undefined && env.HEARTH_DEMO !== '') {
    if (!['0', '1', 'true', 'false'].includes(env.HEARTH_DEMO))
      throw new ConfigError(`HEARTH_DEMO must be 0 or 1, got "${env.HEARTH_DEMO}"`);
    out.demo = env.HEARTH_DEMO === '1' || env.HEARTH_DEMO === 'true';
  }
  if (env.HEARTH_DEMO_PHOTOS !== undefined && env.HEARTH_DEMO_PHOTOS !== '') {
    if (!['0', '1'].includes(env.HEARTH_DEMO_PHOTOS))
      throw new ConfigError(`HEARTH_DEMO_PHOTOS must be 0 or 1, got "${env.HEARTH_DEMO_PHOTOS}"`);
    out.photos = { demoCamera: env.HEARTH_DEMO_PHOTOS === '1' };
  }
  if (env.HEARTH_DETECTIONS !== undefined && env.HEARTH_DETECTIONS !== '') {
    if (!['0', '1'].includes(env.HEARTH_DETECTIONS))
      throw new ConfigError(`HEARTH_DETECTIONS must be 0 or 1, got "${env.HEARTH_DETECTIONS}"`);
    out.ai = { detections: { enabled: env.HEARTH_DETECTIONS === '1' } };
  }
  if (env.HEARTH_LOG_LEVEL) out.log = { level: env.HEARTH_LOG_LEVEL };
  return out as ConfigInput;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = result[key];
    result[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prior && typeof prior === 'object'
        ? deepMerge(prior as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return result;
}

const hubRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Defaults < config file (`HEARTH_CONFIG`, JSON) < environment < explicit overrides (tests).
 * Relative paths resolve against the working directory, as a shell user expects.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigInput = {}): Config {
  let fileInput: Record<string, unknown> = {};
  if (env.HEARTH_CONFIG) {
    try {
      fileInput = JSON.parse(readFileSync(env.HEARTH_CONFIG, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`cannot read HEARTH_CONFIG ${env.HEARTH_CONFIG}: ${(error as Error).message}`);
    }
  }
  const merged = deepMerge(
    deepMerge(fileInput, fromEnvironment(env) as Record<string, unknown>),
    overrides as Record<string, unknown>,
  );
  // A hub on any free HTTP port (tests, several hubs at once) takes any free HTTPS port too, unless told one.
  const mergedServer = merged.server as { port?: unknown } | undefined;
  const mergedHttps = merged.https ?? {};
  if (mergedServer?.port === 0 && typeof mergedHttps === 'object' && !('port' in mergedHttps))
    merged.https = { ...mergedHttps, port: 0 };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  config.dataDir = path.resolve(config.dataDir);
  config.nasDir = path.resolve(config.nasDir || path.join(config.dataDir, 'nas'));
  config.server.uiDir = path.resolve(config.server.uiDir || path.join(hubRoot, '..', 'ui', 'dist'));
  config.storage.stagingDir = path.resolve(config.storage.stagingDir || path.join(config.dataDir, 'staging'));
  config.storage.spoolDir = path.resolve(config.storage.spoolDir || path.join(config.dataDir, 'spool'));
  config.secretsDir = path.resolve(config.secretsDir || path.join(config.dataDir, 'secrets'));
  config.storage.requireNasMount ??= !config.demo;
  return config;
}
