import { z } from 'zod';
import { isLanHost, LAN_ONLY_MESSAGE } from './lan.js';
import { NOTICE_SEVERITIES } from './notice.js';

/**
 * The household's outbound alert channels: a webhook (Home Assistant…), an ntfy server and an MQTT
 * broker it already runs on the LAN. Configured by the owner, each off until enabled. Strict: an
 * unknown key is refused. Pure: the edge-node agent reads the same schema for its dead-man notices.
 */
export const CHANNEL_TYPES = ['webhook', 'ntfy', 'mqtt'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** What the API shows instead of a stored secret; sent back, it means "keep the stored one". */
export const REDACTED = '***';

export const channelIdSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/,
    'lower-case letters, digits and dashes, up to 32, e.g. home-assistant',
  );

/** A URL with one of `schemes`, a LAN host, and no credentials in it (they have fields of their own). */
function lanUrl(schemes: string[]) {
  return z
    .string()
    .trim()
    .max(2048)
    .superRefine((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not a URL' });
        return;
      }
      if (!schemes.includes(url.protocol))
        ctx.addIssue({ code: 'custom', message: `expected ${schemes.map((s) => `${s}//`).join(' or ')}…` });
      else if (url.username || url.password)
        ctx.addIssue({
          code: 'custom',
          message: 'no user or password in the URL: use the channel’s secret, token or password field',
        });
      else if (!url.hostname || !isLanHost(url.hostname))
        ctx.addIssue({ code: 'custom', message: `${url.hostname || 'the host'} ${LAN_ONLY_MESSAGE}` });
    });
}

const secret = (what: string) =>
  z
    .string()
    .min(1)
    .max(512)
    .refine((value) => !/[\r\n]/.test(value), `${what} cannot contain line breaks`);

const common = {
  id: channelIdSchema,
  name: z.string().trim().min(1).max(64),
  enabled: z.boolean().default(false),
  /** The quietest notice this channel carries (`warning`: warnings and emergencies). */
  minSeverity: z.enum(NOTICE_SEVERITIES).default('warning'),
  /**
   * The member whose phone this channel reaches (a personal ntfy topic, say): its one-tap acknowledge
   * links are signed for them, so the incident log names who acknowledged. Unset: a household channel.
   */
  memberId: z.number().int().positive().optional(),
};

export const webhookChannelSchema = z
  .object({
    ...common,
    type: z.literal('webhook'),
    url: lanUrl(['http:', 'https:']),
    /** Signs each body: `X-Hearth-Signature: sha256=<hex HMAC-SHA256(secret, body)>`. */
    secret: secret('the secret').optional(),
  })
  .strict();

export const ntfyChannelSchema = z
  .object({
    ...common,
    type: z.literal('ntfy'),
    /** The ntfy server's base URL, e.g. http://ntfy.lan or http://nas.local:8090/ntfy. */
    server: lanUrl(['http:', 'https:']),
    topic: z.string().regex(/^[-_A-Za-z0-9]{1,64}$/, 'an ntfy topic: letters, digits, - and _, up to 64'),
    /** An ntfy access token (`tk_…`) when the server requires one. */
    token: secret('the token').optional(),
  })
  .strict();

export const mqttChannelSchema = z
  .object({
    ...common,
    type: z.literal('mqtt'),
    url: lanUrl(['mqtt:', 'mqtts:']),
    topic: z
      .string()
      .min(1)
      .max(256)
      .refine(
        (topic) => !/[+#\0]/.test(topic) && !topic.startsWith('$'),
        'a topic to publish to: no wildcards (+ #), not starting with $',
      )
      .default('hearth/alerts'),
    username: z.string().min(1).max(256).optional(),
    password: secret('the password').optional(),
    qos: z.union([z.literal(0), z.literal(1)]).default(1),
  })
  .strict();

export const channelConfigSchema = z.discriminatedUnion('type', [
  webhookChannelSchema,
  ntfyChannelSchema,
  mqttChannelSchema,
]);
export type ChannelConfig = z.infer<typeof channelConfigSchema>;
export type ChannelInput = z.input<typeof channelConfigSchema>;
export type WebhookChannel = z.infer<typeof webhookChannelSchema>;
export type NtfyChannel = z.infer<typeof ntfyChannelSchema>;
export type MqttChannel = z.infer<typeof mqttChannelSchema>;

export const MAX_CHANNELS = 16;

export const channelListSchema = z
  .array(channelConfigSchema)
  .max(MAX_CHANNELS)
  .superRefine((channels, ctx) => {
    const seen = new Set<string>();
    channels.forEach((channel, index) => {
      if (seen.has(channel.id))
        ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `"${channel.id}" is used twice` });
      seen.add(channel.id);
    });
  });

/** The field holding a channel's secret, if its type has one. */
export function secretField(type: ChannelType): 'secret' | 'token' | 'password' {
  return type === 'webhook' ? 'secret' : type === 'ntfy' ? 'token' : 'password';
}

/** The channel as the API shows it: its secret, if set, replaced by `***`. */
export function redactChannel(channel: ChannelConfig): ChannelConfig {
  const field = secretField(channel.type);
  const copy = { ...channel } as Record<string, unknown>;
  if (copy[field] !== undefined) copy[field] = REDACTED;
  return copy as ChannelConfig;
}
