import { classifierOf, parseModelFile } from '@hearth/hub/ai';
import { deadline } from '@hearth/hub/protocol';
import { bodyOf, type NodeState } from '../hub-link.js';
import type { ActiveModel } from './scorer.js';

export type ModelAnswer =
  | { kind: 'unchanged' }
  /** No active version: the default detector. */
  | { kind: 'none' }
  | { kind: 'model'; model: ActiveModel }
  /** The hub sent a file this node cannot use (damaged, truncated, another feature spec). */
  | { kind: 'refused'; version: number | null; reason: string };

const subjectQuery = (subject: number | undefined) => (subject ? `subject=${subject}` : '');

/**
 * Asks the hub for the subject's active cry model, sending the sha256 of the one in use as `If-None-Match`.
 * A file is checked exactly as the hub checks one (parseModelFile, against the ETag's sha256) before it may
 * score anything. A 4xx throws HubRefused (no subject watched yet); a 5xx or the hub away, a plain Error.
 */
export async function fetchActiveModel(
  hub: NodeState,
  options: { have: string | null; subject?: number | undefined; signal?: AbortSignal },
): Promise<ModelAnswer> {
  const url = new URL(`/api/device/cry/model?${subjectQuery(options.subject)}`, hub.hubUrl);
  const limit = deadline(30_000, options.signal);
  try {
    const response = await fetch(url, {
      headers: {
        authorization: `Bearer ${hub.token}`,
        ...(options.have ? { 'if-none-match': `"${options.have}"` } : {}),
      },
      signal: limit.signal,
    });
    if (response.status === 304) return { kind: 'unchanged' };
    if (response.status === 204) return { kind: 'none' };
    if (response.status !== 200) await bodyOf(response);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const sha256 = /^"([0-9a-f]{64})"$/.exec(response.headers.get('etag') ?? '')?.[1];
    const version = Number(response.headers.get('x-hearth-cry-version'));
    if (!sha256 || !Number.isInteger(version) || version < 1)
      return { kind: 'refused', version: null, reason: 'the answer names no version or sha256' };
    try {
      const classifier = classifierOf(parseModelFile(bytes, sha256));
      return { kind: 'model', model: { version, sha256, classifier } };
    } catch (error) {
      return { kind: 'refused', version, reason: (error as Error).message };
    }
  } finally {
    limit.done();
  }
}

/** Sends one snippet (a WAV file) as an unlabelled clip of the node's subject. */
export async function uploadSnippet(
  hub: NodeState,
  snippet: { wav: Uint8Array; recordedAt: number },
  options: { subject?: number | undefined; signal?: AbortSignal },
): Promise<{ clip: { id: number } }> {
  const query = [`recordedAt=${snippet.recordedAt}`, subjectQuery(options.subject)].filter(Boolean).join('&');
  const limit = deadline(30_000, options.signal);
  try {
    const response = await fetch(new URL(`/api/device/cry/clips?${query}`, hub.hubUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.token}`, 'content-type': 'audio/wav' },
      body: snippet.wav,
      signal: limit.signal,
    });
    return await bodyOf<{ clip: { id: number } }>(response);
  } finally {
    limit.done();
  }
}
