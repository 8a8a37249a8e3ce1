import { z } from 'zod';
import { aiConfigSchema } from '../ai/ai.config.js';

/**
 * The whole hub configuration: one strict tree with a default on every field, so an empty
 * file (or none) is a working appliance and a typo in a key is an error, not a silent default.
 * Each feature receives only its own slice.
 */
export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Largest request body accepted by JSON endpoints; upload endpoints set their own. */
        bodyLimitBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
        /** How long shutdown waits for in-flight requests before closing them. */
        shutdownGraceMs: z.number().int().nonnegative().default(10_000),
        /** Built UI assets; empty means the ui workspace's dist folder next to this package. */
        uiDir: z.string().default(''),
      })
      .strict()
      .prefault({}),
    /** HTTPS from the hub's own local CA (`hub/src/tls/`): browsers need it for notifications and the PWA. */
    https: z
      .object({
        enabled: z.boolean().default(true),
        /** 0: any free port. Unset while `server.port` is 0 (tests) it is 0 too, otherwise 8443. */
        port: z.number().int().min(0).max(65535).default(8443),
        /** Extra DNS names for the certificate, besides `<hostname>.local` and `localhost`. */
        names: z
          .array(
            z
              .string()
              .toLowerCase()
              .regex(
                /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
                'not a DNS name',
              ),
          )
          .max(20)
          .default([]),
        /** Redirect browsers' page loads on plain HTTP to HTTPS until the owner decides (setting `httpsRedirect`). */
        redirectHttp: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    dataDir: z.string().min(1).default('./var'),
    /** The NAS mount (a plain folder in demo mode); empty means `<dataDir>/nas`. */
    nasDir: z.string().default(''),
    /** Keys that must never travel with the database or its backups (the Wi-Fi sealing key); default <data>/secrets. */
    secretsDir: z.string().default(''),
    demo: z.boolean().default(false),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        sessionMaxAgeHours: z
          .number()
          .positive()
          .default(24 * 30),
        sessionIdleHours: z
          .number()
          .positive()
          .default(24 * 7),
        passwordMinLength: z.number().int().min(8).max(128).default(10),
        /** Failed logins allowed per client address per window before 429. */
        loginAttemptsPerIp: z.number().int().positive().default(20),
        /** Failed logins allowed per account per window before 429 (guards against spread-out guessing). */
        loginAttemptsPerAccount: z.number().int().positive().default(5),
        loginWindowSeconds: z
          .number()
          .int()
          .positive()
          .default(15 * 60),
        /** Set when the hub is reached over HTTPS so cookies carry `Secure`. */
        secureCookies: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    jobs: z
      .object({
        pollIntervalMs: z.number().int().positive().default(1000),
        defaultMaxAttempts: z.number().int().positive().default(5),
        backoffBaseMs: z.number().int().positive().default(2000),
        backoffMaxMs: z
          .number()
          .int()
          .positive()
          .default(60 * 60 * 1000),
        keepFinishedDays: z.number().positive().default(7),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        /** Live events kept in memory so a reconnecting tab resumes with Last-Event-ID. */
        replayBuffer: z.number().int().positive().default(500),
        heartbeatSeconds: z.number().int().positive().default(15),
        /** Open event streams allowed at once (each holds a connection). */
        maxStreams: z.number().int().positive().default(64),
        keepSystemEventsDays: z.number().positive().default(90),
      })
      .strict()
      .prefault({}),
    care: z
      .object({
        /** An emergency nobody acknowledged is told to every member again after this long, louder. */
        escalateAfterSeconds: z.number().int().min(1).max(3600).default(120),
        /** How many times at most. */
        maxEscalations: z.number().int().min(0).max(100).default(5),
        /** Raw readings are kept this long; per-minute and per-hour rollups of them `rollupDays`. */
        rawDays: z.number().int().min(1).max(365).default(10),
        rollupDays: z.number().int().min(1).max(3650).default(730),
        /** The hub silent this long: a node tells the household's webhook/ntfy channels directly (dead-man). */
        deadmanSeconds: z.number().int().min(1).max(86_400).default(600),
      })
      .strict()
      .prefault({}),
    nodes: z
      .object({
        /** How often edge nodes send a heartbeat (they learn it from the hub); three missed: offline. */
        heartbeatSeconds: z.number().int().min(1).max(300).default(15),
      })
      .strict()
      .prefault({}),
    devices: z
      .object({
        /** A device not heard from for this long is marked offline. */
        offlineAfterSeconds: z.number().int().positive().default(120),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        /** Where ffmpeg writes segments before the mover places them; empty: `<dataDir>/staging`. tmpfs spares an SD card but a power cut then loses the segment in progress. */
        stagingDir: z.string().default(''),
        /** Bounded local folder for segments while the NAS is unhealthy; empty: `<dataDir>/spool`. */
        spoolDir: z.string().default(''),
        spoolQuotaBytes: z
          .number()
          .int()
          .positive()
          .default(2 * 1024 ** 3),
        /** The NAS root must be a mount point; unset means true, except in demo mode (a plain folder). */
        requireNasMount: z.boolean().optional(),
        nasCheckSeconds: z.number().int().positive().default(15),
        /** A NAS operation slower than this counts as a hang: it is abandoned and the NAS marked unhealthy. */
        nasTimeoutMs: z.number().int().positive().default(5000),
      })
      .strict()
      .prefault({}),
    /** Starting values of the storage budget; the owner changes them at run time (`PUT /api/retention`). */
    retention: z
      .object({
        /** Recordings on the NAS may use at most this many bytes; 0: no cap. */
        maxBytes: z.number().int().min(0).default(0),
        /** Keep at least this share of the NAS filesystem free (the larger of the two minimums wins); demo mode: at most 1 %. */
        minFreePercent: z.number().min(0).max(50).default(5),
        /** Demo mode: at most 256 MiB. */
        minFreeBytes: z
          .number()
          .int()
          .min(0)
          .default(2 * 1024 ** 3),
        /** Footage older than this is deleted; 0: kept as long as it fits. */
        maxDays: z.number().int().min(0).max(3650).default(30),
        /** Kept as long as the global limits allow. */
        minDays: z.number().int().min(0).max(3650).default(0),
        intervalSeconds: z.number().int().positive().default(300),
      })
      .strict()
      .prefault({}),
    recording: z
      .object({
        /** A recorder whose output has not grown for this long is restarted. */
        stallSeconds: z.number().int().min(2).default(20),
        restartBackoffBaseMs: z.number().int().positive().default(1000),
        restartBackoffMaxMs: z.number().int().positive().default(60_000),
        /** Segment length of a demo camera created without one; tests go below the 10 s cameras are allowed. */
        demoSegmentSeconds: z.number().int().min(2).max(300).default(10),
      })
      .strict()
      .prefault({}),
    live: z
      .object({
        /** Viewers of one camera's live MJPEG at once (each holds a connection; the camera sees only the hub). */
        maxViewersPerCamera: z.number().int().positive().default(8),
        /** Segment thumbnails kept in `<dataDir>/cache/thumbs`; the least recently used go first. */
        thumbnailCacheBytes: z
          .number()
          .int()
          .positive()
          .default(200 * 1024 ** 2),
        /** Snapshots of cameras' newest segments kept in `<dataDir>/cache/snapshots`. */
        snapshotCacheBytes: z
          .number()
          .int()
          .positive()
          .default(20 * 1024 ** 2),
      })
      .strict()
      .prefault({}),
    backup: z
      .object({
        /** Archives of this host kept in the folder a backup lands in (`<nasDir>/backups` or the spool `<dataDir>/backups`). */
        keep: z.number().int().min(1).default(7),
        /**
         * Who takes the periodic backup: the hub itself every `intervalHours` (`npm start` installs), the
         * systemd `hearth-backup.timer` running `hearth backup` (the appliance; setup.sh writes "timer"), or nobody.
         */
        schedule: z.enum(['hub', 'timer', 'off']).default('hub'),
        intervalHours: z.number().positive().default(24),
      })
      .strict()
      .prefault({}),
    exports: z
      .object({
        /** Finished (or failed) clip exports and their files are deleted this long after they finish. */
        keepHours: z.number().positive().default(24),
        /** ffmpeg reading nothing this long (a hung NAS) is killed and the export attempt fails. */
        stallSeconds: z.number().int().positive().default(30),
      })
      .strict()
      .prefault({}),
    /** Adding cameras over Bluetooth (BlueZ through D-Bus). */
    ble: z
      .object({
        enabled: z.boolean().default(true),
        /** The hub as cameras should call it; default `http://<hostname>.local:<port>` (mDNS). */
        hubUrl: z.string().default(''),
        /** The same by IP address, for networks without mDNS; default the first LAN IPv4 address. */
        hubAddressUrl: z.string().default(''),
        /** How long an enrolled camera has to make its first upload before the adoption fails. */
        contactSeconds: z.number().int().min(10).max(3600).default(120),
      })
      .strict()
      .prefault({}),
    /** Photo uploads of battery cameras (`POST /api/device/photos`). */
    photos: z
      .object({
        /** Largest upload body; past it, 413. */
        maxUploadBytes: z
          .number()
          .int()
          .positive()
          .default(10 * 1024 * 1024),
        maxPhotosPerUpload: z.number().int().min(1).max(50).default(10),
        /** Uploads per device per minute; 0: no limit (tests). Past it, 429 with Retry-After. */
        uploadsPerMinute: z.number().int().min(0).default(30),
        /** A capture time further than this from the hub's clock is replaced by the receive time and flagged. */
        clockToleranceSeconds: z.number().int().positive().default(600),
        /** In demo mode, a virtual battery camera (`demo-garden`) uploads bursts to this hub. */
        demoCamera: z.boolean().default(true),
        /** How often that virtual camera wakes when first seeded (a real one sleeps minutes; tests want less). */
        demoWakeSeconds: z.number().int().min(10).max(3600).default(30),
      })
      .strict()
      .prefault({}),
    ai: aiConfigSchema.prefault({}),
    /** `GET /metrics` (Prometheus text format). */
    metrics: z
      .object({
        /**
         * Who may scrape: `localhost` (loopback peers), `lan` (private, link-local and unique-local
         * addresses), `owners` (an owner's session, from anywhere), or addresses and CIDRs
         * (`192.168.1.20`, `192.168.1.0/24`). Empty: nobody.
         */
        allowFrom: z
          .array(
            z.union([z.enum(['localhost', 'lan', 'owners']), z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()]),
          )
          .max(64)
          .default(['localhost', 'owners']),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
