import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, ApplicationFailure } from '@temporalio/client';
import type { Config } from '../config/config';
import type { DocumentKey, DocumentsRepository } from '../db/documents-repository';
import type { IssuedCredentialsRepository } from '../db/issued-credentials-repository';
import type { OfferRecord, OffersRepository } from '../db/offers-repository';
import type { WebhookOutbox } from '../db/webhook-outbox-repository';
import { offerCreatedEventId, offerRedeemedEvent, walletNotificationEvent } from '../webhooks/offer-events';
import {
  cancelOfferSignal,
  collectDeferredUpdate,
  CREDENTIAL_OFFER_WORKFLOW_TYPE,
  type CredentialOfferWorkflow,
  credentialOfferWorkflowId,
  issueCredentialsUpdate,
  OfferFailure,
  offerStartSearchAttributes,
  offerStateQuery,
  redeemOfferUpdate,
  type ResendPinResult,
  resendPinUpdate,
  unlockOfferUpdate,
  type OfferStatus,
  type WalletEvent,
  walletNotificationSignal,
} from '../../workflows/contracts/credential-offer';
import type { InteractionEventsRepository } from '../db/interaction-events-repository';
import { CredentialRequestDenied, InvalidCredentialRequest, InvalidGrant, InvalidTransactionId, UnknownCredentialConfiguration } from './oauth-errors';
import { pinFailures } from '../metrics/metrics';
import { prepareOffer } from './offer-preparation';
import type { OfferSecrets } from './offer-secrets';

export interface OfferServiceDeps {
  config: Config;
  documents: DocumentsRepository;
  offers: OffersRepository;
  secrets: OfferSecrets;
  temporal: Client;
  issued: Pick<IssuedCredentialsRepository, 'pickUp'>;
  /** The webhook outbox (migration 0021): offer created, redeemed and wallet notification events are recorded with their change. */
  outbox: Pick<WebhookOutbox, 'record' | 'recordNow' | 'discard' | 'wants'>;
  /** Seed 002 interaction events, to find a deferred request's event by its transaction_id. */
  interactionEvents: Pick<InteractionEventsRepository, 'byOffer'>;
}

/** The credential endpoint's answer: the credentials, or a deferral (OpenID4VCI 1.0 §8.3: `transaction_id` and `interval`). */
export type IssueOutcome = { credentials: string[] } | { transactionId: string; interval: number };

/** What an access token grants: the offer it was issued for, and that offer's workflow. */
export interface OfferGrant {
  workflowId: string;
  offerId: string;
}

/** A started (or already running) offer, as the notification answer needs it. */
export type StartedOffer = { ok: true; offerId: string; pinDelivery: OfferRecord['pin_delivery'] } | { ok: false; reason: 'document_not_found' | 'document_not_valid' | 'flow_disabled' | 'closing' };

/** The type of the first ApplicationFailure in an error's cause chain (an Update's failure wraps the validator's or the activity's). */
function failureType(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof ApplicationFailure && e.type) return e.type;
  return undefined;
}

/**
 * Why an Update to a document's offer failed, when the caller answers rather than rethrows: `gone`
 * (no such workflow), `refused` (the validator threw `type`, or the offer has completed: "workflow
 * execution already completed"); undefined for anything else (a Temporal outage).
 */
function offerUpdateRefusal(err: unknown, type: string): 'gone' | 'refused' | undefined {
  if (err instanceof WorkflowNotFoundError) return 'gone';
  if (failureType(err) === type || err instanceof WorkflowUpdateFailedError || (err instanceof Error && /already completed/i.test(err.message))) return 'refused';
  return undefined;
}

const NOT_REDEEMABLE = 'The pre-authorized code is invalid, expired or already used';

