import { z } from 'zod';

/**
 * The webhook event catalogue as the OpenAPI 3.1 document publishes it (`webhooks`, OpenAPI 3.1
 * §4.8.1): what a subscriber receives. Offer end events are built by workflows/credential-offer.ts,
 * the other offer-path and interaction events by src/webhooks/offer-events.ts (recorded in the
 * outbox with their change); all are rebuilt from the database by activities/webhook-activities.ts before they are sent.
 * docs/conventions.md (Webhooks) lists the planned types as well.
 */
export const WEBHOOK_EVENT_TYPES = {
  'credential_offer.created': 'An offer was made for a document (POST /api/v1/notification, a batch, or a KYC approval); sent once its workflow runs',
  'credential_offer.redeemed': 'The wallet redeemed the pre-authorized code at the token endpoint (OpenID4VCI 1.0 §6). An offer whose issuance window closes with nothing issued also ends with this type (id offer.<offer id>.redeemed, credential_offer.* end data)',
  'credential.issued': 'One credential was signed for the wallet: format, credential configuration id, status-list entry (never the credential)',
  'wallet_notification.received': "The wallet's notification (OpenID4VCI 1.0 §11) arrived: its event value",
  'credential_offer.issued': 'The offer ended after issuing credentials (ISSUED)',
  'credential_offer.expired': 'Nobody redeemed the pre-authorized code within code_ttl (EXPIRED)',
  'credential_offer.locked': 'Too many wrong PINs (LOCKED)',
  'credential_offer.cancelled': 'The offer was cancelled: document deleted, operator, or the PIN could not be sent (CANCELLED)',
  'document.revoked': "The document's credentials were revoked (POST /api/v1/document/revoke, now or at its revoke_at)",
  'document.suspended': "The document's credentials were suspended (POST /api/v1/document/suspend)",
  'document.reinstated': "The document's suspended credentials are valid again (POST /api/v1/document/reinstate)",
  'credential.revoked': 'A seed 001 credential was revoked (POST /api/v1/credentials/{id}/revoke); to issuer-wide subscribers that want it',
  'webhook.dead_lettered': 'A delivery of one of the source\'s events to another subscriber was dead-lettered (sent to the other subscribers that want it; never announced again)',
  'interaction.answered': 'A credential type\'s third party (seed 002 interaction) supplied the credential\'s data, in its answer or later by its callback (by_callback); the credential is issued from it',
  'interaction.postponed': 'A credential type\'s third party (seed 002 interaction) postponed its answer; the wallet got a transaction_id for the deferred credential endpoint (OpenID4VCI 1.0 §9)',
  'interaction.failed': 'A credential type\'s third party (seed 002 interaction) refused the credential (in its answer or by its failure callback), or did not call back within callback_timeout; the wallet got credential_request_denied',
} as const;

