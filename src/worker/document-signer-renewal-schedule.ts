import type { Client } from '@temporalio/client';
import { ensureIntervalSchedule } from './ensure-schedule';
import { DOCUMENT_SIGNER_RENEWAL_WORKFLOW_TYPE, type DocumentSignerRenewalInput } from '../../workflows/contracts/document-signer-renewal';

/** One schedule per task queue (each deployment renews the Document Signer of its own database). */
export const documentSignerRenewalScheduleId = (taskQueue: string) => `document-signer-renewal/${taskQueue}`;
export const documentSignerRenewalWorkflowId = (taskQueue: string) => `upkeep/document-signer-renewal/${taskQueue}`;

/** How often the renewal checks; the margin (DOCUMENT_SIGNER_RENEWAL_MARGIN_DAYS, default 90 days) is what makes it early. */
export const DOCUMENT_SIGNER_RENEWAL_INTERVAL = '6h';

export interface DocumentSignerRenewalScheduleOptions {
  taskQueue: string;
  /** Default DOCUMENT_SIGNER_RENEWAL_INTERVAL (a Temporal duration: `6h`, `1s`). */
  every?: string;
  input?: DocumentSignerRenewalInput;
}

/**
 * Creates the Document Signer renewal Schedule unless it exists (as ensureUpkeepSchedule does: the
 * first worker creates it, later starts leave it, including an operator's pause or interval change).
 * Runs never overlap (SKIP); a missed run is caught up within one interval.
 */
export async function ensureDocumentSignerRenewalSchedule(client: Client, opts: DocumentSignerRenewalScheduleOptions): Promise<{ scheduleId: string; created: boolean }> {
  return ensureIntervalSchedule(client, {
    scheduleId: documentSignerRenewalScheduleId(opts.taskQueue),
    workflowType: DOCUMENT_SIGNER_RENEWAL_WORKFLOW_TYPE,
    workflowId: documentSignerRenewalWorkflowId(opts.taskQueue),
    taskQueue: opts.taskQueue,
    every: opts.every ?? DOCUMENT_SIGNER_RENEWAL_INTERVAL,
    args: [opts.input ?? {}],
    purpose: "Renews the issuer's Document Signer before it expires (workflows/document-signer-renewal.ts)",
  });
}
