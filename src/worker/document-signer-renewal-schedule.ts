import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
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
  const scheduleId = documentSignerRenewalScheduleId(opts.taskQueue);
  const every = (opts.every ?? DOCUMENT_SIGNER_RENEWAL_INTERVAL) as `${number}h`;
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every }] },
      action: {
        type: 'startWorkflow',
        workflowType: DOCUMENT_SIGNER_RENEWAL_WORKFLOW_TYPE,
        workflowId: documentSignerRenewalWorkflowId(opts.taskQueue),
        taskQueue: opts.taskQueue,
        args: [opts.input ?? {}],
        workflowExecutionTimeout: '1h',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every },
      memo: { purpose: 'Renews the issuer\'s Document Signer before it expires (workflows/document-signer-renewal.ts)' },
    });
    return { scheduleId, created: true };
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return { scheduleId, created: false };
    throw err;
  }
}
