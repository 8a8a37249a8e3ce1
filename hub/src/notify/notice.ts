import { z } from 'zod';

/**
 * What an outbound channel delivers: one notice about an incident (or a test, or the dead-man's word
 * that the hub is away). Pure: the edge-node agent imports it through `@hearth/hub/notify`.
 */
export const NOTICE_KINDS = [
  'fired',
  'escalated',
  'resolved',
  'acknowledged',
  'test',
  'hub_unreachable',
  'hub_back',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export const NOTICE_SEVERITIES = ['info', 'warning', 'emergency'] as const;
export type NoticeSeverity = (typeof NOTICE_SEVERITIES)[number];

const webUrl = z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).max(2048);

export const noticeSchema = z
  .object({
    /** Unique per notice; the same on every retry, so receivers can drop duplicates. */
    id: z.string().min(1).max(128),
    kind: z.enum(NOTICE_KINDS),
    severity: z.enum(NOTICE_SEVERITIES),
    title: z.string().min(1).max(200),
    message: z.string().max(2000),
    /** When it happened (ms since the epoch, UTC). */
    at: z.number().int().nonnegative(),
    incidentId: z.number().int().positive().optional(),
    subject: z
      .object({ id: z.number().int().positive(), name: z.string().min(1).max(64) })
      .strict()
      .optional(),
    /** The incident in the hub's UI. */
    url: webUrl.optional(),
    /** A one-click acknowledge link (signed, single use, expiring); ntfy shows it as a button. */
    ackUrl: webUrl.optional(),
  })
  .strict();
export type Notice = z.infer<typeof noticeSchema>;

const KEY_ORDER = [
  'id',
  'kind',
  'severity',
  'title',
  'message',
  'at',
  'incidentId',
  'subject',
  'url',
  'ackUrl',
] as const satisfies readonly (keyof Notice)[];

/**
 * The notice as delivered (webhook body, MQTT payload): compact JSON, keys in the documented order
 * whatever order the caller built the object in, absent fields left out. A signature is over these bytes.
 */
export function noticeJson(notice: Notice): string {
  const ordered: Record<string, unknown> = {};
  for (const key of KEY_ORDER) {
    const value = notice[key];
    if (value === undefined) continue;
    ordered[key] =
      key === 'subject' && notice.subject ? { id: notice.subject.id, name: notice.subject.name } : value;
  }
  return JSON.stringify(ordered);
}

const RANK: Record<NoticeSeverity, number> = { info: 0, warning: 1, emergency: 2 };

/** Whether a notice of `severity` is loud enough for a channel that wants `minSeverity` and up. */
export function meetsSeverity(severity: NoticeSeverity, minSeverity: NoticeSeverity): boolean {
  return RANK[severity] >= RANK[minSeverity];
}
