import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from 'pino';
import { type Config, webhookSubscribersFor } from '../config/config';
import type { Db } from '../db/knex';
import { createWebhookOutbox, type OutboxEventRow, outboxWebhookEvent, type WebhookOutbox } from '../db/webhook-outbox-repository';
import { type WebhookDeliveryWorkflow, WEBHOOK_DELIVERY_WORKFLOW_TYPE, webhookDeliveryWorkflowId } from '../../workflows/contracts/webhook-delivery';
import { OFFER_PATH_EVENT_TYPES } from './offer-events';

/** The outbox of `config`'s subscribers (each event gets a delivery row per subscriber that wants it). */
export const webhookOutboxFor = (config: Config, db: Db): WebhookOutbox => createWebhookOutbox(db, (source, type) => webhookSubscribersFor(config, source, type));

/** How long a `credential_offer.created` event waits for its offer workflow before it is discarded (the offer never started). */
const CREATED_GRACE_MS = 60_000;
/** Clock difference tolerated between PostgreSQL (the event's time) and Temporal (the workflow's start). */
const CLOCK_SKEW_MS = 2_000;

export interface OutboxDispatcherOptions {
  client: Client;
  outbox: WebhookOutbox;
  taskQueue: string;
  logger: Logger;
  /** Pause between passes that found nothing, in ms (default 250). */
  intervalMs?: number;
  /** Events per pass (default 100). */
  batch?: number;
}

/**
 * Starts the deliveries of the events recorded in the outbox (migration 0021), one
 * `webhookDeliveryWorkflow` per subscriber and event, under the same id the delivery would have had
 * anyway (`webhook/<subscriber>/<event id>`; REJECT_DUPLICATE, so a second pass after a crash starts
 * nothing twice). Runs in every worker (`issuer worker`); workers share the rows (SKIP LOCKED). An
 * offer's `created` event goes only once its workflow runs: an offer whose start lost to a running
 * one (or whose process died before starting it) is discarded after a minute, never announced.
 */
export function startOutboxDispatcher({ client, outbox, taskQueue, logger, intervalMs = 250, batch = 100 }: OutboxDispatcherOptions) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  const offerStarted = async (row: OutboxEventRow): Promise<'yes' | 'not_yet' | 'never'> => {
    try {
      const description = await client.workflow.getHandle(String(row.data.workflow_id)).describe();
      if (description.startTime.getTime() >= new Date(row.occurred_at).getTime() - CLOCK_SKEW_MS) return 'yes';
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return Date.now() - new Date(row.occurred_at).getTime() > CREATED_GRACE_MS ? 'never' : 'not_yet';
  };

  const sweep = () =>
    outbox.dispatch(batch, async (rows) => {
      const later: string[] = [];
      const discard: string[] = [];
      await Promise.all(
        rows.map(async (row) => {
          if (row.type === OFFER_PATH_EVENT_TYPES.created) {
            const started = await offerStarted(row);
            if (started !== 'yes') return (started === 'never' ? discard : later).push(row.id);
          }
          const event = outboxWebhookEvent(row);
          for (const subscriber of row.subscribers) {
            await client.workflow
              .start<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
                taskQueue,
                workflowId: webhookDeliveryWorkflowId(subscriber, event.id),
                args: [{ subscriber, authenticSource: row.authentic_source, event }],
                workflowIdReusePolicy: 'REJECT_DUPLICATE',
              })
              .catch((err: unknown) => {
                if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
              });
          }
          return undefined;
        }),
      );
      return { later, discard };
    });

  const loop = async () => {
    if (stopped) return;
    let dispatched = 0;
    try {
      dispatched = await sweep();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'webhook outbox pass failed; retrying');
    }
    if (!stopped) timer = setTimeout(() => void (running = loop()), dispatched >= batch ? 0 : intervalMs);
  };
  running = loop();

  return {
    /** One pass now (tests, benchmarks); returns how many events it dispatched. */
    sweep,
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
