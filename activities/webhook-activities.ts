import { createHash, randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { type Config, webhookEndpoint, webhookSubscribersFor } from '../src/config/config';
import { didWebFromUrl } from '../src/credentials/did-web';
import type { WebhookSigner } from '../src/credentials/signer';
import type { AuditLogRepository } from '../src/db/audit-log-repository';
import type { IssuedCredentialsRepository } from '../src/db/issued-credentials-repository';
import type { InteractionEventsRepository } from '../src/db/interaction-events-repository';
import type { OffersRepository } from '../src/db/offers-repository';
import { STATUS_EVENT_ID, type StatusEventsRepository, verifyStatusEvent } from '../src/db/status-events-repository';
import { type OrderedDeliveryRow as OrderedDelivery, outboxWebhookEvent, type WebhookOutbox } from '../src/db/webhook-outbox-repository';
import { webhookAttempts, webhookDeadLetters, webhookRetries } from '../src/metrics/metrics';
import { INTERACTION_FAILED_EVENT_TYPE } from '../workflows/contracts/interaction';
import { DEAD_LETTERED_EVENT_TYPE, deadLetteredEventId, type WebhookEvent, WebhookFailure, WebhookRetryable } from '../workflows/contracts/webhook-delivery';

export interface WebhookDeps {
  config: Config;
  /** Reads a secret by environment-variable name; secrets never travel through workflow inputs. */
  secret: (name: string) => string | undefined;
  fetch: typeof fetch;
  /** Where an event's facts are checked: the offer's record, written by the closeOffer activity. */
  offers: Pick<OffersRepository, 'byId'>;
  issued: Pick<IssuedCredentialsRepository, 'countFor'>;
  /** Where status-change events (revoked, suspended, reinstated) are checked (src/db/status-events-repository.ts). */
  statusEvents?: Pick<StatusEventsRepository, 'byId'>;
  /** Where `interaction.failed` events recorded before the outbox took them are checked: the event's row (migration 0022). */
  interactionEvents?: Pick<InteractionEventsRepository, 'byId'>;
  /** Where a `webhook.dead_lettered` event is checked: the delivery workflow's audit entry. */
  audit: Pick<AuditLogRepository, 'webhookDeadLetter'>;
  /** The `webhooks` key's signer (X-Body-Signature, Bearer JWT); opened only when a subscriber wants either. */
  webhookSigner: () => Promise<WebhookSigner>;
  /** The outbox (events recorded with their change) and the per-document ordering of deliveries (migration 0021). */
  outbox: Pick<WebhookOutbox, 'byId' | 'delivery' | 'earlierPending' | 'noteWait' | 'noteAttempt' | 'finish'>;
  /** Source of jitter in [0, 1); Math.random by default. */
  random?: () => number;
}

/** Lifetime of the Bearer JWT of a webhook call, in seconds (seed 002: a short `exp`). */
export const WEBHOOK_JWT_TTL_SECONDS = 60;

/** Longest pause between two looks at whether the earlier event of the same document has been delivered. */
const ORDER_POLL_MAX_MS = 5_000;

/**
 * The wait before retry `attempt + 1` (attempt 1 = the first call): exponential backoff from
 * `initial_interval`, doubled per attempt and capped at `max_interval`, with "equal jitter" (a random
 * 50-100 % of it) so that subscribers coming back are not hit by every queued event at once. A
 * `Retry-After` (RFC 9110 §10.2.3) asks for at least that long.
 */
export function retryDelayMs(attempt: number, policy: { initial_interval: number; max_interval: number }, retryAfterMs: number | undefined, random: () => number): number {
  const base = Math.min(policy.max_interval * 1000, policy.initial_interval * 1000 * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(base / 2 + (base / 2) * random());
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** RFC 9110 §10.2.3 `Retry-After`: delay-seconds or an HTTP-date (IMF-fixdate); anything else is ignored. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // IMF-fixdate, the form senders must generate (RFC 9110 §5.6.7).
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Seed 002's authentication of a call we make (webhooks, interaction calls), as configured:
 * "Request Signature" (`X-Body-Signature`, base64 of the SHA3-256 signature over the exact body
 * bytes) and/or "Bearer Token" (RFC 7519: iss our service DID, aud the receiver's, a fresh jti per attempt).
 */
export async function seed002AuthHeaders(
  endpoint: { body_signature: boolean; bearer_jwt?: { audience: string } | undefined },
  body: Uint8Array,
  serviceDid: string,
  webhookSigner: WebhookDeps['webhookSigner'],
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  if (!endpoint.body_signature && !endpoint.bearer_jwt) return headers;
  const signer = await webhookSigner();
  if (endpoint.body_signature) headers['x-body-signature'] = signer.signBody(body);
  if (endpoint.bearer_jwt) {
    const iat = Math.floor(Date.now() / 1000);
    const token = await signer.signJwt({
      iss: serviceDid,
      aud: endpoint.bearer_jwt.audience,
      iat,
      exp: iat + WEBHOOK_JWT_TTL_SECONDS,
      jti: randomUUID(),
      body_sha3_256: createHash('sha3-256').update(body).digest('base64url'),
    });
    headers.authorization = `Bearer ${token}`;
  }
  return headers;
}

export type WebhookEventCheck = { success: true; event: WebhookEvent } | { success: false; error: string };

/** `offer.<offer id>.<final state, lower case>`, as workflows/credential-offer.ts names the event. */
const OFFER_EVENT_ID = /^offer\.(.+)\.([a-z_]+)$/;

/**
 * Rebuilds an event from PostgreSQL, so that a workflow started by any Temporal client cannot make
 * the issuer POST what it likes with the source's secret (issue 15, finding 4). An event is sent only
 * if it is the end of an offer of that subscriber, closed in that state, and every field of `data`
 * is what the database says; what is sent is the rebuilt event (its `occurred_at` is the offer's
 * `closed_at`). Steps:
 * 1. the id names an offer event; 2. the offer exists, belongs to the subscriber and is closed in the
 * named state; 3. type and data equal the record (and the count of credentials issued for it).
 */
export async function verifyWebhookEvent(source: string, event: WebhookEvent, deps: Pick<WebhookDeps, 'offers' | 'issued' | 'audit' | 'outbox'>): Promise<WebhookEventCheck> {
  if (event.id.startsWith(deadLetteredEventId(''))) return verifyDeadLetteredEvent(source, event, deps);
  // Events of the outbox (offer created, redeemed, credential issued, wallet notification, interaction outcomes) are rebuilt from their row.
  const recorded = await deps.outbox.byId(event.id);
  if (recorded) {
    if (recorded.authentic_source !== source || recorded.discarded) return { success: false, error: 'no event of this subscriber has that id' };
    const rebuilt = outboxWebhookEvent(recorded);
    return sameEvent(event, rebuilt) ? { success: true, event: rebuilt } : { success: false, error: 'the event does not match its record' };
  }
  const match = OFFER_EVENT_ID.exec(event.id);
  if (!match) return { success: false, error: 'event id is not an offer event the issuer produced' };
  const [, offerId, state] = match as unknown as [string, string, string];

  const offer = await deps.offers.byId(offerId);
  if (!offer || offer.authentic_source !== source) return { success: false, error: 'no offer of this subscriber has that id' };
  if (!offer.closed_at || offer.state.toLowerCase() !== state) return { success: false, error: 'the offer did not end in the state the event names' };

  const rebuilt: WebhookEvent = {
    id: event.id,
    type: `credential_offer.${state}`,
    occurred_at: new Date(offer.closed_at).toISOString(),
    data: { vct: offer.vct, document_id: offer.document_id, offer_id: offer.offer_id, credentials_issued: await deps.issued.countFor(offerId) },
  };
  return sameEvent(event, rebuilt) ? { success: true, event: rebuilt } : { success: false, error: 'the event does not match the offer record' };
}

function sameEvent(given: WebhookEvent, rebuilt: WebhookEvent): boolean {
  const data = given.data ?? {};
  const sameData = Object.keys(data).length === Object.keys(rebuilt.data).length && Object.entries(rebuilt.data).every(([k, v]) => Object.hasOwn(data, k) && data[k] === v);
  return given.type === rebuilt.type && sameData;
}

const INTERACTION_EVENT_ID = /^interaction\.(.+)\.failed$/;

/**
 * An `interaction.failed` event (seed 002). Since the interaction outcome events, it is an outbox
 * event like `interaction.answered` and `.postponed` (recorded with its interaction_events change),
 * rebuilt from its outbox row; an interaction workflow that started before (no `interaction-outcome-
 * events` patch) still starts its own delivery, with data `{action_event_id, offer_id}`, which is
 * accepted and sent as the rebuilt event. A failure recorded before has no outbox row: it is rebuilt
 * from its interaction_events row, and only an event of this source that failed produces one.
 */
async function verifyInteractionEvent(source: string, event: WebhookEvent, deps: { interactionEvents: Pick<InteractionEventsRepository, 'byId'>; outbox: Pick<WebhookOutbox, 'byId'> }): Promise<WebhookEventCheck> {
  const actionEventId = INTERACTION_EVENT_ID.exec(event.id)![1]!;
  const recorded = await deps.outbox.byId(event.id);
  if (recorded) {
    if (recorded.authentic_source !== source || recorded.discarded) return { success: false, error: 'no event of this subscriber has that id' };
    const rebuilt = outboxWebhookEvent(recorded);
    const legacy: WebhookEvent = { ...rebuilt, data: { action_event_id: actionEventId, offer_id: rebuilt.data.offer_id ?? null } };
    return sameEvent(event, rebuilt) || sameEvent(event, legacy) ? { success: true, event: rebuilt } : { success: false, error: 'the event does not match its record' };
  }
  const row = await deps.interactionEvents.byId(actionEventId);
  if (!row || row.authentic_source !== source || row.state !== 'failed') return { success: false, error: 'no failed interaction of this subscriber has that id' };
  const rebuilt: WebhookEvent = {
    id: event.id,
    type: INTERACTION_FAILED_EVENT_TYPE,
    occurred_at: new Date(row.answered_at ?? row.created_at).toISOString(),
    data: { action_event_id: actionEventId, offer_id: row.offer_id },
  };
  return sameEvent(event, rebuilt) ? { success: true, event: rebuilt } : { success: false, error: 'the event does not match the interaction record' };
}

/**
 * A `webhook.dead_lettered` event is rebuilt from the audit entry its delivery workflow wrote when it
 * dead-lettered (action `webhook.dead_lettered`, actor `system`, the run id in the target): only a run
 * that really dead-lettered a verified event of this source produces one.
 */
async function verifyDeadLetteredEvent(source: string, event: WebhookEvent, deps: Pick<WebhookDeps, 'audit'>): Promise<WebhookEventCheck> {
  const runId = event.id.slice(deadLetteredEventId('').length);
  const entry = await deps.audit.webhookDeadLetter(runId);
  if (!entry) return { success: false, error: 'no dead-lettered delivery has that run id' };
  const t = entry.target;
  if (t.authentic_source !== source) return { success: false, error: 'the dead letter is not about this source' };
  const rebuilt: WebhookEvent = {
    id: event.id,
    type: DEAD_LETTERED_EVENT_TYPE,
    occurred_at: new Date(entry.at).toISOString(),
    data: { subscriber: String(t.subscriber), event_id: String(t.event_id), event_type: String(t.event_type), authentic_source: source, delivery_workflow_id: String(t.workflow_id) },
  };
  return sameEvent(event, rebuilt) ? { success: true, event: rebuilt } : { success: false, error: 'the event does not match the dead letter' };
}

/** The issuer_webhook_attempts_total outcome of a failed attempt, by its failure type (bounded: never the message). */
const FAILED_OUTCOMES: Record<string, 'retried' | 'gave_up' | 'rejected' | 'refused' | 'not_configured'> = {
  [WebhookRetryable.Failed]: 'retried',
  [WebhookRetryable.HorizonPassed]: 'gave_up',
  [WebhookFailure.Rejected]: 'rejected',
  [WebhookFailure.EventUnverified]: 'refused',
  [WebhookFailure.NotConfigured]: 'not_configured',
};

/** Counts one attempt of `deliver` in the webhook metrics (src/metrics/metrics.ts): its outcome, retries and dead letters. */
async function countedAttempt<T>(deliver: () => Promise<T>): Promise<T> {
  try {
    const result = await deliver();
    webhookAttempts.inc({ outcome: 'delivered' });
    return result;
  } catch (err) {
    // An ordered delivery waiting for an earlier one has not attempted anything yet.
    if (err instanceof ApplicationFailure && err.type === WebhookRetryable.Waiting) throw err;
    const outcome = (err instanceof ApplicationFailure && err.type && FAILED_OUTCOMES[err.type]) || 'error';
    webhookAttempts.inc({ outcome });
    if (outcome === 'retried') webhookRetries.inc();
    // The delivery workflow dead-letters on exactly these two (workflows/webhook-delivery.ts).
    if (outcome === 'gave_up' || outcome === 'rejected') webhookDeadLetters.inc();
    throw err;
  }
}

export const createWebhookActivities = ({ config, secret, fetch, offers, issued, audit, statusEvents, outbox, interactionEvents, webhookSigner, random = Math.random }: WebhookDeps) => {
  const serviceDid = didWebFromUrl(config.issuerUrl);
  const policy = config.file.webhooks.delivery;
  return {
    /** The subscribers of an event of `type` about `authenticSource`'s objects (config.ts webhookSubscribersFor). */
    async webhookSubscribers(input: { authenticSource: string; type: string }): Promise<string[]> {
      return webhookSubscribersFor(config, input.authenticSource, input.type);
    },

    /**
     * POSTs one event, rebuilt from the database first (verifyWebhookEvent): an event that does not
     * match it, or that the subscriber has not subscribed to, is refused without retrying and nothing
     * is sent. 2xx is success; 408, 429, 5xx, timeouts and network errors are retried with backoff and
     * jitter (retryDelayMs, honouring Retry-After) until `webhooks.delivery.horizon` after the first
     * attempt; any other 4xx means the subscriber refuses this event, so retrying cannot help.
     */
    async deliverWebhook(input: { subscriber: string; event: WebhookEvent; authenticSource?: string }): Promise<{ status: number; attempt: number }> {
      // Ordered deliveries (a row in webhook_deliveries) record how they ended, so the next event of their document may go.
      const ordered = await outbox.delivery(input.subscriber, input.event.id);
      if (!ordered) return countedAttempt(() => send(input, undefined));
      try {
        const result = await countedAttempt(() => send(input, ordered));
        await outbox.finish(input.subscriber, input.event.id, 'DELIVERED');
        return result;
      } catch (err) {
        if (err instanceof ApplicationFailure && err.nonRetryable) {
          const state = err.type === WebhookFailure.NotConfigured ? 'NOT_CONFIGURED' : err.type === WebhookFailure.EventUnverified ? 'REFUSED' : 'DEAD_LETTERED';
          await outbox.finish(input.subscriber, input.event.id, state);
        }
        throw err;
      }
    },
  };

  /**
   * One attempt. An ordered delivery first waits (a retry after a short pause, not counted as an
   * attempt) while an earlier event of the same document to the same subscriber is still being
   * delivered: so a subscriber that was down gets them in the order they happened. The wait is
   * bounded by the horizon (then it sends anyway: order is given up before an event is).
   */
  async function send(input: { subscriber: string; event: WebhookEvent; authenticSource?: string }, ordered: OrderedDelivery | undefined): Promise<{ status: number; attempt: number }> {
    const ctx = Context.current();
    if (ordered && ordered.state === 'PENDING' && ordered.first_attempt_at === null && Date.now() - new Date(ordered.created_at).getTime() < policy.horizon * 1000) {
      const earlier = await outbox.earlierPending(ordered);
      if (earlier !== undefined) {
        await outbox.noteWait(input.subscriber, input.event.id);
        // Short pauses: the earlier delivery paces the subscriber; this one only watches for its end.
        const pause = Math.min(retryDelayMs(ordered.waits + 1, policy, undefined, random), ORDER_POLL_MAX_MS);
        throw ApplicationFailure.create({ message: `waiting for the delivery of ${earlier} (same document, earlier)`, type: WebhookRetryable.Waiting, nonRetryable: false, nextRetryDelay: pause });
      }
    }
    const endpoint = webhookEndpoint(config, input.subscriber);
    const source = input.authenticSource ?? input.subscriber;
    if (!endpoint) throw ApplicationFailure.nonRetryable(`no webhook endpoint configured for ${input.subscriber}`, WebhookFailure.NotConfigured);
    // Status changes (revoked, suspended, reinstated) are rebuilt from their own rows, interaction failures from theirs or the outbox; offer events from the outbox or the offer's.
    const check =
      STATUS_EVENT_ID.test(input.event.id) && statusEvents
        ? await verifyStatusEvent(source, input.event, statusEvents)
        : INTERACTION_EVENT_ID.test(input.event.id) && interactionEvents
          ? await verifyInteractionEvent(source, input.event, { interactionEvents, outbox })
          : await verifyWebhookEvent(source, input.event, { offers, issued, audit, outbox });
    if (!check.success) throw ApplicationFailure.nonRetryable(`event refused: ${check.error}`, WebhookFailure.EventUnverified);
    if (!webhookSubscribersFor(config, source, check.event.type).includes(input.subscriber)) {
      throw ApplicationFailure.nonRetryable(`event refused: ${input.subscriber} is not subscribed to ${check.event.type} of ${source}`, WebhookFailure.EventUnverified);
    }
    const { event } = check;
    const body = Buffer.from(JSON.stringify(event), 'utf8');
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': event.id, 'user-agent': 'durable-issuer-webhooks' };
    if (endpoint.auth_secret_env) {
      const value = secret(endpoint.auth_secret_env);
      if (!value) throw ApplicationFailure.nonRetryable(`environment variable ${endpoint.auth_secret_env} is not set`, WebhookFailure.NotConfigured);
      headers[endpoint.auth_header.toLowerCase()] = value;
    }
    Object.assign(headers, await seed002AuthHeaders(endpoint, body, serviceDid, webhookSigner));
    // Attempts and the horizon count from the first real attempt (an ordered delivery may have waited
    // before); a redelivery (its row has ended) counts from its own start, as any new run.
    const waited = ordered?.state === 'PENDING' ? ordered : undefined;
    const firstAttemptAt = waited ? (await outbox.noteAttempt(input.subscriber, input.event.id)).getTime() : ctx.info.scheduledTimestampMs;
    const attempt = ctx.info.attempt - (waited?.waits ?? 0);
    const retry = (message: string, retryAfterMs?: number): never => {
      const delay = retryDelayMs(attempt, policy, retryAfterMs, random);
      if (Date.now() + delay - firstAttemptAt > policy.horizon * 1000) {
        throw ApplicationFailure.nonRetryable(`${message}; no retry: the delivery horizon (${policy.horizon} s) has passed`, WebhookRetryable.HorizonPassed);
      }
      throw ApplicationFailure.create({ message, type: WebhookRetryable.Failed, nonRetryable: false, nextRetryDelay: delay });
    };
    let response: Response;
    try {
      response = await fetch(endpoint.url, { method: 'POST', headers, body, signal: AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout(policy.attempt_timeout * 1000)]), redirect: 'error' });
    } catch (err) {
      if (ctx.cancellationSignal.aborted) throw err;
      return retry(`webhook call failed: ${(err as Error).name === 'TimeoutError' ? `no answer within ${policy.attempt_timeout} s` : (err as Error).message}`);
    }
    await response.body?.cancel();
    if (response.ok) return { status: response.status, attempt };
    const message = `subscriber answered HTTP ${response.status}`;
    if (response.status >= 500 || response.status === 408 || response.status === 429) return retry(message, parseRetryAfter(response.headers.get('retry-after'), Date.now()));
    throw ApplicationFailure.nonRetryable(message, WebhookFailure.Rejected);
  }
};
