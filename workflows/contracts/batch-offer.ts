import { defineQuery } from '@temporalio/workflow';
import type { CredentialOfferInput } from './credential-offer';

/** The contract of the batch offer workflow (workflows/batch-offer.ts). */
export const BATCH_OFFER_WORKFLOW_TYPE = 'batchOfferWorkflow';
export type BatchOfferWorkflow = (input: BatchOfferInput) => Promise<BatchStatus>;

/** `batch/<source>.<digest of the document set>`: the same documents map to the same running batch. */
export const batchOfferWorkflowId = (key: string) => `batch/${key}`;

export interface BatchOfferInput {
  batchId: string;
  authenticSource: string;
  vct: string;
  documentIds: string[];
  concurrency: number;
}

/** `already_revoked`: the document was revoked (seed 000 revocation) after the batch request was accepted; no offer. */
export type BatchItemStatus = 'pending' | 'offered' | 'already_offered' | 'already_revoked' | 'document_not_found' | 'document_not_valid' | 'flow_disabled' | 'failed';

export interface BatchStatus {
  batchId: string;
  state: 'RUNNING' | 'DONE';
  total: number;
  done: number;
  documents: { documentId: string; status: BatchItemStatus; offerId?: string }[];
}

export const batchStateQuery = defineQuery<BatchStatus>('state');

/** What preparing one document's offer gives (the prepareBatchOffer activity, src/oid4vci/offer-preparation.ts). */
export type PreparedOffer = { ok: true; input: CredentialOfferInput } | { ok: false; reason: 'document_not_found' | 'document_not_valid' | 'flow_disabled' };
/** What the prepareBatchOffer activity gives: also `already_revoked` for a document revoked meanwhile. */
export type PreparedBatchOffer = PreparedOffer | { ok: false; reason: 'already_revoked' };
