// @hearth/hub/notify: what an alert notice is, the household's outbound channels (webhook, ntfy, MQTT)
// and how to deliver to them. Imports nothing else from the hub (no config, db or http), so the
// edge-node agent sends its dead-man notices with the same code. The hub's glue (settings, routes)
// is in notify.service.ts and notify.routes.ts, which are not exported here.
export {
  CHANNEL_TYPES,
  type ChannelConfig,
  type ChannelInput,
  type ChannelType,
  channelConfigSchema,
  channelIdSchema,
  channelListSchema,
  MAX_CHANNELS,
  type MqttChannel,
  mqttChannelSchema,
  type NtfyChannel,
  ntfyChannelSchema,
  REDACTED,
  redactChannel,
  secretField,
  type WebhookChannel,
  webhookChannelSchema,
} from './channels.js';
export {
  type ChannelStatus,
  createNotifier,
  DEFAULT_RETRY,
  type Notifier,
  type NotifierEvent,
  type NotifierLog,
  type NotifierOptions,
  type RetryTimings,
} from './dispatcher.js';
export { isLanHost, LAN_ONLY_MESSAGE } from './lan.js';
export {
  meetsSeverity,
  NOTICE_KINDS,
  NOTICE_SEVERITIES,
  type Notice,
  type NoticeKind,
  type NoticeSeverity,
  noticeJson,
  noticeSchema,
} from './notice.js';
export {
  DeliveryError,
  ntfyActions,
  type SendOptions,
  sendMqtt,
  sendNotice,
  sendNtfy,
  sendWebhook,
  webhookSignature,
} from './senders.js';
