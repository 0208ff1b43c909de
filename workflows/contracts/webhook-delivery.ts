import { defineQuery } from '@temporalio/workflow';

/** The contract of the webhook delivery workflow (workflows/webhook-delivery.ts). */
export const WEBHOOK_DELIVERY_WORKFLOW_TYPE = 'webhookDeliveryWorkflow';
export type WebhookDeliveryWorkflow = (input: WebhookDeliveryInput) => Promise<WebhookDeliveryStatus>;

export const webhookDeliveryWorkflowId = (subscriber: string, eventId: string) => `webhook/${subscriber}/${eventId}`;

/** The type of the event that tells subscribers a delivery was dead-lettered (never itself announced again). */
export const DEAD_LETTERED_EVENT_TYPE = 'webhook.dead_lettered';
/** Its id: one per dead-lettered run of a delivery (a redelivery that dead-letters again is a new event). */
export const deadLetteredEventId = (runId: string) => `webhook_dead_lettered.${runId}`;

export interface WebhookEvent {
  /** Unique per event; sent as `Idempotency-Key` so subscribers can drop duplicates. */
  id: string;
  type: string;
  occurred_at: string;
  data: Record<string, string | number | boolean | null>;
}

export interface WebhookDeliveryInput {
  /**
   * Who receives the event: an authentic source (its `notification_endpoint`) or an issuer-wide
   * subscriber (`webhooks.subscribers.<name>`).
   */
  subscriber: string;
  /** The authentic source the event is about; absent when it is the subscriber itself (older histories). */
  authenticSource?: string;
  event: WebhookEvent;
  /** How long to keep retrying, in seconds; older histories default to one day, newer ones leave it to `webhooks.delivery.horizon`. */
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

/** Failure types of the deliverWebhook activity that end the delivery without a retry. */
export const WebhookFailure = {
  Rejected: 'WebhookRejected',
  NotConfigured: 'WebhookNotConfigured',
  EventUnverified: 'WebhookEventUnverified',
} as const;

/**
 * Failure types of deliverWebhook that are not in the workflow's non-retryable list (so recorded
 * histories keep their retry policy): `Failed` is retried after the activity's own backoff
 * (nextRetryDelay), `HorizonPassed` is thrown non-retryable when the next retry would fall after
 * `webhooks.delivery.horizon`; the delivery is then DEAD_LETTERED.
 */
export const WebhookRetryable = {
  Failed: 'WebhookDeliveryFailed',
  HorizonPassed: 'WebhookHorizonPassed',
  /** An ordered delivery waits for the earlier event of its document (activities/webhook-activities.ts); not an attempt. */
  Waiting: 'WebhookWaitingForEarlier',
} as const;
