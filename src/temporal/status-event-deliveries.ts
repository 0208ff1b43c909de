import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import { type Config, webhookSubscribersFor } from '../config/config';
import { type StatusEventRow, type StatusEventsRepository, statusWebhookEvent } from '../db/status-events-repository';
import { WEBHOOK_DELIVERY_WORKFLOW_TYPE, type WebhookDeliveryWorkflow, webhookDeliveryWorkflowId } from '../../workflows/contracts/webhook-delivery';

export interface StatusEventDeliveriesDeps {
  config: Config;
  temporal: Pick<Client, 'workflow'>;
  statusEvents: Pick<StatusEventsRepository, 'markDeliveriesStarted' | 'pendingDeliveries'>;
  logger?: { error(obj: object, msg: string): void };
  /** Start attempts per subscriber (default 3), `backoffMs` apart and doubling (default 200). */
  attempts?: number;
  backoffMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the webhook deliveries of a committed status change (the `status_events` row written in
 * its transaction is the outbox): one durable delivery workflow per subscriber that wants the
 * event (the source's notification_endpoint and the issuer-wide subscribers), each start retried
 * with backoff. When all have started the row is marked; when a start still fails, the failure is
 * logged and the row stays pending, and the outbox sweep (`startPending`, run by the status-list
 * Schedule) starts it later. A delivery id is `webhook/<subscriber>/<event id>` and a start never
 * reuses a closed one's id (REJECT_DUPLICATE), so a repeated start never delivers twice.
 */
export function createStatusEventDeliveries(deps: StatusEventDeliveriesDeps) {
  const attempts = deps.attempts ?? 3;
  const backoffMs = deps.backoffMs ?? 200;

  async function startOne(row: StatusEventRow, subscriber: string): Promise<void> {
    const event = statusWebhookEvent(row);
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.temporal.workflow.start<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
          taskQueue: deps.config.env.TEMPORAL_TASK_QUEUE,
          workflowId: webhookDeliveryWorkflowId(subscriber, event.id),
          args: [{ subscriber, authenticSource: row.authentic_source, event }],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        });
        return;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return;
        if (attempt >= attempts) throw err;
        await sleep(backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  return {
    /**
     * Options for recording an event of `type` about `source`: with no subscriber that wants it the
     * row is recorded as started (nothing to deliver), which saves the marking round trip.
     */
    recordOptions(source: string, type: StatusEventRow['type']): { deliveriesStarted: boolean } {
      return { deliveriesStarted: webhookSubscribersFor(deps.config, source, type).length === 0 };
    },

    /** Starts every delivery of `row`; true when all started (the row is marked), false when one did not (logged; left for the sweep). */
    async start(row: StatusEventRow): Promise<boolean> {
      if (row.deliveries_started_at) return true;
      const subscribers = webhookSubscribersFor(deps.config, row.authentic_source, row.type);
      try {
        for (const subscriber of subscribers) await startOne(row, subscriber);
      } catch (err) {
        deps.logger?.error({ err: (err as Error).message, statusEvent: row.id, type: row.type }, 'could not start the webhook delivery of a status event; the outbox sweep retries it');
        return false;
      }
      await deps.statusEvents.markDeliveriesStarted(row.id);
      return true;
    },

    /** The outbox sweep: starts the deliveries of events pending for longer than `graceMs` (a request may still be starting them). */
    async startPending(graceMs = 10_000, now = new Date()): Promise<{ started: string[]; failed: string[] }> {
      const rows = await deps.statusEvents.pendingDeliveries(new Date(now.getTime() - graceMs));
      const started: string[] = [];
      const failed: string[] = [];
      for (const row of rows) ((await this.start(row)) ? started : failed).push(row.id);
      return { started, failed };
    },
  };
}

export type StatusEventDeliveries = ReturnType<typeof createStatusEventDeliveries>;
