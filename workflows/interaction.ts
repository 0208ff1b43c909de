import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, condition, getExternalWorkflowHandle, patched, proxyActivities, proxyLocalActivities, setHandler, startChild, uuid4, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { type CollectDeferredResult, type CredentialOfferInput, type IssueCredentialsResult, OfferFailure } from './contracts/credential-offer';
import {
  INTERACTION_FAILED_EVENT_TYPE,
  INTERACTION_WORKFLOW_TYPE,
  interactionCallbackSignal,
  interactionFailedEventId,
  type InteractionInput,
  type InteractionOutcome,
  interactionOutcomeSignal,
  type InteractionStatus,
  interactionStateQuery,
  type InteractionWorkflow,
  interactionWorkflowId,
} from './contracts/interaction';
import { type WebhookDeliveryWorkflow, WEBHOOK_DELIVERY_WORKFLOW_TYPE, type WebhookEvent, webhookDeliveryWorkflowId } from './contracts/webhook-delivery';

type Activities = ReturnType<typeof createActivities>;

/**
 * Seed 002 "Interaction Webhook" (docs/conventions.md, Interactions): asks the credential type's
 * third party for the credential's data (activity `callInteraction`, which stores the answer in
 * `interaction_events` and returns only its outcome), tells the offer workflow, and when the answer
 * was postponed waits for the third party's callback (interactionCallbackSignal, sent by the
 * gateway's `/webhook-accept/...` routes) up to `callbackTimeoutSeconds`. Each outcome reaches the
 * offer's subscribers as `interaction.answered`, `.postponed` or `.failed`, recorded in the outbox by
 * the activities and routes that change the row. The contract is
 * workflows/contracts/interaction.ts.
 */
export async function interactionWorkflow(input: InteractionInput): Promise<InteractionStatus> {
  const status: InteractionStatus = { actionEventId: input.actionEventId, state: 'CALLING', byCallback: false };
  let callback: 'issued' | 'failed' | undefined;
  setHandler(interactionStateQuery, () => status);
  setHandler(interactionCallbackSignal, ({ outcome }) => {
    if (status.state === 'POSTPONED' && callback === undefined) callback = outcome;
  });
  const { callInteraction, expireInteraction } = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 } });
  const parent = getExternalWorkflowHandle(input.parentWorkflowId);
  const tell = (outcome: InteractionOutcome) => parent.signal(interactionOutcomeSignal, { actionEventId: input.actionEventId, outcome }).catch(() => undefined);

  let outcome: InteractionOutcome;
  try {
    ({ outcome } = await callInteraction({ actionEventId: input.actionEventId, offerId: input.offerId, holderJwks: input.holderJwks }));
  } catch {
    // Our side failed (PostgreSQL down through every retry): the wallet waiting on the offer gets a denial, not silence.
    outcome = 'failed';
  }
  status.state = outcome === 'issued' ? 'ISSUED' : outcome === 'postponed' ? 'POSTPONED' : 'FAILED';
  await tell(outcome);
  if (outcome === 'postponed') {
    const answered = await condition(() => callback !== undefined, input.callbackTimeoutSeconds * 1000);
    // No callback in time: the row goes to failed, unless a callback won the race (then it says which).
    outcome = answered ? callback! : (await expireInteraction({ actionEventId: input.actionEventId })).outcome;
    status.byCallback = answered;
    status.state = outcome === 'issued' ? 'ISSUED' : 'FAILED';
    await tell(outcome);
  }
  // Every outcome's webhook event (interaction.answered, .postponed, .failed) is recorded in the
  // outbox with its interaction_events change (src/db/interaction-events-repository.ts); histories
  // from before started the failure's deliveries here.
  if (outcome === 'failed' && !patched('interaction-outcome-events')) await notifyFailure(input);
  return status;
}

/**
 * Before the `interaction-outcome-events` patch: the offer's subscribers hear of a refused or
 * unanswered interaction, each by its own delivery workflow (rebuilt from the row). Its delivery
 * id is the outbox's, so one that the dispatcher started first (running or ended) is not started twice.
 */
