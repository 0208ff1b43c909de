import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { OfferDocumentRef } from './credential-offer';

/**
 * The contract of the revocation workflow (workflows/revocation.ts): a revocation of a document
 * scheduled for a future `revoke_at` (seed 000 `POST /api/v1/document/revoke`), waiting on a durable
 * timer. Its history holds the document's ids and the time only; the reason and the replacement
 * stay in `document_revocations`.
 */
export const REVOCATION_WORKFLOW_TYPE = 'revocationWorkflow';
export const revocationWorkflowId = (source: string, vct: string, documentId: string) => `revocation/${source}/${vct}/${documentId}`;

export interface RevocationInput {
  authenticSource: string;
  vct: string;
  documentId: string;
  /** When to revoke, ISO 8601. */
  revokeAt: string;
  /** The source has a notification_endpoint: the status event goes there by a webhook delivery child. */
  notifySource?: boolean;
  /**
   * The replacement document (seed 000 `revocation.reference`): once the old credentials are
   * revoked, the workflow starts its offer (a child, abandoned), which records what it replaces.
   */
  replacement?: OfferDocumentRef;
}

/** What became of the replacement's offer: started, one was already running, or the reason none was. */
export type ReplacementOfferOutcome = 'offered' | 'already_offered' | 'already_revoked' | 'document_not_found' | 'document_not_valid' | 'flow_disabled';

export interface ReplacementStatus extends OfferDocumentRef {
  offer: ReplacementOfferOutcome | 'PENDING';
  offerId?: string;
  offerWorkflowId: string;
}

/** `SCHEDULED` until `revokeAt`; then `REVOKED`, or `CANCELLED` (cancelled, or revoked meanwhile by an immediate request). */
export type RevocationState = 'SCHEDULED' | 'REVOKED' | 'CANCELLED';

export interface RevocationStatus {
  state: RevocationState;
  revokeAt: string;
  /** Status-list entries the revocation flipped. */
  credentialsRevoked: number;
  /** The replacement and its offer (the link from the revoked document to the new one). */
  replacement?: ReplacementStatus;
}

export type RevocationWorkflow = (input: RevocationInput) => Promise<RevocationStatus>;

export const revocationStateQuery = defineQuery<RevocationStatus>('state');
/** Sent by the cancel endpoint after it removed the scheduled revocation: the workflow ends without revoking. */
export const cancelRevocationSignal = defineSignal<[]>('cancelRevocation');
