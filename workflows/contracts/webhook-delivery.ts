import { defineQuery } from '@temporalio/workflow';

/** The contract of the webhook delivery workflow (workflows/webhook-delivery.ts). */
export const WEBHOOK_DELIVERY_WORKFLOW_TYPE = 'webhookDeliveryWorkflow';
export type WebhookDeliveryWorkflow = (input: WebhookDeliveryInput) => Promise<WebhookDeliveryStatus>;

export const webhookDeliveryWorkflowId = (subscriber: string, eventId: string) => `webhook/${subscriber}/${eventId}`;

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

/** Failure types of the deliverWebhook activity that end the delivery without a retry. */
export const WebhookFailure = {
  Rejected: 'WebhookRejected',
  NotConfigured: 'WebhookNotConfigured',
  EventUnverified: 'WebhookEventUnverified',
} as const;
