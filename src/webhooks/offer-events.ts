import type { OutboxEventInput } from '../db/webhook-outbox-repository';

/**
 * The webhook events of the offer path that happen outside the offer workflow's end
 * (docs/conventions.md, Webhooks): each is recorded in the outbox in the transaction of the change
 * it reports. Ids are deterministic (a retried step records its event once) and are the
 * `Idempotency-Key`. Data: business ids only, never document data, PINs or credentials.
 */
export const OFFER_PATH_EVENT_TYPES = {
  created: 'credential_offer.created',
  redeemed: 'credential_offer.redeemed',
  issued: 'credential.issued',
  walletNotification: 'wallet_notification.received',
} as const;

/** What every offer-path event names: the source, the credential type, the document, the offer and its workflow. */
export interface OfferIds {
  offer_id: string;
  workflow_id: string;
  authentic_source: string;
  vct: string;
  document_id: string;
}

const base = (offer: OfferIds) => ({
  authentic_source: offer.authentic_source,
  vct: offer.vct,
  document_id: offer.document_id,
});
const ids = (offer: OfferIds) => ({ ...base(offer), offer_id: offer.offer_id, workflow_id: offer.workflow_id });

export const offerCreatedEventId = (offerId: string) => `offer_created.${offerId}`;

/** The offer was recorded (its workflow starts next; the dispatcher waits until it runs, src/webhooks/outbox-dispatcher.ts). */
export const offerCreatedEvent = (offer: OfferIds & { expires_at: Date }): OutboxEventInput => ({
  id: offerCreatedEventId(offer.offer_id),
  type: OFFER_PATH_EVENT_TYPES.created,
  ...base(offer),
  data: { ...ids(offer), expires_at: offer.expires_at.toISOString() },
});

/** The token endpoint redeemed the pre-authorized code (OpenID4VCI 1.0 §6). */
export const offerRedeemedEvent = (offer: OfferIds): OutboxEventInput => ({
  id: `offer_redeemed.${offer.offer_id}`,
  type: OFFER_PATH_EVENT_TYPES.redeemed,
  ...base(offer),
  data: ids(offer),
});

/** One credential was signed for the wallet: its record id, format, configuration id and status-list entry, never the credential. */
export const credentialIssuedEvent = (
  offer: OfferIds,
  credential: { id: string; format: string; credential_configuration_id: string; status_list_uri: string | null; status_index: number | null },
): OutboxEventInput => ({
  id: `credential_issued.${credential.id}`,
  type: OFFER_PATH_EVENT_TYPES.issued,
  ...base(offer),
  data: { ...ids(offer), credential_id: credential.id, format: credential.format, credential_configuration_id: credential.credential_configuration_id, status_list_uri: credential.status_list_uri, status_index: credential.status_index },
});

/** The wallet's notification (OpenID4VCI 1.0 §11): its `event` value only (the free-text description is the wallet's, not sent). */
export const walletNotificationEvent = (offer: OfferIds, event: string): OutboxEventInput => ({
  id: `wallet_notification.${offer.offer_id}.${event}`,
  type: OFFER_PATH_EVENT_TYPES.walletNotification,
  ...base(offer),
  data: { ...ids(offer), event },
});

/** Seed 002 interaction outcomes (docs/conventions.md, Webhook events): recorded with the `interaction_events` change they report. */
export const INTERACTION_EVENT_TYPES = {
  answered: 'interaction.answered',
  postponed: 'interaction.postponed',
  failed: 'interaction.failed',
} as const;

/**
 * The third party answered an interaction with the credential's data (`answered`, now or by its
 * callback), postponed it (the wallet got a `transaction_id`), or refused it or did not call back in
 * time (`failed`). Ids `interaction.<actionEventId>.<outcome>`; data the offer's ids and the
 * `action_event_id`, never the claims.
 */
export const interactionOutcomeEvent = (
  outcome: keyof typeof INTERACTION_EVENT_TYPES,
  event: OfferIds & { action_event_id: string },
  byCallback: boolean,
): OutboxEventInput => ({
  id: `interaction.${event.action_event_id}.${outcome}`,
  type: INTERACTION_EVENT_TYPES[outcome],
  ...base(event),
  data: { ...ids(event), action_event_id: event.action_event_id, ...(outcome === 'postponed' ? {} : { by_callback: byCallback }) },
});
