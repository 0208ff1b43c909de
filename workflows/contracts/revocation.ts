import { defineQuery, defineSignal } from '@temporalio/workflow';

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
}

/** `SCHEDULED` until `revokeAt`; then `REVOKED`, or `CANCELLED` (cancelled, or revoked meanwhile by an immediate request). */
export type RevocationState = 'SCHEDULED' | 'REVOKED' | 'CANCELLED';

export interface RevocationStatus {
  state: RevocationState;
  revokeAt: string;
  /** Status-list entries the revocation flipped. */
  credentialsRevoked: number;
}

export type RevocationWorkflow = (input: RevocationInput) => Promise<RevocationStatus>;

export const revocationStateQuery = defineQuery<RevocationStatus>('state');
/** Sent by the cancel endpoint after it removed the scheduled revocation: the workflow ends without revoking. */
export const cancelRevocationSignal = defineSignal<[]>('cancelRevocation');
