import { allHandlersFinished, ApplicationFailure, condition, defineQuery, proxyLocalActivities, startChild, defineSignal, defineUpdate, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { AuthenticSource, DocumentId, ProcessState, Vct } from './search-attributes';
import { type WebhookEvent, webhookDeliveryWorkflow, webhookDeliveryWorkflowId } from './webhook-delivery';

/**
 * One credential offer (seed 000 "Generate Credential Offer" and "Pre-Authorized Code Flow",
 * OpenID4VCI 1.0): sends the PIN, waits up to `code_ttl` for the wallet to redeem the
 * pre-authorized code, counts wrong PINs and locks the offer after too many, then serves the
 * wallet's credential requests. The history holds ids and counters only: the code, the PIN and the
 * offer URI token are derived from the offer id with server keys and never enter it, and the offer
 * id alone yields none of them. The one proof it holds, the gateway's redemption proof, is verified
 * by the issuing activity (which has the key) before anything is signed.
 */
export interface CredentialOfferInput {
  offerId: string;
  authenticSource: string;
  vct: string;
  documentId: string;
  codeTtlSeconds: number;
  pinRequired: boolean;
  /** Wrong PINs allowed before the offer locks. */
  maxPinAttempts: number;
  /** Whether the workflow e-mails the PIN (else the authentic source got it in the notification response). */
  pinByEmail: boolean;
  /** Whether the authentic source has a notification_endpoint to tell how the offer ended. */
  notifySource: boolean;
  /** How long the wallet may keep requesting credentials after redeeming the code. */
  issuanceWindowSeconds: number;
  /** Credentials the offer may issue in all (issuer.pre_authorized_code.max_credentials_per_offer); absent in older histories. */
  maxCredentials?: number;
}

export type OfferState = 'OFFERED' | 'REDEEMED' | 'ISSUED' | 'EXPIRED' | 'LOCKED' | 'CANCELLED';

export interface OfferStatus {
  offerId: string;
  state: OfferState;
  pinAttempts: number;
  credentialsIssued: number;
  /** Events the wallet reported to the notification endpoint (credential_accepted, ...). */
  walletEvents: string[];
}

export type RedeemResult = { ok: true } | { ok: false; reason: 'wrong_pin'; attemptsLeft: number } | { ok: false; reason: 'locked' | 'not_redeemable'; state: OfferState };

export const offerStateQuery = defineQuery<OfferStatus>('state');
/**
 * The token endpoint's call: the gateway checked the PIN against the derived one and says whether it
 * matched; when it did, `redemptionProof` is the gateway's MAC over the offer (OfferSecrets.redemptionProof).
 * The workflow cannot check it (no keys in workflows) and records it; the issuing activity verifies it,
 * so a Temporal client that sends `pinCorrect: true` without the gateway's key redeems nothing.
 */
export const redeemOfferUpdate = defineUpdate<RedeemResult, [RedeemRequest]>('redeem');
export interface RedeemRequest {
  pinCorrect: boolean;
  redemptionProof?: string;
}
/** Failure type of an issueCredentials Update refused for the offer's credential cap. */
export const CREDENTIAL_LIMIT_REACHED = 'CredentialLimitReached';
export const cancelOfferSignal = defineSignal<[]>('cancel');
/**
 * The credential endpoint's call, after it verified the proofs: one credential per holder key.
 * Returns pickup ids of the sealed credentials (never the credentials: they would enter the history).
 */
export const issueCredentialsUpdate = defineUpdate<{ pickupIds: string[] }, [{ holderJwks: Record<string, unknown>[] }]>('issueCredentials');
/** Events from the wallet's notification endpoint (OpenID4VCI 1.0 §11). */
export const walletNotificationSignal = defineSignal<[{ event: 'credential_accepted' | 'credential_failure' | 'credential_deleted' }]>('walletNotification');
/** Largest batch of holder keys in one credential request (metadata `batch_credential_issuance.batch_size`). */
export const MAX_BATCH = 10;

export const credentialOfferWorkflowId = (source: string, vct: string, documentId: string) => `offer/${source}/${vct}/${documentId}`;

export async function credentialOfferWorkflow(input: CredentialOfferInput): Promise<OfferStatus> {
  const status: OfferStatus = { offerId: input.offerId, state: 'OFFERED', pinAttempts: 0, credentialsIssued: 0, walletEvents: [] };
  let redemptionProof: string | undefined;
  /** Credentials issued or being signed: counted before the activity runs, so concurrent requests cannot both pass the cap. */
  let reserved = 0;
  const setState = (state: OfferState) => {
    status.state = state;
    upsertSearchAttributes([{ key: ProcessState, value: state }]);
  };
  upsertSearchAttributes([
    { key: AuthenticSource, value: input.authenticSource },
    { key: Vct, value: input.vct },
    { key: DocumentId, value: input.documentId },
    { key: ProcessState, value: status.state },
  ]);
  setHandler(offerStateQuery, () => status);
  setHandler(cancelOfferSignal, () => {
    if (status.state === 'OFFERED' || status.state === 'REDEEMED') setState('CANCELLED');
  });
  setHandler(
    redeemOfferUpdate,
    ({ pinCorrect, redemptionProof: proof }): RedeemResult => {
      if (status.state !== 'OFFERED') return { ok: false, reason: status.state === 'LOCKED' ? 'locked' : 'not_redeemable', state: status.state };
      if (input.pinRequired && !pinCorrect) {
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
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['OfferNotFound', 'DocumentGone', 'DocumentChanged', 'CredentialInput', 'RedemptionNotProven', CREDENTIAL_LIMIT_REACHED] },
  });
  setHandler(
    issueCredentialsUpdate,
    async ({ holderJwks }) => {
      reserved += holderJwks.length;
      let result: { pickupIds: string[] };
      try {
        result = await issueOfferCredentials({ offerId: input.offerId, holderJwks, redemptionProof });
      } catch (err) {
        reserved -= holderJwks.length;
        throw err;
      }
      status.credentialsIssued += holderJwks.length;
      if (status.state === 'REDEEMED') setState('ISSUED');
      return result;
    },
    {
      validator: ({ holderJwks }) => {
        if (status.state !== 'REDEEMED' && status.state !== 'ISSUED') throw new Error(`offer is ${status.state}`);
        if (!Array.isArray(holderJwks) || holderJwks.length < 1 || holderJwks.length > MAX_BATCH) throw new Error(`between 1 and ${MAX_BATCH} holder keys`);
        // A validator's refusal is not recorded in the history; the issuing activity checks the cap again against PostgreSQL.
        if (input.maxCredentials !== undefined && reserved + holderJwks.length > input.maxCredentials) {
          throw ApplicationFailure.nonRetryable(`the offer may issue ${input.maxCredentials} credential(s) and has issued ${status.credentialsIssued}`, CREDENTIAL_LIMIT_REACHED);
        }
      },
    },
  );
  setHandler(walletNotificationSignal, ({ event }) => {
    status.walletEvents.push(event);
  });

  const { sendOfferPin, closeOffer } = proxyActivities<ReturnType<typeof createActivities>>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '2s', maximumInterval: '1m', nonRetryableErrorTypes: ['EmailNotConfigured', 'EmailRejected', 'NoRecipient'] },
  });

  if (input.pinByEmail) {
    try {
      await sendOfferPin({ offerId: input.offerId });
    } catch {
      // Without a delivered PIN nobody can redeem the offer: end it, so a new notification starts afresh.
      setState('CANCELLED');
    }
  }

  if (status.state === 'OFFERED') {
    const redeemed = await condition(() => status.state !== 'OFFERED', input.codeTtlSeconds * 1000);
    if (!redeemed) setState('EXPIRED');
  }
  if (status.state === 'REDEEMED' || status.state === 'ISSUED') {
    // The wallet may request credentials (and report on them) until the window closes or it says it is done.
    await condition(() => status.state === 'CANCELLED' || status.walletEvents.length > 0, input.issuanceWindowSeconds * 1000);
  }
  // Let a credential request that is being served finish before the workflow completes.
  await condition(allHandlersFinished);
  await closeOffer({ offerId: input.offerId, state: status.state });
  if (input.notifySource) {
    // Tell the authentic source how the offer ended, by its own durable, retrying delivery workflow.
    const event: WebhookEvent = {
      id: `offer.${input.offerId}.${status.state.toLowerCase()}`,
      type: `credential_offer.${status.state.toLowerCase()}`,
      occurred_at: new Date().toISOString(),
      data: { vct: input.vct, document_id: input.documentId, offer_id: input.offerId, credentials_issued: status.credentialsIssued },
    };
    await startChild(webhookDeliveryWorkflow, {
      workflowId: webhookDeliveryWorkflowId(input.authenticSource, event.id),
      args: [{ subscriber: input.authenticSource, event }],
      parentClosePolicy: 'ABANDON',
    });
  }
  return status;
}
