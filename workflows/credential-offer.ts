import { allHandlersFinished, ApplicationFailure, condition, patched, proxyLocalActivities, startChild, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import {
  cancelOfferSignal,
  collectDeferredUpdate,
  type CredentialOfferInput,
  issueCredentialsUpdate,
  MAX_BATCH,
  OfferFailure,
  type OfferState,
  type OfferStatus,
  offerStartSearchAttributes,
  offerStateQuery,
  type RedeemResult,
  redeemOfferUpdate,
  resendPinUpdate,
  type ResendPinResult,
  unlockOfferUpdate,
  walletNotificationSignal,
} from './contracts/credential-offer';
import { ProcessState } from './contracts/search-attributes';
import { offerInteractions } from './interaction';
import { type WebhookDeliveryWorkflow, WEBHOOK_DELIVERY_WORKFLOW_TYPE, type WebhookEvent, webhookDeliveryWorkflowId } from './contracts/webhook-delivery';

/**
 * One credential offer (seed 000 "Generate Credential Offer" and "Pre-Authorized Code Flow",
 * OpenID4VCI 1.0): sends the PIN, waits until the code expires for the wallet to redeem the
 * pre-authorized code, counts wrong PINs and locks the offer after too many, then serves the
 * wallet's credential requests. The history holds ids and counters only: the code, the PIN and the
 * offer URI token are derived from the offer id with server keys and never enter it, and the offer
 * id alone yields none of them. The one proof it holds, the gateway's redemption proof, is verified
 * by the issuing activity (which has the key) before anything is signed.
 * The contract (input, state, messages, ids) is workflows/contracts/credential-offer.ts.
 */
export async function credentialOfferWorkflow(input: CredentialOfferInput): Promise<OfferStatus> {
  const status: OfferStatus = { offerId: input.offerId, state: 'OFFERED', pinAttempts: 0, credentialsIssued: 0, walletEvents: [] };
  let redemptionProof: string | undefined;
  /** Credentials issued or being signed: counted before the activity runs, so concurrent requests cannot both pass the cap. */
  let reserved = 0;
  const setState = (state: OfferState) => {
    status.state = state;
    upsertSearchAttributes([{ key: ProcessState, value: state }]);
  };
  // Starters pass these with the start request (offerStartSearchAttributes); offers started without
  // them (older starters, and every history recorded before) set them here. Decided by the start
  // event alone, so replay takes the same branch.
  if (workflowInfo().typedSearchAttributes.get(ProcessState) === undefined) upsertSearchAttributes(offerStartSearchAttributes(input));
  // A patch of revision 1 or earlier holds for an input of revision 1 without asking (no marker, no
  // upsert; CredentialOfferInput.revision). Inputs without a revision ask, at the same points their
  // histories did. Decided by the start event alone, so replay takes the same branch.
  const since = (patchId: string) => (input.revision ?? 0) >= 1 || patched(patchId);
  // Offers started since this patch stay alive when LOCKED, until their code expires, so an operator
  // can unlock them or re-send the PIN; older histories ended at LOCKED. Decided in the first task.
  const lockedWaits = since('locked-offer-waits');
  /** Until the code expires (or the offer is redeemed); after that a LOCKED offer is closing and takes no unlock, re-send or cancel. */
  let waiting = true;
  const isLocked = () => lockedWaits && waiting && status.state === 'LOCKED';
  setHandler(offerStateQuery, () => status);
  setHandler(cancelOfferSignal, () => {
    if (status.state === 'OFFERED' || status.state === 'REDEEMED' || isLocked()) setState('CANCELLED');
  });
  setHandler(
    unlockOfferUpdate,
    (): OfferStatus => {
      status.pinAttempts = 0;
      setState('OFFERED');
      return status;
    },
    {
      validator: () => {
        if (!isLocked()) throw ApplicationFailure.nonRetryable(`offer is ${status.state}, not a waiting LOCKED offer`, OfferFailure.NotLocked);
      },
    },
  );
  setHandler(
    redeemOfferUpdate,
    ({ pinCorrect, redemptionProof: proof, pinGeneration }): RedeemResult => {
      if (status.state !== 'OFFERED') return { ok: false, reason: status.state === 'LOCKED' ? 'locked' : 'not_redeemable', state: status.state };
      // A PIN of an earlier generation (checked before a re-send landed) is a wrong PIN.
      if (input.pinRequired && (!pinCorrect || (pinGeneration ?? 0) !== (status.pinGeneration ?? 0))) {
        status.pinAttempts++;
        const attemptsLeft = input.maxPinAttempts - status.pinAttempts;
        if (attemptsLeft <= 0) {
          setState('LOCKED');
          return { ok: false, reason: 'locked', state: 'LOCKED' };
        }
        return { ok: false, reason: 'wrong_pin', attemptsLeft };
      }
      redemptionProof = typeof proof === 'string' ? proof : undefined;
      setState('REDEEMED');
      return { ok: true };
    },
  );

  // A local activity: signing runs in the worker that holds this workflow task, saving two server
  // round trips on the wallet's wait; its result (pickup ids) is still recorded in the history.
  const { issueOfferCredentials } = proxyLocalActivities<ReturnType<typeof createActivities>>({
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: Object.values(OfferFailure) },
  });
  const sign = async (holderJwks: Record<string, unknown>[], interactionEventId?: string): Promise<{ pickupIds: string[] }> => {
    const result = await issueOfferCredentials({ offerId: input.offerId, holderJwks, redemptionProof, ...(interactionEventId !== undefined ? { interactionEventId } : {}) });
    status.credentialsIssued += holderJwks.length;
    if (status.state === 'REDEEMED') setState('ISSUED');
    return result;
  };
  // Seed 002 interactions (workflows/interaction.ts): only for inputs of a type with one, which older histories never have.
  const interactions = input.interaction !== undefined && since('credential-interaction') ? offerInteractions(input, sign) : undefined;
  if (interactions) setHandler(collectDeferredUpdate, ({ actionEventId }) => interactions.collect(actionEventId));
  setHandler(
    issueCredentialsUpdate,
    async ({ holderJwks }) => {
      reserved += holderJwks.length;
      try {
        // A postponed request keeps its reservation: its credentials are still to be signed.
        return interactions ? await interactions.request(holderJwks) : await sign(holderJwks);
      } catch (err) {
        reserved -= holderJwks.length;
        throw err;
      }
    },
    {
      validator: ({ holderJwks, credentialConfigurationId }) => {
        if (credentialConfigurationId !== undefined && credentialConfigurationId !== input.vct) {
          throw ApplicationFailure.nonRetryable('the access token is for another credential configuration', OfferFailure.WrongCredentialConfiguration);
        }
        if (status.state !== 'REDEEMED' && status.state !== 'ISSUED') throw ApplicationFailure.nonRetryable(`offer is ${status.state}`, OfferFailure.NotIssuable);
        if (!Array.isArray(holderJwks) || holderJwks.length < 1 || holderJwks.length > MAX_BATCH) throw new Error(`between 1 and ${MAX_BATCH} holder keys`);
        // A validator's refusal is not recorded in the history; the issuing activity checks the cap again against PostgreSQL.
        if (input.maxCredentials !== undefined && reserved + holderJwks.length > input.maxCredentials) {
          throw ApplicationFailure.nonRetryable(`the offer may issue ${input.maxCredentials} credential(s) and has issued ${status.credentialsIssued}`, OfferFailure.CredentialLimitReached);
        }
      },
    },
  );
  const mailRetry = { initialInterval: '2s', maximumInterval: '1m', nonRetryableErrorTypes: ['EmailNotConfigured', 'EmailRejected', 'NoRecipient'] };
  // A re-sent PIN: local activities, as the first mail; the caller waits for them (bounded), so a mail that cannot go fails the re-send.
  const resendPinActivities = proxyLocalActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '30s', scheduleToCloseTimeout: '2m', retry: mailRetry });
  setHandler(
    resendPinUpdate,
    async (): Promise<ResendPinResult> => {
      const generation = (status.pinGeneration = (status.pinGeneration ?? 0) + 1);
      status.pinAttempts = 0;
      // The row first, so the gateway checks the new PIN before the holder can have it; then the mail.
      await resendPinActivities.recordPinGeneration({ offerId: input.offerId, generation });
      // A re-send also lifts a lockout: the new PIN redeems the same code.
      if (isLocked()) setState('OFFERED');
      if (input.pinByEmail) await resendPinActivities.sendOfferPin({ offerId: input.offerId, generation });
      return { offerId: input.offerId, pinGeneration: generation, pinDelivery: input.pinByEmail ? 'email' : 'authentic_source' };
    },
    {
      validator: ({ requestedBy }) => {
        if (!input.pinRequired) throw ApplicationFailure.nonRetryable('this offer takes no PIN', OfferFailure.PinNotResendable);
        if (requestedBy !== 'authentic_source' && !input.pinByEmail) throw ApplicationFailure.nonRetryable('this offer\'s PIN goes to its authentic source, which asks for a new one itself', OfferFailure.PinNotResendable);
        if (status.state !== 'OFFERED' && !isLocked()) throw ApplicationFailure.nonRetryable(`offer is ${status.state}`, OfferFailure.PinNotResendable);
      },
    },
  );
  setHandler(walletNotificationSignal, ({ event }) => {
    status.walletEvents.push(event);
  });

  // One clock: the code expires at the time recorded with the offer (credential_offers.expires_at),
  // however long the PIN mail takes; older inputs carry only the TTL, counted from here.
  const expiresAtMs = input.expiresAt !== undefined ? Date.parse(input.expiresAt) : Date.now() + input.codeTtlSeconds * 1000;
  const { sendOfferPin, closeOffer } = proxyActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '30s', retry: mailRetry });

  if (input.pinByEmail) {
    // The PIN mail as a local activity: sent in the first workflow task, without a round trip through
    // the server's activity queue, and retried until the code expires (the PIN is derived and the mail
    // carries an idempotency key, so a retry after a crash sends the same message). Older histories
    // used the queued activity.
    const pinMail = since('pin-mail-local-activity')
      ? proxyLocalActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '30s', scheduleToCloseTimeout: Math.max(1000, expiresAtMs - Date.now()), localRetryThreshold: '10s', retry: mailRetry }).sendOfferPin
      : sendOfferPin;
    try {
      await pinMail({ offerId: input.offerId });
    } catch {
      // Without a delivered PIN nobody can redeem the offer: end it, so a new notification starts afresh.
      setState('CANCELLED');
    }
  }

  if (status.state === 'OFFERED') {
    // A waiting LOCKED offer waits on (unlock and re-send return it to OFFERED); locked at expiry, it ends LOCKED.
    const redeemed = await condition(() => status.state !== 'OFFERED' && !isLocked(), Math.max(0, expiresAtMs - Date.now()));
    if (!redeemed && status.state === 'OFFERED') setState('EXPIRED');
  }
  waiting = false;
  if (status.state === 'REDEEMED' || status.state === 'ISSUED') {
    // The wallet may request credentials (and report on them) until the window closes or it says it is done.
    await condition(() => status.state === 'CANCELLED' || status.walletEvents.length > 0, input.issuanceWindowSeconds * 1000);
    // A postponed interaction keeps the offer open until its credentials are collected, or its third party's time is up.
    if (interactions?.pending()) await condition(() => status.state === 'CANCELLED' || !interactions.pending(), interactions.horizonMs());
  }
  // Let a credential request that is being served finish before the workflow completes.
  await condition(allHandlersFinished);
  await closeOffer({ offerId: input.offerId, state: status.state });
  const event: WebhookEvent = {
    id: `offer.${input.offerId}.${status.state.toLowerCase()}`,
    type: `credential_offer.${status.state.toLowerCase()}`,
    occurred_at: new Date().toISOString(),
    data: { vct: input.vct, document_id: input.documentId, offer_id: input.offerId, credentials_issued: status.credentialsIssued },
  };
  if (since('webhook-subscribers')) {
    // Tell every subscriber of this event type (the source's notification_endpoint and the issuer-wide
    // webhooks.subscribers) how the offer ended, each by its own durable, retrying delivery workflow.
    const { webhookSubscribers } = proxyLocalActivities<ReturnType<typeof createActivities>>({ startToCloseTimeout: '10s' });
    for (const subscriber of await webhookSubscribers({ authenticSource: input.authenticSource, type: event.type })) {
      await startChild<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
        workflowId: webhookDeliveryWorkflowId(subscriber, event.id),
        args: [{ subscriber, event, authenticSource: input.authenticSource }],
        parentClosePolicy: 'ABANDON',
      });
    }
  } else if (input.notifySource) {
    // Older histories: tell the authentic source how the offer ended, by its own delivery workflow.
    await startChild<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, {
      workflowId: webhookDeliveryWorkflowId(input.authenticSource, event.id),
      args: [{ subscriber: input.authenticSource, event }],
      parentClosePolicy: 'ABANDON',
    });
  }
  return status;
}
