/** Source URLs may carry `user:password@`; this is the only form that leaves the hub (API, logs). */
export function redactUrl(url: string | null): string | null {
  if (!url) return url;
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    const scheme = `${parsed.protocol}//`;
    const rest = url.slice(url.indexOf('@') + 1);
    return `${scheme}${parsed.username ? decodeURIComponent(parsed.username) : ''}:***@${rest}`;
  } catch {
    return '[unparseable url]';
  }
}
