import path from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { routePath } from 'hono/route';
import { secureHeaders } from 'hono/secure-headers';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZodError } from 'zod';
import type { Logger } from '../log/logger.js';
import type { AppEnv } from './env.js';
import { AppError, type ErrorBody } from './errors.js';
import { issuesOf } from './validate.js';

function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/**
 * The outer app: request ids, access log, body limits, one error mapping, the API mounted at
 * `/api`, and the built UI as static files with a single-page fallback.
 */
export function createHttpApp<Api extends Hono<AppEnv>>(deps: {
  log: Logger;
  api: Api;
  uiDir: string;
  bodyLimitBytes: number;
  /** Paths that stream their bodies and enforce their own, larger limits (photo uploads). */
  streamedBodyPaths?: string[];
  openApi: () => unknown;
  /** Observability (metrics/): told of every answered request; its `/metrics` route is served before the UI. */
  metrics?: {
    observe(method: string, route: string, status: number, seconds: number): void;
    routes: Hono<AppEnv>;
  };
}) {
  const app = new Hono<AppEnv>();

  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    c.set('log', deps.log.child({ req: c.get('requestId') }));
    await next();
    const ms = performance.now() - started;
    // The pattern of the handler that answered (`/api/cameras/:id`, `*` for no route): a bounded label.
    deps.metrics?.observe(c.req.method, routePath(c), c.res.status, ms / 1000);
    const line = {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(ms),
    };
    if (c.req.path === '/api/health') c.get('log').debug(line, 'request');
    else c.get('log').info(line, 'request');
  });
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        // Live H.264 (Media Source Extensions) and hls.js hand the <video> a blob: URL of a MediaSource.
        mediaSrc: ["'self'", 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
      },
      crossOriginEmbedderPolicy: false,
      // HTTPS (tls/): no HSTS. It would make a browser turn http://hearth.local:8080 into https:// on that
      // same port (HSTS keeps non-default ports), breaking plain HTTP, which devices and the opt-in redirect use.
      strictTransportSecurity: false,
    }),
  );
  const limitBody = bodyLimit({
    maxSize: deps.bodyLimitBytes,
    onError: () => {
      throw new AppError(413, 'payload_too_large', `Request body over ${deps.bodyLimitBytes} bytes.`, {
        limitBytes: deps.bodyLimitBytes,
      });
    },
  });
  const streamed = new Set(deps.streamedBodyPaths ?? []);
  app.use('/api/*', (c, next) => (streamed.has(c.req.path) ? next() : limitBody(c, next)));

  app.get('/api/openapi.json', (c) => c.json(deps.openApi()));
  app.route('/api', deps.api);
  if (deps.metrics) app.route('/', deps.metrics.routes);

  const root = path.relative(process.cwd(), deps.uiDir) || '.';
  app.use(
    '/*',
    serveStatic({
      root,
      onFound: (file, c) => {
        c.header(
          'Cache-Control',
          file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    }),
  );
  // Client-side routes (/devices, /settings…) load the app shell.
  app.get('*', async (c, next) => {
    if (c.req.path.startsWith('/api/')) return next();
    return serveStatic({
      root,
      path: 'index.html',
      onFound: (_file, ctx) => ctx.header('Cache-Control', 'no-cache'),
    })(c, next);
  });

  app.notFound((c) => {
    if (c.req.path.startsWith('/api/') || c.req.path === '/api')
      return c.json(errorBody('not_found', `No such endpoint: ${c.req.method} ${c.req.path}`), 404);
    return c.text('The web UI is not built. Run `npm run build`.', 404);
  });

  app.onError((error, c) => {
    const log = c.get('log') ?? deps.log;
    if (error instanceof AppError) {
      for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
      return c.json(errorBody(error.code, error.message, error.details), error.status);
    }
    if (error instanceof ZodError)
      return c.json(errorBody('invalid_input', 'Invalid input.', { issues: issuesOf(error) }), 400);
    if (error instanceof HTTPException) {
      const status = error.status;
      const message =
        status === 400 && /json/i.test(error.message) ? 'Malformed JSON in request body.' : error.message;
      return c.json(
        errorBody(CODE_BY_STATUS[status] ?? 'http_error', message || 'Request refused.'),
        status as ContentfulStatusCode,
      );
    }
    log.error({ err: error, path: c.req.path }, 'unhandled error');
    return c.json(errorBody('internal', 'Something went wrong on the hub; it is in the log.'), 500);
  });

  return app;
}
