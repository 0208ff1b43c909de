import { ApplicationFailure, defineQuery, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { AuthenticSource, ProcessState } from './search-attributes';

/**
 * Delivers one event to a subscriber's webhook (seed 000 `notification_endpoint`), retrying with
 * exponential backoff until the subscriber answers 2xx or the horizon passes; then the event is
 * dead-lettered for an operator. The event carries ids only: personal data never enters the history.
 * The activity checks the event against the database before it sends anything with the source's
 * secret, so a workflow started directly with a forged event ends REFUSED and sends nothing.
 */
export interface WebhookEvent {
  /** Unique per event; sent as `Idempotency-Key` so subscribers can drop duplicates. */
  id: string;
  type: string;
  occurred_at: string;
  data: Record<string, string | number | boolean | null>;
}

export interface WebhookDeliveryInput {
  /** The authentic source whose configured `notification_endpoint` receives the event. */
  subscriber: string;
  event: WebhookEvent;
  /** How long to keep retrying, in seconds (default one day). */
  horizonSeconds?: number;
}

/** REFUSED: the event is not what the database says (activities/webhook-activities.ts), so nothing was sent. */
export type WebhookDeliveryState = 'DELIVERING' | 'DELIVERED' | 'DEAD_LETTERED' | 'NOT_CONFIGURED' | 'REFUSED';

export interface WebhookDeliveryStatus {
  state: WebhookDeliveryState;
  /** Attempt that succeeded (1 = first try), when delivered. */
  attempts?: number;
  responseStatus?: number;
  lastError?: string;
}

export const webhookDeliveryStateQuery = defineQuery<WebhookDeliveryStatus>('state');

export const webhookDeliveryWorkflowId = (subscriber: string, eventId: string) => `webhook/${subscriber}/${eventId}`;

const DEFAULT_HORIZON_SECONDS = 24 * 3600;

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryStatus> {
  let status: WebhookDeliveryStatus = { state: 'DELIVERING' };
  setHandler(webhookDeliveryStateQuery, () => status);
  const setState = (next: WebhookDeliveryStatus) => {
    status = next;
    upsertSearchAttributes([{ key: ProcessState, value: next.state }]);
  };
  upsertSearchAttributes([
    { key: AuthenticSource, value: input.subscriber },
    { key: ProcessState, value: status.state },
  ]);

  const horizon = (input.horizonSeconds ?? DEFAULT_HORIZON_SECONDS) * 1000;
  const { deliverWebhook } = proxyActivities<ReturnType<typeof createActivities>>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: horizon,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10m', nonRetryableErrorTypes: ['WebhookRejected', 'WebhookNotConfigured', 'WebhookEventUnverified'] },
  });
  const { appendAudit } = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '10s' });

  try {
    const result = await deliverWebhook({ subscriber: input.subscriber, event: input.event });
    setState({ state: 'DELIVERED', attempts: result.attempt, responseStatus: result.status });
  } catch (err) {
    const cause = err instanceof ApplicationFailure ? err : (err as { cause?: unknown }).cause;
    const failure = cause instanceof ApplicationFailure ? cause : undefined;
    const state: WebhookDeliveryState = failure?.type === 'WebhookNotConfigured' ? 'NOT_CONFIGURED' : failure?.type === 'WebhookEventUnverified' ? 'REFUSED' : 'DEAD_LETTERED';
    setState({ state, lastError: failure?.message ?? (err as Error).message });
  }
  await appendAudit({
    actor: 'system',
    action: `webhook.${status.state.toLowerCase()}`,
    target: { subscriber: input.subscriber, event_id: input.event.id, event_type: input.event.type, workflow_id: workflowInfo().workflowId },
  });
  return status;
}
