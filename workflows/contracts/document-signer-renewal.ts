import { defineQuery } from '@temporalio/workflow';

/**
 * The contract of the Document Signer renewal workflow (workflows/document-signer-renewal.ts), run by
 * the Temporal Schedule `document-signer-renewal/<task queue>` (src/worker/document-signer-renewal-schedule.ts).
 */
export const DOCUMENT_SIGNER_RENEWAL_WORKFLOW_TYPE = 'documentSignerRenewalWorkflow';
export type DocumentSignerRenewalWorkflow = (input?: DocumentSignerRenewalInput) => Promise<DocumentSignerRenewalStatus>;

export interface DocumentSignerRenewalInput {
  /** Overrides DOCUMENT_SIGNER_RENEWAL_MARGIN_DAYS for this run. */
  marginDays?: number;
}

/**
 * What the check found: `RENEW` (the active Document Signer expires within the margin), `NOT_DUE`,
 * `NO_DOCUMENT_SIGNER` (no mdoc signing configured), or `IACA_EXPIRING` (the IACA itself ends within
 * the margin: a new Document Signer could not outlive it, so an operator must provide a new IACA).
 */
export type RenewalDecision = 'RENEW' | 'NOT_DUE' | 'NO_DOCUMENT_SIGNER' | 'IACA_EXPIRING';

export interface DocumentSignerCheck {
  decision: RenewalDecision;
  /** kid (RFC 7638 thumbprint, public) of the active Document Signer. */
  kid?: string;
  /** Its certificate's notAfter and when renewal is due, ISO 8601. */
  notAfter?: string;
  renewFrom?: string;
  iacaNotAfter?: string;
}

export interface DocumentSignerRenewed {
  /** False when another run (or a retry) renewed it first: `kid` is then the Document Signer it made. */
  rotated: boolean;
  kid: string;
  previousKid: string;
  /** Hex serial and notAfter of the new certificate. */
  serialNumber: string;
  notAfter: string;
}

export interface DocumentSignerRenewalStatus {
  state: 'CHECKING' | 'RENEWING' | 'DONE';
  check?: DocumentSignerCheck;
  renewed?: DocumentSignerRenewed;
}

export const documentSignerRenewalStateQuery = defineQuery<DocumentSignerRenewalStatus>('state');
