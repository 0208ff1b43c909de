import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { AuthenticSource, DocumentId, ProcessState, Vct } from './search-attributes';

/**
 * The contract of the credential offer workflow (workflows/credential-offer.ts): its id, input,
 * state and messages. The gateway, the activities and the tests import this module, never the
 * implementation, so nothing outside workflows/ depends on workflow code (and the activities →
 * oid4vci → workflows → activities cycle cannot come back: eslint.config.js forbids it).
 */
export const CREDENTIAL_OFFER_WORKFLOW_TYPE = 'credentialOfferWorkflow';
export type CredentialOfferWorkflow = (input: CredentialOfferInput) => Promise<OfferStatus>;

export const credentialOfferWorkflowId = (source: string, vct: string, documentId: string) => `offer/${source}/${vct}/${documentId}`;

/** The id of the event the workflow sends when the offer ends in `state` (workflows/credential-offer.ts builds the same). */
export const offerEndEventId = (offerId: string, state: string) => `offer.${offerId}.${state.toLowerCase()}`;

/**
 * The search attributes an offer starts with, passed by its starter (`typedSearchAttributes`): the
 * start request writes them with the visibility record, so the workflow's first task need not upsert
 * them (one visibility write less per offer).
 */
export const offerStartSearchAttributes = (input: Pick<CredentialOfferInput, 'authenticSource' | 'vct' | 'documentId'>): SearchAttributePair[] => [
  { key: AuthenticSource, value: input.authenticSource },
  { key: Vct, value: input.vct },
  { key: DocumentId, value: input.documentId },
  { key: ProcessState, value: 'OFFERED' },
];

/** Where the holder's PIN goes, decided once at preparation and stored with the offer. */
export type PinDelivery = 'email' | 'authentic_source' | 'none';

export interface CredentialOfferInput {
  offerId: string;
  authenticSource: string;
  vct: string;
  documentId: string;
  /** The code's lifetime; the offer expires at `expiresAt` when that is given (one clock with credential_offers.expires_at). */
  codeTtlSeconds: number;
  /** ISO time the pre-authorized code stops being redeemable, as recorded in credential_offers.expires_at; absent in older histories. */
  expiresAt?: string;
  pinRequired: boolean;
  /** Wrong PINs allowed before the offer locks. */
  maxPinAttempts: number;
  /** Whether the workflow e-mails the PIN (pinDelivery 'email'); else the authentic source got it in the notification response. */
  pinByEmail: boolean;
  /** Whether the authentic source has a notification_endpoint to tell how the offer ended. */
  notifySource: boolean;
  /** How long the wallet may keep requesting credentials after redeeming the code. */
  issuanceWindowSeconds: number;
  /** Credentials the offer may issue in all (issuer.pre_authorized_code.max_credentials_per_offer); absent in older histories. */
  maxCredentials?: number;
  /** The type has a seed 002 interaction: each credential request asks the third party first (workflows/interaction.ts); absent otherwise. */
  interaction?: { callbackTimeoutSeconds: number; intervalSeconds: number };
  /** The revoked document this offer replaces (started by the revocation workflow for its `reference`); absent otherwise. */
  replaces?: OfferDocumentRef;
  /**
   * The offer revision its starter wrote this input for (OFFER_INPUT_REVISION). An offer of revision 1
   * takes the behaviour of the workflow's four patches without calling `patched()`, because each call
   * in a new execution records a marker and a `TemporalChangeVersion` search-attribute upsert (about
   * 3 ms of a dev server's CPU each). Absent in older histories, which keep deciding by their markers.
   */
  revision?: number;
}

/** What starters write into CredentialOfferInput.revision: 1 takes every patch up to `webhook-subscribers`. */
export const OFFER_INPUT_REVISION = 1;

/** A document by its business ids, as workflow inputs carry it. */
export interface OfferDocumentRef {
  authenticSource: string;
  vct: string;
  documentId: string;
}

export type OfferState = 'OFFERED' | 'REDEEMED' | 'ISSUED' | 'EXPIRED' | 'LOCKED' | 'CANCELLED';
/** States after which the offer can neither be redeemed nor issue credentials. */
export const FINAL_OFFER_STATES: readonly OfferState[] = ['EXPIRED', 'LOCKED', 'CANCELLED'];

export interface OfferStatus {
  offerId: string;
  state: OfferState;
  pinAttempts: number;
  /** Which PIN is current: 0 the first, raised by each re-send (absent in states of older runs: 0). */
  pinGeneration?: number;
  credentialsIssued: number;
  /** Events the wallet reported to the notification endpoint (credential_accepted, ...). */
  walletEvents: string[];
}

export const offerStateQuery = defineQuery<OfferStatus>('state');

/**
 * The token endpoint's call: the gateway checked the PIN against the derived one and says whether it
 * matched; when it did, `redemptionProof` is the gateway's MAC over the offer (OfferSecrets.redemptionProof).
 * The workflow cannot check it (no keys in workflows) and records it; the issuing activity verifies it,
 * so a Temporal client that sends `pinCorrect: true` without the gateway's key redeems nothing.
 */