/**
 * The one place the offer path talks to its workflow (workflows/contracts/credential-offer.ts): the
 * notification route starts offers through it, the wallet endpoints find, redeem and issue through
 * it, and cancelling (document deleted) goes through it. Wallet-facing failures are thrown as the
 * OAuth error classes of src/oid4vci/oauth-errors.ts; a Temporal outage is rethrown as it is, so the
 * endpoints answer 5xx, never a client error.
 */
export function createOfferService({ config, documents, offers, secrets, temporal, issued, outbox, interactionEvents }: OfferServiceDeps) {
  const taskQueue = config.env.TEMPORAL_TASK_QUEUE;
  const preAuth = config.file.issuer.pre_authorized_code;
  const isLive = (offer: OfferRecord | undefined): offer is OfferRecord => offer !== undefined && offer.state === 'OFFERED' && offer.expires_at.getTime() > Date.now();

  /** The offer id of the document's running offer workflow, if there is one. */
  const runningOffer = async (workflowId: string): Promise<string | undefined> => {
    try {
      const handle = temporal.workflow.getHandle(workflowId);
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return undefined;
      return (await handle.query(offerStateQuery)).offerId;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };

  return {
    /**
     * Seed 000 "Generate Credential Offer": prepares a new offer and starts its workflow, or finds
     * the one already running for the document (its id is the business key, so a repeated call never
     * makes a second live offer). Prepared first, then started: a fresh document costs one round trip.
     */
    async start(key: DocumentKey, email?: string): Promise<StartedOffer> {
      const prepared = await prepareOffer({ config, documents, offers, secrets, outbox }, key, email);
      if (!prepared.ok) return prepared;
      const { input } = prepared;
      const workflowId = credentialOfferWorkflowId(key.authentic_source, key.vct, key.document_id);
      try {
        await temporal.workflow.start<CredentialOfferWorkflow>(CREDENTIAL_OFFER_WORKFLOW_TYPE, { taskQueue, workflowId, args: [input], typedSearchAttributes: offerStartSearchAttributes(input), workflowIdConflictPolicy: 'FAIL' });
        return { ok: true, offerId: input.offerId, pinDelivery: input.pinRequired ? (input.pinByEmail ? 'email' : 'authentic_source') : 'none' };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        await offers.remove(input.offerId);
        // The offer that was recorded is not made: its created event is never announced.
        await outbox.discard(offerCreatedEventId(input.offerId));
        const existing = await runningOffer(workflowId);
        const record = existing ? await offers.byId(existing) : undefined;
        if (!record) return { ok: false, reason: 'closing' };
        return { ok: true, offerId: record.offer_id, pinDelivery: record.pin_delivery };
      }
    },

    /** The PIN for the authentic source to pass on itself (pin_delivery: authentic_source). */
    pinForSource: (offerId: string) => secrets.pin(offerId, preAuth.pin_length),

    /** The open offer whose credential_offer_uri carries `token` (found by the token's hash; the offer id does not open it). */
    async liveByUriToken(token: string): Promise<OfferRecord | undefined> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
      const offer = await offers.byUriTokenHash(secrets.uriTokenHash(token));
      return isLive(offer) ? offer : undefined;
    },

    /** The open offer of a pre-authorized code, or invalid_grant (OpenID4VCI 1.0 §6.3). */
    async liveByCode(code: string): Promise<OfferRecord> {
      const offer = await offers.byCodeHash(secrets.codeHash(code));
      if (!isLive(offer)) throw new InvalidGrant(NOT_REDEEMABLE);
      return offer;
    },

    /**
     * Redeems the offer's code with the presented PIN through its workflow, which counts wrong PINs
     * and locks the offer. On success the gateway's redemption proof travels with the Update (see
     * redeemOfferUpdate) and the offer's row is marked REDEEMED.
     */
    async redeem(offer: OfferRecord, txCode: string | undefined): Promise<void> {
      const pinGeneration = offer.pin_generation ?? 0;
      const pinCorrect = !offer.tx_code_required || secrets.pinMatches(offer.offer_id, txCode ?? '', preAuth.pin_length, pinGeneration);
      // The generation goes with the verdict only once PINs were re-sent, so requests look as before otherwise.
      const request = { pinCorrect, ...(pinCorrect ? { redemptionProof: secrets.redemptionProof(offer.offer_id) } : {}), ...(pinGeneration > 0 ? { pinGeneration } : {}) };
      let result;
      try {
        result = await temporal.workflow.getHandle(offer.workflow_id).executeUpdate(redeemOfferUpdate, { args: [request] });
      } catch (err) {
        // The workflow has ended (expired, locked or cancelled) since the row was read.
        if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) throw new InvalidGrant(NOT_REDEEMABLE);
        throw err;
      }
      if (!result.ok) {
        if (!pinCorrect) pinFailures.inc();
        if (result.reason === 'wrong_pin') throw new InvalidGrant(`Wrong tx_code; ${result.attemptsLeft} attempt(s) left`);
        if (result.reason === 'locked') throw new InvalidGrant('Too many wrong tx_codes: the offer is locked');
        throw new InvalidGrant(NOT_REDEEMABLE);
      }
      // The redemption event in the transaction that marks the row (only the call that changed it records it; no transaction when nobody subscribes).
      const redeemed = offerRedeemedEvent(offer);
      await offers.markRedeemed(offer.offer_id, outbox.wants(redeemed) ? async (trx) => void (await outbox.record(trx, redeemed)) : undefined);
    },

    /**
     * Asks the offer's workflow to sign one credential per holder key (it checks the configuration
     * id against its own vct, the state and the cap), then takes them from their sealed pickup slots.
     */
    async issue(grant: OfferGrant, credentialConfigurationId: string, holderJwks: Record<string, unknown>[]): Promise<IssueOutcome> {
      let result;
      try {
        result = await temporal.workflow.getHandle(grant.workflowId).executeUpdate(issueCredentialsUpdate, { args: [{ holderJwks, credentialConfigurationId }] });
      } catch (err) {
        // OpenID4VCI 1.0 §8.3.1.2: credential_request_denied, "the Credential Request has not been accepted".
        switch (failureType(err)) {
          case OfferFailure.WrongCredentialConfiguration:
            throw new UnknownCredentialConfiguration('This access token is for another credential configuration');
          case OfferFailure.CredentialLimitReached:
            throw new CredentialRequestDenied(`This offer may issue at most ${preAuth.max_credentials_per_offer} credential(s)`);
          case OfferFailure.DocumentChanged:
            throw new CredentialRequestDenied('The document was changed after this offer was made; ask its issuer for a new offer');
          case OfferFailure.InteractionFailed:
          case OfferFailure.InteractionRequired:
            throw new CredentialRequestDenied('The credential\'s data provider refused this request or did not answer in time');
        }
        if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) throw new InvalidCredentialRequest('The offer can no longer issue credentials');
        throw err;
      }
      // Seed 002: the third party postponed its answer; the wallet polls the deferred endpoint.
      if (result.deferred) return { transactionId: secrets.transactionId(result.deferred.actionEventId), interval: result.deferred.interval };
      return { credentials: await issued.pickUp(result.pickupIds) };
    },

    /**
     * OpenID4VCI 1.0 §9: the credentials of a deferred request, from the offer's workflow once the
     * third party answered (collectDeferredUpdate); before, `pending` with the interval (§9.2: the
     * endpoint answers 202 with the same transaction_id);
     * invalid_transaction_id for an id this access token's offer does not have, or that was collected.
     */
    async collectDeferred(grant: OfferGrant, transactionId: string): Promise<{ pending: true; interval: number } | { pending: false; vct: string; credentials: string[] }> {
      const event = (await interactionEvents.byOffer(grant.offerId)).find((e) => secrets.transactionId(e.action_event_id) === transactionId);
      if (!event || event.state === 'collected') throw new InvalidTransactionId('Unknown transaction_id, or its credentials were issued already');
      let result;
      try {
        result = await temporal.workflow.getHandle(grant.workflowId).executeUpdate(collectDeferredUpdate, { args: [{ actionEventId: event.action_event_id }] });
      } catch (err) {
        const type = failureType(err);
        if (type === OfferFailure.InteractionFailed || type === OfferFailure.InteractionRequired) throw new CredentialRequestDenied('The credential\'s data provider refused this request or did not answer in time');
        if (type === OfferFailure.UnknownTransaction || err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError || (err instanceof Error && /already completed/i.test(err.message))) {
          throw new InvalidTransactionId('Unknown transaction_id, or its credentials were issued already');
        }
        throw err;
      }
      if (result.pending) return { pending: true, interval: result.interval };
      return { pending: false, vct: event.vct, credentials: await issued.pickUp(result.pickupIds) };
    },

    /**
     * Re-sends the PIN of the document's open offer (resendPinUpdate): a new PIN, the old one stops
     * working, the wrong-PIN count starts again, the code stays. `undefined` when the document has
     * no running offer; PinNotResendable when it is redeemed, ended, or takes no PIN. For an offer
     * whose PIN goes to the authentic source, `pin` is the new one for the source to pass on.
     */
    async resendPin(key: DocumentKey, requestedBy: 'operator' | 'authentic_source'): Promise<(ResendPinResult & { pin?: string }) | undefined | 'not_resendable'> {
      const workflowId = credentialOfferWorkflowId(key.authentic_source, key.vct, key.document_id);
      let result;
      try {
        result = await temporal.workflow.getHandle(workflowId).executeUpdate(resendPinUpdate, { args: [{ requestedBy }] });
      } catch (err) {
        const refusal = offerUpdateRefusal(err, OfferFailure.PinNotResendable);
        if (!refusal) throw err;
        return refusal === 'gone' ? undefined : 'not_resendable';
      }
      return { ...result, ...(result.pinDelivery === 'authentic_source' ? { pin: secrets.pin(result.offerId, preAuth.pin_length, result.pinGeneration) } : {}) };
    },

    /**
     * Unlocks the document's LOCKED offer (unlockOfferUpdate): the wrong-PIN count starts again and
     * the same code redeems with the right PIN. `undefined` when the document has no running offer;
     * `not_locked` when it is not LOCKED (or is an older offer that ends when it locks).
     */
    async unlock(key: DocumentKey): Promise<OfferStatus | undefined | 'not_locked'> {
      const workflowId = credentialOfferWorkflowId(key.authentic_source, key.vct, key.document_id);
      try {
        return await temporal.workflow.getHandle(workflowId).executeUpdate(unlockOfferUpdate);
      } catch (err) {
        const refusal = offerUpdateRefusal(err, OfferFailure.NotLocked);
        if (!refusal) throw err;
        return refusal === 'gone' ? undefined : 'not_locked';
      }
    },

    /** OpenID4VCI 1.0 §11: the wallet's event goes to the offer's workflow; an offer that has ended has nothing to record. */
    async walletEvent(grant: OfferGrant, event: WalletEvent): Promise<void> {
      // The reception is the change the event reports: recorded before the workflow hears of it (a repeat records nothing new).
      const offer = await offers.byId(grant.offerId);
      if (offer) await outbox.recordNow(walletNotificationEvent(offer, event));
      await temporal.workflow
        .getHandle(grant.workflowId)
        .signal(walletNotificationSignal, { event })
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
    },

    /** Cancels the document's live offer (the document was deleted); an offer that is not running needs nothing. */
    async cancel(key: DocumentKey): Promise<void> {
      await temporal.workflow
        .getHandle(credentialOfferWorkflowId(key.authentic_source, key.vct, key.document_id))
        .signal(cancelOfferSignal)
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
    },
  };
}

export type OfferService = ReturnType<typeof createOfferService>;
