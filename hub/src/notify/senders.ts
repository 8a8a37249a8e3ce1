import { createHmac, randomBytes } from 'node:crypto';
import { deadline } from '../protocol/deadline.js';
import type { ChannelConfig, MqttChannel, NtfyChannel, WebhookChannel } from './channels.js';
import { type Notice, type NoticeSeverity, noticeJson } from './notice.js';

/**
 * One delivery of one notice on one channel. Each sender throws a `DeliveryError` with a short reason
 * (`HTTP 500`, `connection refused`, `timed out after 10 s`); `final` says retrying cannot help (a 4xx
 * other than 408/429, a redirect, a broker refusing the credentials). Imports nothing else from the hub.
 */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    message: string,
    readonly final = false,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface SendOptions {
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
  /** Ends the attempt early (the hub stopping). */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** ntfy turns a longer body into an attachment. */
const NTFY_MAX_BODY_BYTES = 4096;
const NTFY_PRIORITY: Record<NoticeSeverity, string> = { emergency: '5', warning: '4', info: '3' };
const NTFY_TAG: Record<NoticeSeverity, string> = {
  emergency: 'rotating_light',
  warning: 'warning',
  info: 'information_source',
};

/** One attempt's signal: aborted after the timeout (a `TimeoutError`) or with the caller's signal. */
function attemptDeadline(options: SendOptions): { signal: AbortSignal; done(): void } {
  return deadline(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.signal);
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** A network failure in words a person can act on. */
function reasonOf(error: unknown, options: SendOptions, where: string): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const err = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  if (err?.name === 'TimeoutError')
    return new DeliveryError(
      `timed out after ${seconds(options.timeoutMs ?? DEFAULT_TIMEOUT_MS)} (${where})`,
    );
  if (err?.name === 'AbortError') return new DeliveryError('stopped');
  const code = err?.cause?.code ?? err?.code;
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    ETIMEDOUT: 'connection timed out',
    UND_ERR_SOCKET: 'connection closed',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
    UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted (self-signed) TLS certificate',
    SELF_SIGNED_CERT_IN_CHAIN: 'untrusted TLS certificate',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted TLS certificate',
    ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not name this host',
  };
  if (code && words[code]) return new DeliveryError(`${words[code]} (${where})`);
  const message = err?.cause && 'message' in err.cause ? String(err.cause.message) : err?.message;
  return new DeliveryError(`${code ? `${code}: ` : ''}${message ?? String(error)} (${where})`);
}

/** A non-2xx answer: 4xx is final except 408 and 429; a redirect is never followed (it may leave the LAN). */
async function checkAnswer(response: Response): Promise<void> {
  // Read the (small) body so the connection can be reused; what it says is kept short for the UI.
  const text = (await response.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 120);
  if (response.status >= 200 && response.status < 300) return;
  const detail = text ? `: ${text}` : '';
  if (response.status >= 300 && response.status < 400)
    throw new DeliveryError(
      `HTTP ${response.status} redirect to ${response.headers.get('location') ?? '?'} (not followed)`,
      true,
      response.status,
    );
  const final = response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status);
  throw new DeliveryError(`HTTP ${response.status}${detail}`, final, response.status);
}

async function post(
  url: string,
  init: { headers: Record<string, string>; body: string },
  options: SendOptions,
) {
  const where = new URL(url).host;
  const attempt = attemptDeadline(options);
  try {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: attempt.signal,
      ...init,
    });
    await checkAnswer(response);
  } catch (error) {
    throw reasonOf(error, options, where);
  } finally {
    attempt.done();
  }
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the channel's secret. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** POST the notice as JSON; signed when the channel has a secret. */
export async function sendWebhook(channel: WebhookChannel, notice: Notice, options: SendOptions = {}) {
  const body = noticeJson(notice);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Hearth',
    'x-hearth-notice-id': notice.id,
  };
  if (channel.secret) headers['x-hearth-signature'] = webhookSignature(channel.secret, body);
  await post(channel.url, { headers, body }, options);
}

/** A header value ntfy decodes: ASCII as is, anything else as an RFC 2047 encoded word. */
function headerText(value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(clean)
    ? clean
    : `=?UTF-8?B?${Buffer.from(clean, 'utf8').toString('base64')}?=`;
}

