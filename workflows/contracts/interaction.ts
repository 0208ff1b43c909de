import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * The contract of the interaction workflow (workflows/interaction.ts, seed 002 "Interaction
 * Webhook", docs/conventions.md Interactions): one call to a credential type's third party, started
 * by the offer workflow as a child at a credential request. Its id is the event's `actionEventId`.
 * It carries ids and public holder keys only: the third party's answer is stored by the activity
 * (`interaction_events`, migration 0022) and read from there by the issuing activity.
 */
export const INTERACTION_WORKFLOW_TYPE = 'interactionWorkflow';
export type InteractionWorkflow = (input: InteractionInput) => Promise<InteractionStatus>;

export const interactionWorkflowId = (actionEventId: string) => `interaction/${actionEventId}`;

export interface InteractionInput {
  /** Seed 002 `actionEventId`, unique for the service (a UUID). */
  actionEventId: string;
  offerId: string;
  /** The offer workflow to tell the outcome (interactionOutcomeSignal). */
  parentWorkflowId: string;
  authenticSource: string;
  /** The holder keys of the credential request (public JWKs); the first one's did:jwk is the `subscriberConnectDid`. */
  holderJwks: Record<string, unknown>[];
  /** How long a postponed answer is waited for (the type's `interaction.callback_timeout`). */
  callbackTimeoutSeconds: number;
}

/** What the third party said: data now, later (postponed), or no. */
export type InteractionOutcome = 'issued' | 'postponed' | 'failed';

export interface InteractionStatus {
  actionEventId: string;
  state: 'CALLING' | 'ISSUED' | 'POSTPONED' | 'FAILED';
  /** Whether the answer came by the third party's callback (after a postponement). */
  byCallback: boolean;
}

export const interactionStateQuery = defineQuery<InteractionStatus>('state');

/**
 * The inbound callback (`/service/:serviceDid/webhook-accept/credentials-issued` or
 * `.../credentials-issuing-failed`): the gateway has already moved the event's row from `postponed`
 * (one UPDATE decides, so a replay changes nothing) and tells the waiting workflow.
 */
export const interactionCallbackSignal = defineSignal<[{ outcome: 'issued' | 'failed' }]>('interactionCallback');

/** To the offer workflow: the event's outcome; `postponed` is followed by a second, final signal. */
export const interactionOutcomeSignal = defineSignal<[{ actionEventId: string; outcome: InteractionOutcome }]>('interactionOutcome');

/** Webhook event type of an interaction the third party refused or never answered (docs/conventions.md, Webhook events). */
export const INTERACTION_FAILED_EVENT_TYPE = 'interaction.failed';
export const interactionFailedEventId = (actionEventId: string) => `interaction.${actionEventId}.failed`;
