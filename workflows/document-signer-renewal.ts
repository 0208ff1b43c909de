import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { type DocumentSignerRenewalInput, type DocumentSignerRenewalStatus, documentSignerRenewalStateQuery } from './contracts/document-signer-renewal';

/**
 * Renews the issuer's active Document Signer well before its certificate expires (issue 20): a new
 * key and a new certificate under the same IACA, the old one retired but kept (its certificate stays
 * valid for what it signed; it is never revoked by renewal). Run by the Temporal Schedule the worker
 * creates at start (src/worker/document-signer-renewal-schedule.ts). Deterministic: the check and
 * the rotation are activities; the rotation names the kid it replaces, so a retry or an overlapping
 * run never rotates twice. The history carries kids, serials and dates only, never key material.
 */
export async function documentSignerRenewalWorkflow(input: DocumentSignerRenewalInput = {}): Promise<DocumentSignerRenewalStatus> {
  const status: DocumentSignerRenewalStatus = { state: 'CHECKING' };
  setHandler(documentSignerRenewalStateQuery, () => status);

  const { checkDocumentSignerRenewal, renewDocumentSigner } = proxyActivities<ReturnType<typeof createActivities>>({
    startToCloseTimeout: '1m',
    retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 10 },
  });

  status.check = await checkDocumentSignerRenewal(input.marginDays !== undefined ? { marginDays: input.marginDays } : {});
  if (status.check.decision === 'RENEW' && status.check.kid) {
    status.state = 'RENEWING';
    status.renewed = await renewDocumentSigner({ expectedKid: status.check.kid });
  }
  status.state = 'DONE';
  return status;
}