export const WebhookEventSchema = z
  .object({
    id: z.string().meta({ description: 'Unique per event (offer events: offer.<offer id>.<state>; dead letters: webhook_dead_lettered.<run id>); also the Idempotency-Key header, stable across retries and redeliveries' }),
    type: z.enum(Object.keys(WEBHOOK_EVENT_TYPES) as [keyof typeof WEBHOOK_EVENT_TYPES]),
    occurred_at: z.string().meta({ description: 'ISO 8601 time of the change (the offer recorded, redeemed, closed; the credential recorded; the notification received; the delivery dead-lettered). Per subscriber and document, events arrive in this order' }),
    data: z
      .union([
        z.object({ vct: z.string(), document_id: z.string(), offer_id: z.string(), credentials_issued: z.number().int() }).meta({ description: 'credential_offer.issued, .expired, .locked, .cancelled (the offer ended; ids offer.<offer id>.<state>)' }),
        z
          .object({ authentic_source: z.string(), vct: z.string(), document_id: z.string(), offer_id: z.string(), workflow_id: z.string(), expires_at: z.string().optional() })
          .meta({ description: 'credential_offer.created (ids offer_created.<offer id>; expires_at: when the pre-authorized code expires), credential_offer.redeemed (ids offer_redeemed.<offer id>)' }),
        z
          .object({
            authentic_source: z.string(),
            vct: z.string(),
            document_id: z.string(),
            offer_id: z.string(),
            workflow_id: z.string(),
            credential_id: z.string(),
            format: z.string(),
            credential_configuration_id: z.string(),
            status_list_uri: z.string().nullable(),
            status_index: z.number().int().nullable(),
          })
          .meta({ description: 'credential.issued (ids credential_issued.<credential id>, the issued-credential record)' }),
        z
          .object({ authentic_source: z.string(), vct: z.string(), document_id: z.string(), offer_id: z.string(), workflow_id: z.string(), event: z.enum(['credential_accepted', 'credential_failure', 'credential_deleted']) })
          .meta({ description: 'wallet_notification.received (ids wallet_notification.<offer id>.<event>)' }),
        z.object({ subscriber: z.string(), event_id: z.string(), event_type: z.string(), authentic_source: z.string(), delivery_workflow_id: z.string() }).meta({ description: 'webhook.dead_lettered' }),
        z.object({ vct: z.string(), document_id: z.string(), credentials_changed: z.number().int() }).meta({ description: 'document.revoked, .suspended, .reinstated (ids status.<random>)' }),
        z
          .object({ authentic_source: z.string(), vct: z.string(), document_id: z.string(), offer_id: z.string(), workflow_id: z.string(), action_event_id: z.string(), by_callback: z.boolean().optional() })
          .meta({ description: 'interaction.answered, .postponed, .failed (ids interaction.<actionEventId>.<answered|postponed|failed>; by_callback, not on postponed: the third party\'s callback answered). Never the claims' }),
        z.object({ action_event_id: z.string(), offer_id: z.string() }).meta({ description: 'interaction.failed of an interaction that failed before the outcome events were recorded in the outbox' }),
        z.object({ client: z.string(), credential_type: z.string(), credential_id: z.string() }).meta({ description: 'credential.revoked (ids status.<random>)' }),
      ])
      .meta({ description: 'Business ids only: never document data, PINs or credentials' }),
  })
  .meta({ id: 'WebhookEvent' });

const HEADERS = {
  'Idempotency-Key': { description: 'The event id; drop a request whose key you have processed', schema: { type: 'string' } },
  'X-Body-Signature': { description: 'When body_signature is on (seed 002): base64 of an ECDSA P-256 / SHA3-256 signature over the exact body bytes; key at /service/{serviceDid}/public-info/public-key/webhooks', schema: { type: 'string' } },
  Authorization: { description: 'When bearer_jwt is configured (seed 002): Bearer JWT (ES256) with iss our service DID, aud the configured audience, iat, exp (60 s), jti, body_sha3_256', schema: { type: 'string' } },
};

/** The `webhooks` member of the OpenAPI document: one entry per event type, all sharing the WebhookEvent body. */
export function webhookOpenApi(toSchema: (schema: z.ZodType, io: 'input' | 'output') => unknown): Record<string, unknown> {
  const body = toSchema(WebhookEventSchema, 'output');
  return Object.fromEntries(
    Object.entries(WEBHOOK_EVENT_TYPES).map(([type, summary]) => [
      type,
      {
        post: {
          operationId: `webhook_${type.replace(/\./g, '_')}`,
          summary,
          tags: ['Webhooks'],
          parameters: Object.entries(HEADERS).map(([name, h]) => ({ name, in: 'header', required: name === 'Idempotency-Key', ...h })),
          requestBody: { required: true, content: { 'application/json': { schema: body } } },
          responses: {
            '2XX': { description: 'Delivered' },
            '408': { description: 'Retried' },
            '429': { description: 'Retried, after Retry-After when given' },
            '5XX': { description: 'Retried with backoff until webhooks.delivery.horizon' },
            default: { description: 'Any other status: not retried, the delivery is DEAD_LETTERED' },
          },
        },
      },
    ]),
  );
}
