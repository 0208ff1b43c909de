import { z } from 'zod';
import { isSafeLiteral } from '../../admin/process-finder';
import { DeadLetterNotFoundError, type DeadLetters } from '../../admin/webhook-dead-letters';
import { RouteNotFoundError } from '../api-errors';
import { type AnyRouteSpec, defineRoute } from '../route-registry';

const TAG = ['Admin'];
const Name = z.string().min(1).max(256).refine(isSafeLiteral, 'must not contain quotes, backslashes or control characters');

const DeadLetterSchema = z
  .object({
    workflow_id: z.string(),
    run_id: z.string(),
    subscriber: z.string().meta({ description: 'An authentic source (its notification_endpoint) or an issuer-wide subscriber (webhooks.subscribers)' }),
    event_id: z.string().meta({ description: 'The event id, sent as Idempotency-Key' }),
    event_type: z.string(),
    authentic_source: z.string(),
    dead_lettered_at: z.string().nullable(),
    last_error: z.string().nullable(),
  })
  .meta({ id: 'WebhookDeadLetter' });

const ListQuery = z.strictObject({
  subscriber: Name.optional(),
  page_size: z.coerce.number().int().min(1).max(100).default(50),
  page_token: z.string().max(2000).optional(),
});
const RedeliverBody = z
  .strictObject({
    subscriber: Name,
    event_id: Name.optional().meta({ description: 'One event; without it, every dead letter of the subscriber' }),
  })
  .meta({ id: 'WebhookRedeliverRequest' });
const RedeliverResponse = z.object({ redelivered: z.array(z.object({ workflow_id: z.string(), run_id: z.string() })) }).meta({ id: 'WebhookRedeliverResponse' });

/**
 * Dead-lettered webhooks (issue 18): list them, redeliver one or all of a subscriber's. Admin tokens
 * (src/gateway/admin/admin-auth.ts); every call is audited by the gateway with its action and ids.
 */
export function webhookAdminRoutes({ deadLetters }: { deadLetters: DeadLetters }): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/admin/v1/webhooks/dead-letters',
      operationId: 'adminListWebhookDeadLetters',
      summary: 'Webhook deliveries that ended DEAD_LETTERED (a 4xx refusal, or retries past webhooks.delivery.horizon)',
      description: 'Role read. Backed by Temporal visibility (ProcessState = DEAD_LETTERED); a delivery redelivered since is not listed. Visibility is eventually consistent. Pages follow next_page_token.',
      tags: TAG,
      security: 'admin:read',
      query: ListQuery,
      response: z.object({ dead_letters: z.array(DeadLetterSchema), next_page_token: z.string().nullable() }).meta({ id: 'WebhookDeadLetters' }),
      errors: [400, 401, 403],
      handler: async ({ query, res }) => {
        res.locals.auditAction = 'admin.webhooks.dead_letters.list';
        res.locals.auditTarget = query.subscriber ? { subscriber: query.subscriber } : undefined;
        return deadLetters.list(query.subscriber !== undefined ? { subscriber: query.subscriber } : {}, { pageSize: query.page_size, ...(query.page_token ? { pageToken: query.page_token } : {}) });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/admin/v1/webhooks/dead-letters/redeliver',
      operationId: 'adminRedeliverWebhooks',
      summary: 'Redeliver one dead-lettered event, or every dead letter of a subscriber',
      description:
        'Role operate. Starts the delivery workflow webhook/<subscriber>/<event_id> again with its recorded event: the same Idempotency-Key, the event re-checked against the database, the full retry policy. 404 when that delivery is not dead-lettered.',
      tags: TAG,
      security: 'admin:operate',
      body: RedeliverBody,
      response: RedeliverResponse,
      errors: [400, 401, 403, 404],
      handler: async ({ body, res }) => {
        res.locals.auditAction = 'admin.webhooks.redeliver';
        res.locals.auditTarget = { subscriber: body.subscriber, ...(body.event_id ? { event_id: body.event_id } : { scope: 'all' }) };
        if (body.event_id === undefined) return { redelivered: await deadLetters.redeliverAll(body.subscriber) };
        try {
          return { redelivered: [await deadLetters.redeliverOne(body.subscriber, body.event_id)] };
        } catch (err) {
          if (err instanceof DeadLetterNotFoundError) throw new RouteNotFoundError(err.message, { subscriber: body.subscriber, event_id: body.event_id });
          throw err;
        }
      },
    }),
  ];
}