/** A value in ntfy's `Actions` header, quoted when it holds a separator. */
function actionValue(value: string): string {
  return /[,;"']/.test(value) ? `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : value;
}

/** ntfy's `Actions` header: Acknowledge (an HTTP POST from the phone) and Open, when the notice has them. */
export function ntfyActions(notice: Notice): string | undefined {
  const actions: string[] = [];
  if (notice.ackUrl)
    actions.push(
      `action=http, label=Acknowledge, url=${actionValue(new URL(notice.ackUrl).href)}, method=POST, clear=true`,
    );
  if (notice.url) actions.push(`action=view, label=Open, url=${actionValue(new URL(notice.url).href)}`);
  return actions.length ? actions.join('; ') : undefined;
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  // Cut on a character boundary: drop a trailing partial sequence, then mark the cut.
  return `${bytes
    .subarray(0, maxBytes - 3)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}…`;
}

/** ntfy's publish API: POST <server>/<topic>, the message as the body, the rest in headers. */
export async function sendNtfy(channel: NtfyChannel, notice: Notice, options: SendOptions = {}) {
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    'user-agent': 'Hearth',
    title: headerText(notice.title),
    priority: NTFY_PRIORITY[notice.severity],
    tags: [NTFY_TAG[notice.severity], notice.kind === 'resolved' ? 'white_check_mark' : null, 'hearth']
      .filter(Boolean)
      .join(','),
  };
  if (notice.url) headers.click = new URL(notice.url).href;
  const actions = ntfyActions(notice);
  if (actions) headers.actions = actions;
  if (channel.token) headers.authorization = `Bearer ${channel.token}`;
  const url = `${channel.server.replace(/\/+$/, '')}/${channel.topic}`;
  await post(
    url,
    { headers, body: truncateUtf8(notice.message || notice.title, NTFY_MAX_BODY_BYTES) },
    options,
  );
}

/** CONNACK refusals that no retry can fix (MQTT 3.1.1 codes 1, 2, 4, 5; MQTT 5 codes 128–140 alike). */
const FINAL_CONNACK = new Set([1, 2, 4, 5, 132, 133, 134, 135, 138, 140]);

/**
 * Publishes the notice as JSON on the channel's topic (not retained) over its own short connection:
 * alerts are rare, and a connection held open between them would be one more thing to watch.
 */
export async function sendMqtt(channel: MqttChannel, notice: Notice, options: SendOptions = {}) {
  const where = new URL(channel.url).host;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Loaded on first use: hubs and nodes without an MQTT channel never pay for it.
  const { connect, ErrorWithReasonCode } = await import('mqtt');
  const client = connect(channel.url, {
    clientId: `hearth-${randomBytes(6).toString('hex')}`,
    clean: true,
    // Ours (the signal) ends the attempt first, with a clearer reason.
    connectTimeout: timeoutMs + 1000,
    reconnectPeriod: 0,
    ...(channel.username ? { username: channel.username } : {}),
    ...(channel.password ? { password: channel.password } : {}),
  });
  // Errors after the outcome is known (a late socket error while closing) must not go unheard.
  client.on('error', () => undefined);
  const attempt = attemptDeadline(options);
  const { signal } = attempt;
  let published = false;
  let settle: { onError(error: unknown): void; onClose(): void; onAbort(): void } | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      settle = {
        onError: reject,
        onClose: () => reject(new DeliveryError(`connection closed by the broker (${where})`)),
        onAbort: () => reject(signal.reason),
      };
      if (signal.aborted) return settle.onAbort();
      signal.addEventListener('abort', settle.onAbort, { once: true });
      client.on('error', settle.onError);
      client.on('close', settle.onClose);
      client.once('connect', () => {
        client
          .publishAsync(channel.topic, noticeJson(notice), { qos: channel.qos, retain: false })
          .then(() => resolve(), reject);
      });
    });
    published = true;
  } catch (error) {
    if (error instanceof ErrorWithReasonCode)
      throw new DeliveryError(
        `broker refused: ${error.message.replace(/^Connection refused: /, '')} (${where})`,
        FINAL_CONNACK.has(error.code),
      );
    throw reasonOf(error, options, where);
  } finally {
    attempt.done();
    if (settle) {
      signal.removeEventListener('abort', settle.onAbort);
      client.off('error', settle.onError);
      client.off('close', settle.onClose);
    }
    // Never waits on a broker that went silent: a failed or stopped attempt closes at once.
    if (!published) client.end(true);
  }
  // Published: a clean DISCONNECT once the packet is flushed (QoS 0 has no PUBACK), bounded in time.
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    client.endAsync().then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), 2000);
    }),
  ]);
  clearTimeout(timer);
  if (!ended) client.stream?.destroy();
}

/** Delivers on whichever kind of channel this is. */
export function sendNotice(channel: ChannelConfig, notice: Notice, options: SendOptions = {}): Promise<void> {
  switch (channel.type) {
    case 'webhook':
      return sendWebhook(channel, notice, options);
    case 'ntfy':
      return sendNtfy(channel, notice, options);
    case 'mqtt':
      return sendMqtt(channel, notice, options);
  }
}
