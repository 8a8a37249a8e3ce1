import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Notice } from '../notify/notice.js';
import type { AlertNotice } from './care.service.js';

/** How long a one-click acknowledge link works. */
export const ACK_LINK_SECONDS = 24 * 3600;

interface AckClaim {
  /** incident */
  i: number;
  /** expiry, ms */
  e: number;
  /** nonce: a link works once */
  n: string;
  /** the member the link acts for (a channel that reaches one member's phone); absent: the household */
  u?: number;
}

/**
 * One-click acknowledge links for outbound notices (an ntfy button): `<claim>.<HMAC-SHA256>`, both base64url,
 * with the incident, an expiry and a nonce; the hub remembers used nonces in the incident's log, so a link
 * works once. Signed with `<secrets>/ack-links.key`.
 */
export function createAckLinks(key: Buffer) {
  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');
  return {
    make(incidentId: number, now: number, memberId?: number): string {
      const claim: AckClaim = {
        i: incidentId,
        e: now + ACK_LINK_SECONDS * 1000,
        n: randomBytes(12).toString('base64url'),
        ...(memberId !== undefined ? { u: memberId } : {}),
      };
      const payload = Buffer.from(JSON.stringify(claim)).toString('base64url');
      return `${payload}.${sign(payload)}`;
    },
    /** The claim of a well-signed, unexpired token for this incident, or why not. */
    check(
      token: string,
      incidentId: number,
      now: number,
    ): { ok: true; nonce: string; memberId: number | null } | { ok: false; reason: string } {
      const [payload = '', signature = ''] = token.split('.');
      const expected = Buffer.from(sign(payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given))
        return { ok: false, reason: 'This link is not valid.' };
      let claim: AckClaim;
      try {
        claim = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AckClaim;
      } catch {
        return { ok: false, reason: 'This link is not valid.' };
      }
      if (claim.i !== incidentId) return { ok: false, reason: 'This link is for another alert.' };
      if (claim.e <= now) return { ok: false, reason: 'This link has expired; acknowledge in the app.' };
      return { ok: true, nonce: claim.n, memberId: typeof claim.u === 'number' ? claim.u : null };
    },
  };
}

export type AckLinks = ReturnType<typeof createAckLinks>;

/** An incident change as the outbound channels deliver it (docs/protocols.md, "Alert channels"). */
export function noticeFor(
  alert: AlertNotice,
  options: { baseUrl: string | null; ackLink?: (incidentId: number) => string },
): Notice | null {
  const { incident, change } = alert;
  if (change !== 'fired' && change !== 'escalated' && change !== 'resolved' && change !== 'acknowledged')
    return null;
  const last = incident.evidence.at(-1);
  const reading = last ? (last.value ?? last.state ?? '') : '';
  // A signal that says why (a routine anomaly's reasons) tells more than its bare value.
  const why = last?.detail?.length ? `${last.detail.join('; ')}.` : null;
  const message =
    change === 'resolved'
      ? 'Resolved.'
      : change === 'acknowledged'
        ? `Acknowledged${incident.acknowledgedBy ? ` by ${incident.acknowledgedBy.name}` : ''}.`
        : change === 'escalated'
          ? `Nobody has acknowledged this yet (reminder ${incident.escalations}).${reading !== '' ? ` Last reading: ${reading}.` : ''}`
          : (why ?? (reading !== '' ? `Last reading: ${reading}.` : incident.title));
  const url = options.baseUrl ? `${options.baseUrl}/incidents/${incident.id}` : undefined;
  const open = change === 'fired' || change === 'escalated';
  return {
    // The same change of the same incident is the same notice, however often it is retried.
    id: `incident-${incident.id}-${change}${change === 'escalated' ? `-${incident.escalations}` : ''}`,
    kind: change,
    severity: incident.severity,
    title: change === 'escalated' ? `Still not acknowledged: ${incident.title}` : incident.title,
    message,
    at: Date.now(),
    incidentId: incident.id,
    ...(incident.subjectId !== null && incident.subjectName
      ? { subject: { id: incident.subjectId, name: incident.subjectName } }
      : {}),
    ...(url ? { url } : {}),
    ...(url && open && options.ackLink
      ? {
          ackUrl: `${options.baseUrl}/api/incidents/${incident.id}/acknowledge-link?token=${options.ackLink(incident.id)}`,
        }
      : {}),
  };
}

/**
 * The notice as a member's own channel carries it: the acknowledge link signed for that member, with a
 * nonce of its own. Household channels (no member) carry the notice as it is.
 */
export function personalNotice(
  links: AckLinks,
  now: number,
  channel: { memberId?: number | undefined },
  notice: Notice,
): Notice {
  if (channel.memberId === undefined || notice.incidentId === undefined || !notice.ackUrl) return notice;
  const url = new URL(notice.ackUrl);
  url.searchParams.set('token', links.make(notice.incidentId, now, channel.memberId));
  return { ...notice, ackUrl: url.href };
}
