import { z } from 'zod';

/**
 * The webhook event catalogue as the OpenAPI 3.1 document publishes it (`webhooks`, OpenAPI 3.1
 * §4.8.1): what a subscriber receives. The events themselves are built by workflows/credential-offer.ts
 * and rebuilt from the database by activities/webhook-activities.ts; docs/conventions.md (Webhooks)
 * lists the planned types as well.
 */
export const WEBHOOK_EVENT_TYPES = {
  'credential_offer.issued': 'The offer ended after issuing credentials (ISSUED)',
  'credential_offer.expired': 'Nobody redeemed the pre-authorized code within code_ttl (EXPIRED)',
  'credential_offer.locked': 'Too many wrong PINs (LOCKED)',
  'credential_offer.cancelled': 'The offer was cancelled: document deleted, operator, or the PIN could not be sent (CANCELLED)',
  'document.revoked': "The document's credentials were revoked (POST /api/v1/document/revoke, now or at its revoke_at)",
  'document.suspended': "The document's credentials were suspended (POST /api/v1/document/suspend)",
  'document.reinstated': "The document's suspended credentials are valid again (POST /api/v1/document/reinstate)",
  'credential.revoked': 'A seed 001 credential was revoked (POST /api/v1/credentials/{id}/revoke); to issuer-wide subscribers that want it',
  'webhook.dead_lettered': 'A delivery of one of the source\'s events to another subscriber was dead-lettered (sent to the other subscribers that want it; never announced again)',
} as const;

export const WebhookEventSchema = z
  .object({
    id: z.string().meta({ description: 'Unique per event (offer events: offer.<offer id>.<state>; dead letters: webhook_dead_lettered.<run id>); also the Idempotency-Key header, stable across retries and redeliveries' }),
    type: z.enum(Object.keys(WEBHOOK_EVENT_TYPES) as [keyof typeof WEBHOOK_EVENT_TYPES]),
    occurred_at: z.string().meta({ description: 'ISO 8601 time the offer closed, or the delivery was dead-lettered' }),
    data: z
      .union([
        z.object({ vct: z.string(), document_id: z.string(), offer_id: z.string(), credentials_issued: z.number().int() }).meta({ description: 'credential_offer.*' }),
        z.object({ subscriber: z.string(), event_id: z.string(), event_type: z.string(), authentic_source: z.string(), delivery_workflow_id: z.string() }).meta({ description: 'webhook.dead_lettered' }),
        z.object({ vct: z.string(), document_id: z.string(), credentials_changed: z.number().int() }).meta({ description: 'document.revoked, .suspended, .reinstated (ids status.<random>)' }),
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
