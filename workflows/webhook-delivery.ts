import { ApplicationFailure, patched, proxyActivities, proxyLocalActivities, startChild, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { AuthenticSource, ProcessState } from './contracts/search-attributes';
import {
  DEAD_LETTERED_EVENT_TYPE,
  deadLetteredEventId,
  type WebhookDeliveryInput,
  type WebhookDeliveryState,
  type WebhookDeliveryStatus,
  type WebhookDeliveryWorkflow,
  WEBHOOK_DELIVERY_WORKFLOW_TYPE,
  webhookDeliveryStateQuery,
  type WebhookEvent,
  webhookDeliveryWorkflowId,
  WebhookFailure,
} from './contracts/webhook-delivery';

/**
 * Delivers one event to a subscriber's webhook (seed 000 `notification_endpoint`), retrying with
 * exponential backoff until the subscriber answers 2xx or the horizon passes; then the event is
 * dead-lettered for an operator. The event carries ids only: personal data never enters the history.
 * The activity checks the event against the database before it sends anything with the source's
 * secret, so a workflow started directly with a forged event ends REFUSED and sends nothing.
 */
const DEFAULT_HORIZON_SECONDS = 24 * 3600;
/** The longest `webhooks.delivery.horizon` (src/config/file-schema.ts), plus a day. */
const MAX_HORIZON_SECONDS = 31 * 24 * 3600;

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryStatus> {
  let status: WebhookDeliveryStatus = { state: 'DELIVERING' };
  setHandler(webhookDeliveryStateQuery, () => status);
  const setState = (next: WebhookDeliveryStatus) => {
    status = next;
    upsertSearchAttributes([{ key: ProcessState, value: next.state }]);
  };
  upsertSearchAttributes([
    { key: AuthenticSource, value: input.authenticSource ?? input.subscriber },
    { key: ProcessState, value: status.state },
  ]);

  // Since the webhook-delivery-policy patch the activity paces its retries (backoff with jitter,
  // Retry-After) and stops at the configured horizon (webhooks.delivery.horizon); the timeout here is
  // only a backstop beyond the longest horizon allowed. Older histories keep their one-day timeout.
  const policyInActivity = patched('webhook-delivery-policy');
  const horizon = input.horizonSeconds !== undefined ? input.horizonSeconds * 1000 : policyInActivity ? MAX_HORIZON_SECONDS * 1000 : DEFAULT_HORIZON_SECONDS * 1000;
  const { deliverWebhook } = proxyActivities<ReturnType<typeof createActivities>>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: horizon,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10m', nonRetryableErrorTypes: Object.values(WebhookFailure) },
  });
  const { appendAudit } = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '10s' });

  try {
    const result = await deliverWebhook({ subscriber: input.subscriber, event: input.event, ...(input.authenticSource !== undefined ? { authenticSource: input.authenticSource } : {}) });
    setState({ state: 'DELIVERED', attempts: result.attempt, responseStatus: result.status });
  } catch (err) {
    const cause = err instanceof ApplicationFailure ? err : (err as { cause?: unknown }).cause;
    const failure = cause instanceof ApplicationFailure ? cause : undefined;
    const state: WebhookDeliveryState = failure?.type === WebhookFailure.NotConfigured ? 'NOT_CONFIGURED' : failure?.type === WebhookFailure.EventUnverified ? 'REFUSED' : 'DEAD_LETTERED';
    setState({ state, lastError: failure?.message ?? (err as Error).message });
  }
  await appendAudit({
    actor: 'system',
    action: `webhook.${status.state.toLowerCase()}`,
    target: {
      subscriber: input.subscriber,
      event_id: input.event.id,
      event_type: input.event.type,
      workflow_id: workflowInfo().workflowId,
      run_id: workflowInfo().runId,
      authentic_source: input.authenticSource ?? input.subscriber,
    },
  });
  // Since the webhook-dead-letter-event patch, a dead letter is itself an event (`webhook.dead_lettered`)
  // for the other subscribers that want it; a dead-lettered notice is not announced again.
  if (status.state === 'DEAD_LETTERED' && input.event.type !== DEAD_LETTERED_EVENT_TYPE && patched('webhook-dead-letter-event')) {
    const authenticSource = input.authenticSource ?? input.subscriber;
    const notice: WebhookEvent = {
      id: deadLetteredEventId(workflowInfo().runId),
      type: DEAD_LETTERED_EVENT_TYPE,
      occurred_at: new Date().toISOString(),
      data: { subscriber: input.subscriber, event_id: input.event.id, event_type: input.event.type, authentic_source: authenticSource, delivery_workflow_id: workflowInfo().workflowId },
    };
    const { webhookSubscribers } = proxyLocalActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '10s' });
    for (const subscriber of await webhookSubscribers({ authenticSource, type: notice.type })) {
      if (subscriber === input.subscriber) continue;
      await startChild<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
        workflowId: webhookDeliveryWorkflowId(subscriber, notice.id),
        args: [{ subscriber, event: notice, authenticSource }],
        parentClosePolicy: 'ABANDON',
      });
    }
  }
  return status;
}
