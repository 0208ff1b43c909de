import { ApplicationFailure, Context } from '@temporalio/activity';
import { type Config, sourceByName } from '../src/config/config';
import type { IssuedCredentialsRepository } from '../src/db/issued-credentials-repository';
import type { OffersRepository } from '../src/db/offers-repository';
import { STATUS_EVENT_ID, type StatusEventsRepository, verifyStatusEvent } from '../src/db/status-events-repository';
import { type WebhookEvent, WebhookFailure } from '../workflows/contracts/webhook-delivery';

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
export async function verifyWebhookEvent(subscriber: string, event: WebhookEvent, deps: Pick<WebhookDeps, 'offers' | 'issued'>): Promise<WebhookEventCheck> {
  const match = OFFER_EVENT_ID.exec(event.id);
  if (!match) return { success: false, error: 'event id is not an offer event the issuer produced' };
  const [, offerId, state] = match as unknown as [string, string, string];

  const offer = await deps.offers.byId(offerId);
  if (!offer || offer.authentic_source !== subscriber) return { success: false, error: 'no offer of this subscriber has that id' };
  if (!offer.closed_at || offer.state.toLowerCase() !== state) return { success: false, error: 'the offer did not end in the state the event names' };

  const rebuilt: WebhookEvent = {
    id: event.id,
    type: `credential_offer.${state}`,
    occurred_at: new Date(offer.closed_at).toISOString(),
    data: { vct: offer.vct, document_id: offer.document_id, offer_id: offer.offer_id, credentials_issued: await deps.issued.countFor(offerId) },
  };
  const given = event.data ?? {};
  const sameData = Object.keys(given).length === Object.keys(rebuilt.data).length && Object.entries(rebuilt.data).every(([k, v]) => Object.hasOwn(given, k) && given[k] === v);
  if (event.type !== rebuilt.type || !sameData) return { success: false, error: 'the event does not match the offer record' };
  return { success: true, event: rebuilt };
}

export const createWebhookActivities = ({ config, secret, fetch, offers, issued, statusEvents }: WebhookDeps) => ({
  /**
   * POSTs one event, rebuilt from the database first (verifyWebhookEvent): an event that does not
   * match it is refused without retrying and nothing is sent. 2xx is success; 408, 429 and 5xx and
   * network errors are retried by Temporal; any other 4xx means the subscriber refuses this event,
   * so retrying cannot help.
   */
  async deliverWebhook(input: { subscriber: string; event: WebhookEvent }): Promise<{ status: number; attempt: number }> {
    const source = sourceByName(config, input.subscriber);
    const endpoint = source?.notification_endpoint;
    if (!endpoint) throw ApplicationFailure.nonRetryable(`no notification_endpoint configured for ${input.subscriber}`, WebhookFailure.NotConfigured);
    const check = STATUS_EVENT_ID.test(input.event.id) && statusEvents ? await verifyStatusEvent(input.subscriber, input.event, statusEvents) : await verifyWebhookEvent(input.subscriber, input.event, { offers, issued });
    if (!check.success) throw ApplicationFailure.nonRetryable(`event refused: ${check.error}`, WebhookFailure.EventUnverified);
    const { event } = check;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': event.id, 'user-agent': 'durable-issuer-webhooks' };
    if (endpoint.auth_secret_env) {
      const value = secret(endpoint.auth_secret_env);
      if (!value) throw ApplicationFailure.nonRetryable(`environment variable ${endpoint.auth_secret_env} is not set`, WebhookFailure.NotConfigured);
      headers[endpoint.auth_header.toLowerCase()] = value;
    }
    const ctx = Context.current();
    const response = await fetch(endpoint.url, { method: 'POST', headers, body: JSON.stringify(event), signal: AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout(20_000)]), redirect: 'error' });
    await response.body?.cancel();
    if (response.ok) return { status: response.status, attempt: ctx.info.attempt };
    const message = `subscriber answered HTTP ${response.status}`;
    if (response.status >= 500 || response.status === 408 || response.status === 429) throw new Error(message);
    throw ApplicationFailure.nonRetryable(message, WebhookFailure.Rejected);
  },
});