async function notifyFailure(input: InteractionInput): Promise<void> {
  const event: WebhookEvent = {
    id: interactionFailedEventId(input.actionEventId),
    type: INTERACTION_FAILED_EVENT_TYPE,
    occurred_at: new Date().toISOString(),
    data: { action_event_id: input.actionEventId, offer_id: input.offerId },
  };
  const { webhookSubscribers } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
  for (const subscriber of await webhookSubscribers({ authenticSource: input.authenticSource, type: event.type })) {
    await startChild<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
      workflowId: webhookDeliveryWorkflowId(subscriber, event.id),
      args: [{ subscriber, event, authenticSource: input.authenticSource }],
      parentClosePolicy: 'ABANDON',
      // The dispatcher's delivery of the same outbox event may have run already: never a second one.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    }).catch((err: unknown) => {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    });
  }
}

/** One interaction event as the offer workflow tracks it: its holder keys and what the third party said so far. */
interface TrackedEvent {
  holderJwks: Record<string, unknown>[];
  outcome?: InteractionOutcome;
  collected: boolean;
}

/**
 * The offer workflow's side of interactions (behind its `credential-interaction` patch): a credential
 * request runs the interaction child and waits for its first outcome; issued → signed now from the
 * stored answer; postponed → the wallet gets a transaction (the deferred endpoint collects it with
 * the collectDeferred Update); failed → credential_request_denied. `pending()` says whether a
 * postponed event still awaits its answer or its collection, which keeps the offer open.
 */
export function offerInteractions(input: CredentialOfferInput, sign: (holderJwks: Record<string, unknown>[], interactionEventId: string) => Promise<{ pickupIds: string[] }>) {
  const config = input.interaction!;
  const events = new Map<string, TrackedEvent>();
  setHandler(interactionOutcomeSignal, ({ actionEventId, outcome }) => {
    const event = events.get(actionEventId);
    if (event && event.outcome !== 'issued' && event.outcome !== 'failed') event.outcome = outcome;
  });
  const denied = () => ApplicationFailure.nonRetryable('the third party refused the credential or did not answer in time', OfferFailure.InteractionFailed);
  return {
    /** A credential request: the interaction first, then the credentials or a deferral. */
    async request(holderJwks: Record<string, unknown>[]): Promise<IssueCredentialsResult> {
      const actionEventId = uuid4();
      const event: TrackedEvent = { holderJwks, collected: false };
      events.set(actionEventId, event);
      await startChild<InteractionWorkflow>(INTERACTION_WORKFLOW_TYPE, {
        workflowId: interactionWorkflowId(actionEventId),
        args: [{ actionEventId, offerId: input.offerId, parentWorkflowId: workflowInfo().workflowId, authenticSource: input.authenticSource, holderJwks, callbackTimeoutSeconds: config.callbackTimeoutSeconds }],
        parentClosePolicy: 'ABANDON',
      });
      await condition(() => event.outcome !== undefined);
      if (event.outcome === 'failed') throw denied();
      if (event.outcome === 'postponed') return { pickupIds: [], deferred: { actionEventId, interval: config.intervalSeconds } };
      event.collected = true;
      return sign(holderJwks, actionEventId);
    },
    /** OpenID4VCI 1.0 §9: the deferred credential request of one event. */
    async collect(actionEventId: string): Promise<CollectDeferredResult> {
      const event = events.get(actionEventId);
      if (!event || event.collected) throw ApplicationFailure.nonRetryable('no such transaction, or its credentials were collected', OfferFailure.UnknownTransaction);
      if (event.outcome === 'postponed') return { pending: true, interval: config.intervalSeconds };
      if (event.outcome !== 'issued') throw denied();
      event.collected = true;
      try {
        return { pending: false, ...(await sign(event.holderJwks, actionEventId)) };
      } catch (err) {
        event.collected = false;
        throw err;
      }
    },
    /** A postponed event still waits for its answer, or an answered one for its collection. */
    pending: () => [...events.values()].some((e) => e.outcome === 'postponed' || (e.outcome === 'issued' && !e.collected)),
    /** The longest a postponed event can take: its callback timeout plus an issuance window to collect it. */
    horizonMs: () => (config.callbackTimeoutSeconds + input.issuanceWindowSeconds) * 1000,
  };
}
