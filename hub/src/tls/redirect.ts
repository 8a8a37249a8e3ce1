/**
 * Plain HTTP to HTTPS, once the household opts in: only a browser loading a page (GET or HEAD that
 * accepts text/html) outside `/api` is sent on. API calls, and above all `/api/device/*` (cameras and
 * edge nodes have no CA to check the hub's certificate against), are always answered where they came.
 */
export function isPageLoad(request: Request): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const { pathname } = new URL(request.url);
  if (pathname === '/api' || pathname.startsWith('/api/')) return false;
  return (request.headers.get('accept') ?? '').toLowerCase().includes('text/html');
}

/** `https://<same host>:<httpsPort><path>?<query>` (no port for 443). */
export function httpsLocation(request: Request, httpsPort: number): string {
  const url = new URL(request.url);
  url.protocol = 'https:';
  url.port = httpsPort === 443 ? '' : String(httpsPort);
  return url.href;
}

/**
 * Wraps the plain-HTTP server's fetch. The 308 is `no-store`, so a browser does not keep redirecting
 * after the owner turns it off (a cached permanent redirect would outlive the setting).
 */
export function withHttpsRedirect<Env>(
  fetch: (request: Request, env: Env) => Response | Promise<Response>,
  options: { httpsPort: () => number | null; enabled: () => boolean },
) {
  return (request: Request, env: Env): Response | Promise<Response> => {
    const port = options.httpsPort();
    if (port !== null && isPageLoad(request) && options.enabled())
      return new Response(null, {
        status: 308,
        headers: { location: httpsLocation(request, port), 'cache-control': 'no-store' },
      });
    return fetch(request, env);
  };
}
