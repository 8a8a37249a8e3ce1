import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { type Http2Bindings, type HttpBindings, serve } from '@hono/node-server';
import type { Logger } from '../log/logger.js';
import type { TlsService } from './tls.service.js';

type Fetch = (request: Request, env: HttpBindings | Http2Bindings) => unknown;

/** Headers of HTTP/1.1 connections, which HTTP/2 forbids (Node refuses to send a response carrying them). */
const CONNECTION_HEADERS = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

/**
 * The app answers as for HTTP/1.1 (Hono's SSE helper sets `Connection` and `Transfer-Encoding`); on an
 * HTTP/2 stream those headers are dropped, since HTTP/2 frames the body itself.
 */
function forHttp2(fetch: Fetch): Fetch {
  return async (request, env) => {
    const response = await fetch(request, env);
    if (!(env.incoming instanceof http2.Http2ServerRequest) || !(response instanceof Response))
      return response;
    if (!CONNECTION_HEADERS.some((name) => response.headers.has(name))) return response;
    const headers = new Headers(response.headers);
    for (const name of CONNECTION_HEADERS) headers.delete(name);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
}

/**
 * HTTP/2 sends the host as `:authority`, which @hono/node-server leaves out of the request's headers;
 * the hub reads `Host` (the CSRF guard compares it with `Origin`), so it is added as HTTP/1.1 has it.
 */
function withHostHeader(request: http2.Http2ServerRequest | import('node:http').IncomingMessage): void {
  if (!(request instanceof http2.Http2ServerRequest)) return;
  const authority = request.authority;
  if (authority && request.headers.host === undefined) request.rawHeaders.push('host', authority);
}

/**
 * The hub's app on HTTPS: HTTP/2 where the client offers it (ALPN), HTTP/1.1 otherwise, the certificate
 * from the TLS service, swapped in place whenever it is issued again (open connections keep theirs).
 */
export async function listenHttps(deps: {
  fetch: Fetch;
  port: number;
  hostname: string;
  tls: TlsService;
  log: Logger;
}) {
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<Socket>();
  const createServer = ((options: http2.SecureServerOptions, listener: (...args: never[]) => void) =>
    http2.createSecureServer(options, (request, response) => {
      withHostHeader(request);
      (listener as (req: typeof request, res: typeof response) => void)(request, response);
    })) as unknown as typeof http2.createSecureServer;

  let server: http2.Http2SecureServer | undefined;
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server = serve(
      {
        fetch: forHttp2(deps.fetch),
        port: deps.port,
        hostname: deps.hostname,
        createServer,
        serverOptions: { ...deps.tls.secureContext(), allowHTTP1: true },
      },
      (info) => resolve(info),
    ) as http2.Http2SecureServer;
    server.once('error', reject);
  });
  const secure = server!;
  secure.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  secure.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A failed handshake (a phone that does not trust the CA yet) is the client's business, not an error here.
  secure.on('tlsClientError', (error) => deps.log.debug({ err: error }, 'TLS handshake failed'));
  const unsubscribe = deps.tls.onChange(() => {
    secure.setSecureContext(deps.tls.secureContext());
    deps.log.info('HTTPS certificate swapped in');
  });

  return {
    server: secure,
    port: address.port,
    /**
     * Stops accepting, asks HTTP/2 clients to go away (GOAWAY: streams in flight finish), closes idle
     * HTTP/1.1 connections, and after `graceMs` destroys whatever is still open. Resolves when closed.
     */
    async close(graceMs: number): Promise<'closed' | 'forced'> {
      unsubscribe();
      const closed = new Promise<void>((resolve) => secure.close(() => resolve()));
      for (const session of sessions) session.close();
      const grace = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), graceMs).unref(),
      );
      if ((await Promise.race([closed, grace])) !== 'timeout') return 'closed';
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
      return 'forced';
    },
  };
}

export type HttpsServer = Awaited<ReturnType<typeof listenHttps>>;