export interface RedeemRequest {
  pinCorrect: boolean;
  redemptionProof?: string;
  /** The PIN generation the gateway checked against (credential_offers.pin_generation); a stale one counts as a wrong PIN. Absent: 0. */
  pinGeneration?: number;
}
export type RedeemResult = { ok: true } | { ok: false; reason: 'wrong_pin'; attemptsLeft: number } | { ok: false; reason: 'locked' | 'not_redeemable'; state: OfferState };
export const redeemOfferUpdate = defineUpdate<RedeemResult, [RedeemRequest]>('redeem');

/**
 * An operator or the authentic source re-sends the PIN of an open offer: a new PIN (the next
 * generation) replaces the old one, the wrong-PIN count starts again, and the pre-authorized code
 * stays valid. By e-mail when the offer's PIN goes by e-mail; otherwise the caller hands it on.
 */
export interface ResendPinResult {
  offerId: string;
  pinGeneration: number;
  pinDelivery: Exclude<PinDelivery, 'none'>;
}
export interface ResendPinRequest {
  /** An operator may re-send only a PIN the issuer e-mails (it never sees one); the source gets its own back. */
  requestedBy: 'operator' | 'authentic_source';
}
export const resendPinUpdate = defineUpdate<ResendPinResult, [ResendPinRequest]>('resendPin');

/**
 * An operator unlocks an offer locked by too many wrong PINs: the wrong-PIN count starts again and
 * the offer is OFFERED once more, so the same pre-authorized code redeems with the right PIN. Only
 * offers started since the `locked-offer-waits` patch stay alive when LOCKED (older ones ended
 * there); any other offer is refused with OfferFailure.NotLocked. Returns the offer's new state.
 */
export const unlockOfferUpdate = defineUpdate<OfferStatus, []>('unlockOffer');

/**
 * The credential endpoint's call, after it verified the proofs: one credential per holder key.
 * Returns pickup ids of the sealed credentials (never the credentials: they would enter the history).
 */
export interface IssueCredentialsRequest {
  holderJwks: Record<string, unknown>[];
  /** The request's credential_configuration_id, checked against the offer's vct (absent in older histories). */
  credentialConfigurationId?: string;
}
/**
 * Pickup ids of the signed credentials; for a type with an interaction whose third party postponed
 * its answer, none, and the event id the wallet's `transaction_id` is derived from (OpenID4VCI 1.0
 * §8.3, OfferSecrets.transactionId) with the polling `interval` in seconds.
 */
export interface IssueCredentialsResult {
  pickupIds: string[];
  deferred?: { actionEventId: string; interval: number };
}
export const issueCredentialsUpdate = defineUpdate<IssueCredentialsResult, [IssueCredentialsRequest]>('issueCredentials');

/**
 * The deferred credential endpoint's call (OpenID4VCI 1.0 §9): the credentials of a postponed
 * interaction event, once its third party answered; `pending` while it has not. An unknown or
 * collected event fails with OfferFailure.UnknownTransaction, a refused one with InteractionFailed.
 */
export type CollectDeferredResult = { pending: true; interval: number } | { pending: false; pickupIds: string[] };
export const collectDeferredUpdate = defineUpdate<CollectDeferredResult, [{ actionEventId: string }]>('collectDeferred');

export const cancelOfferSignal = defineSignal<[]>('cancel');

/** Events from the wallet's notification endpoint (OpenID4VCI 1.0 §11). */
export type WalletEvent = 'credential_accepted' | 'credential_failure' | 'credential_deleted';
export const walletNotificationSignal = defineSignal<[{ event: WalletEvent }]>('walletNotification');

/** Largest batch of holder keys in one credential request (metadata `batch_credential_issuance.batch_size`). */
export const MAX_BATCH = 10;

/** Failure types of the issueCredentials Update, thrown by its validator or the issuing activity. */
export const OfferFailure = {
  /** The offer's credential cap (max_credentials_per_offer) is reached. */
  CredentialLimitReached: 'CredentialLimitReached',
  OfferNotFound: 'OfferNotFound',
  DocumentGone: 'DocumentGone',
  /** The document's content changed since the offer was made (credential_offers.document_hash). */
  DocumentChanged: 'DocumentChanged',
  CredentialInput: 'CredentialInput',
  /** The redeem Update carried no valid gateway proof. */
  RedemptionNotProven: 'RedemptionNotProven',
  /** The offer is not in a state that issues credentials. */
  NotIssuable: 'OfferNotIssuable',
  /** The request names another credential configuration than the offer's. */
  WrongCredentialConfiguration: 'WrongCredentialConfiguration',
  /** A PIN re-send for an offer that is not open (redeemed, ended) or takes no PIN. */
  PinNotResendable: 'PinNotResendable',
  /** An unlock for an offer that is not LOCKED (or ended when it locked, as offers did before the locked-offer-waits patch). */
  NotLocked: 'OfferNotLocked',
  /** The type's third party refused the credential, or did not answer in time (seed 002 interaction). */
  InteractionFailed: 'InteractionFailed',
  /** A deferred request for an event this offer does not have, or has already collected (OpenID4VCI 1.0 §9.3 invalid_transaction_id). */
  UnknownTransaction: 'UnknownTransaction',
  /** A type with an interaction is signed only from its third party's answer. */
  InteractionRequired: 'InteractionRequired',
} as const;
