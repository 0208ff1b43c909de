import { condition, defineQuery, defineSignal, defineUpdate, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { AuthenticSource, DocumentId, ProcessState, Vct } from './search-attributes';

/**
 * One credential offer (seed 000 "Generate Credential Offer" and "Pre-Authorized Code Flow",
 * OpenID4VCI 1.0): sends the PIN, waits up to `code_ttl` for the wallet to redeem the
 * pre-authorized code, counts wrong PINs and locks the offer after too many, then serves the
 * wallet's credential requests. The history holds ids and counters only: the code and the PIN are
 * derived from the offer id with a server secret and never enter it.
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
  /** How long the wallet may keep requesting credentials after redeeming the code. */
  issuanceWindowSeconds: number;
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
/** The token endpoint's call: the gateway checked the PIN against the derived one and says whether it matched. */
export const redeemOfferUpdate = defineUpdate<RedeemResult, [{ pinCorrect: boolean }]>('redeem');
export const cancelOfferSignal = defineSignal<[]>('cancel');

export const credentialOfferWorkflowId = (source: string, vct: string, documentId: string) => `offer/${source}/${vct}/${documentId}`;

export async function credentialOfferWorkflow(input: CredentialOfferInput): Promise<OfferStatus> {
  const status: OfferStatus = { offerId: input.offerId, state: 'OFFERED', pinAttempts: 0, credentialsIssued: 0, walletEvents: [] };
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
    ({ pinCorrect }): RedeemResult => {
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
      setState('REDEEMED');
      return { ok: true };
    },
  );

  const { sendOfferPin, closeOffer } = proxyActivities<ReturnType<typeof createActivities>>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '2s', maximumInterval: '1m', nonRetryableErrorTypes: ['EmailNotConfigured', 'EmailRejected', 'NoRecipient'] },
  });

  if (input.pinRequired) {
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
  if (status.state === 'REDEEMED') {
    await condition(() => status.state !== 'REDEEMED', input.issuanceWindowSeconds * 1000);
  }
  await closeOffer({ offerId: input.offerId, state: status.state });
  return status;
}
